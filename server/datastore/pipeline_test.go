package datastore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/server/tree"
)

// journal records, in order, what the writer tells the fakes below.
type journal struct {
	mu      sync.Mutex
	entries []string
	admits  int
}

func (j *journal) add(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, s)
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.entries...)
}

// waitAdmits waits until the gate has been asked about n Sets.
func (j *journal) waitAdmits(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j.mu.Lock()
		got := j.admits
		j.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gate was asked about %d Sets, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// recGate, recRealizer and recHook record into a journal.
type recGate struct{ j *journal }

func (g recGate) Admit(*Request) error {
	g.j.mu.Lock()
	g.j.admits++
	g.j.mu.Unlock()
	return nil
}
func (g recGate) Accepted(*Request, uint64, time.Time) []byte { return nil }
func (g recGate) Done(stored bool) {
	g.j.add(map[bool]string{true: "gate stored", false: "gate not stored"}[stored])
}

type recRealizer struct {
	j *journal
	n int // Prepare calls so far; the writer's goroutine alone calls it
}

func (r *recRealizer) Prepare(context.Context, *changeset.Set) (realizer.Prepared, error) {
	r.n++
	return recPrepared{j: r.j, name: string(rune('a' + r.n - 1))}, nil
}
func (r *recRealizer) Updates() <-chan realizer.Status { return nil }

type recPrepared struct {
	j    *journal
	name string
}

func (p recPrepared) State() map[string][]byte { return nil }
func (p recPrepared) Status() realizer.Status  { return nil }
func (p recPrepared) Commit()                  { p.j.add("commit " + p.name) }
func (p recPrepared) Abort()                   { p.j.add("abort " + p.name) }

type recHook struct{ j *journal }

func (h recHook) Committing(_ *tree.Txn, _ *Request, id uint64, _ time.Time) []byte {
	h.j.add(fmt.Sprintf("hook %d", id))
	return nil
}
func (h recHook) NotStored(n int) { h.j.add("hook not stored " + string(rune('0'+n))) }

// openRecorded opens a datastore whose gate, realizer and hook record
// into one journal, with the base configuration (commits 1..3).
func openRecorded(t *testing.T) (*Datastore, *gatedStore, *journal) {
	t.Helper()
	j := &journal{}
	rz := &recRealizer{j: j}
	d, g := openWith(t, Options{Gate: recGate{j}, Realizer: rz, Hooks: []CommitHook{recHook{j}}})
	base(t, d)
	// The writer is idle: the Sets' handles from here are a, b, ...
	rz.n = 0
	j.mu.Lock()
	j.entries, j.admits = nil, 0
	j.mu.Unlock()
	return d, g, j
}

// holdStore makes the store's next write wait until the returned
// function is called (at the latest when the test ends, so that a failed
// test's Close does not wait forever), and then fail with fail (nil:
// succeed).
func holdStore(t *testing.T, g *gatedStore, fail error) (release func()) {
	gate := make(chan struct{})
	g.mu.Lock()
	g.gate, g.fail = gate, fail
	g.mu.Unlock()
	release = sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release)
	return release
}

func waitBatches(t *testing.T, g *gatedStore, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(g.batchesSnapshot()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("store batches %v, want %d", g.batchesSnapshot(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func applyAsync(d *Datastore, r *Request) <-chan error {
	ch := make(chan error, 1)
	go func() { _, err := d.Apply(context.Background(), r); ch <- err }()
	return ch
}

// quiet fails the test if ch delivers within a short while.
func quiet(t *testing.T, ch <-chan error, what string) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("%s answered (%v) before the batch below it was durable", what, err)
	case <-time.After(30 * time.Millisecond):
	}
}

// TestPipelineAppliesWhileWriting: while one batch is written, the Sets
// that arrive are applied on top of it into the next batch, but nothing
// is answered nor published, and the next batch reaches the store only
// once the first is durable, whole; then both are published in commit
// order.
func TestPipelineAppliesWhileWriting(t *testing.T) {
	d, g, j := openRecorded(t)
	feed := d.Watch()
	before := d.Snapshot()
	release := holdStore(t, g, nil)
	a := applyAsync(d, update(t, d, "/hosts/host[name=h2]", `{"backend": "b"}`))
	waitBatches(t, g, 4)
	// Valid only on top of a: they reference the host a creates.
	b := applyAsync(d, update(t, d, "/tenants/tenant[name=t]/ports/port[name=p]", `{"host": "h2"}`))
	j.waitAdmits(t, 2)
	c := applyAsync(d, update(t, d, "/tenants/tenant[name=t]/ports/port[name=q]", `{"host": "h2"}`))
	j.waitAdmits(t, 3)
	quiet(t, a, "the Set being written")
	quiet(t, b, "the Set applied on top")
	if d.Snapshot() != before {
		t.Fatal("a batch was published before it was durable")
	}
	if n := len(g.batchesSnapshot()); n != 4 {
		t.Fatalf("%d store writes, want 4: the batch on top waits for the one being written", n)
	}
	release()
	for _, ch := range []<-chan error{a, b, c} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	if got := d.Snapshot().CommitID; got != 6 {
		t.Fatalf("snapshot at commit %d, want 6", got)
	}
	if got := g.batchesSnapshot()[3:]; len(got) != 2 || got[1] != 2 {
		t.Fatalf("store batches after the base %v, want [1 2]: the Sets applied on top go as one", got)
	}
	var ids []uint64
	for len(ids) < 3 {
		evs, err := feed.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			ids = append(ids, ev.CommitID)
		}
	}
	if ids[0] != 4 || ids[1] != 5 || ids[2] != 6 {
		t.Fatalf("events of commits %v, want [4 5 6]", ids)
	}
	want := []string{"hook 4", "gate stored", "commit a", "hook 5", "hook 6", "gate stored", "commit b", "commit c"}
	if got := j.list(); strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("journal %q, want %q", got, want)
	}
}

// TestPipelineFailureRefusesBatchOnTop: when a batch's write fails, the
// batch applied on top of it is refused too, and both are undone newest
// first; the tree, the validator's index and the commit ids are those of
// the last durable commit.
func TestPipelineFailureRefusesBatchOnTop(t *testing.T) {
	d, g, j := openRecorded(t)
	before := d.Snapshot()
	release := holdStore(t, g, errors.New("disk on fire"))
	a := applyAsync(d, update(t, d, "/hosts/host[name=h2]", `{"backend": "b"}`))
	waitBatches(t, g, 4)
	b := applyAsync(d, update(t, d, "/tenants/tenant[name=t]/ports/port[name=p]", `{"host": "h2"}`))
	j.waitAdmits(t, 2)
	release()
	for name, ch := range map[string]<-chan error{"written": a, "on top": b} {
		var te *tree.Error
		if err := <-ch; !errors.As(err, &te) || te.Kind != tree.KindUnavailable {
			t.Fatalf("the Set %s: got %v, want Unavailable", name, err)
		}
	}
	if d.Snapshot() != before {
		t.Fatal("a refused batch was published")
	}
	// b never reached the hooks: they ran for a alone.
	want := []string{"hook 4", "abort b", "gate not stored", "abort a", "hook not stored 1", "gate not stored"}
	if got := j.list(); strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("journal %q, want %q", got, want)
	}
	// The ids went back, and the index forgot the port's reference:
	// h2, created again, can be deleted.
	res, err := d.Apply(context.Background(), update(t, d, "/hosts/host[name=h2]", `{"backend": "b"}`))
	if err != nil || res.CommitID != 4 {
		t.Fatalf("host again: %v, %v; want commit 4", res, err)
	}
	if _, err := d.Apply(context.Background(), del(t, d, "/hosts/host[name=h2]")); err != nil {
		t.Fatalf("host delete refused after the failed port: %v", err)
	}
}

// TestPipelineHoldsRefusals: a Set refused on top of a batch being
// written is answered only once that batch is settled, and if its write
// failed, with Unavailable: the reason (here a port of that batch
// referencing the host) never existed.
func TestPipelineHoldsRefusals(t *testing.T) {
	d, g, j := openRecorded(t)
	release := holdStore(t, g, errors.New("disk on fire"))
	a := applyAsync(d, update(t, d, "/tenants/tenant[name=t]/ports/port[name=p]", `{"host": "h"}`))
	waitBatches(t, g, 4)
	b := applyAsync(d, del(t, d, "/hosts/host[name=h]"))
	j.waitAdmits(t, 2)
	quiet(t, b, "the Set refused on top")
	release()
	<-a
	var te *tree.Error
	if err := <-b; !errors.As(err, &te) || te.Kind != tree.KindUnavailable {
		t.Fatalf("refused on top of a failed batch: got %v, want Unavailable", err)
	}
	if _, err := d.Apply(context.Background(), del(t, d, "/hosts/host[name=h]")); err != nil {
		t.Fatalf("host delete refused after the failed port: %v", err)
	}
}

// TestPipelineBarriersWaitForDurable: a dry run and a state change queued
// behind a Set being written run only once it is durable and published,
// on its tree: the dry run sees the Set, and the state change is not lost
// under the Set's publication.
func TestPipelineBarriersWaitForDurable(t *testing.T) {
	d, g, _ := openRecorded(t)
	leaf := tree.MustResolve(d.Schema().Root, "system", "state", "last-commit-id")
	releaseStore := holdStore(t, g, nil)
	releaseWriter := holdWriter(t, d)
	a := applyAsync(d, update(t, d, "/hosts/host[name=h2]", `{"backend": "b"}`))
	waitQueued(t, d, 1)
	dry := make(chan error, 1)
	go func() {
		_, err := d.DryRun(context.Background(), update(t, d, "/tenants/tenant[name=t]/ports/port[name=p]", `{"host": "h2"}`))
		dry <- err
	}()
	waitQueued(t, d, 2)
	state := make(chan error, 1)
	go func() {
		state <- d.UpdateState(context.Background(), func(tx *tree.Txn) error { tx.SetLeaf(leaf, uint64(99)); return nil })
	}()
	waitQueued(t, d, 3)
	releaseWriter()
	quiet(t, dry, "the dry run")
	quiet(t, state, "the state change")
	releaseStore()
	for name, ch := range map[string]<-chan error{"set": a, "dry run": dry, "state": state} {
		if err := <-ch; err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	root := d.Snapshot().Root
	if n := tree.Lookup(root, leaf); n == nil || n.Value() != uint64(99) {
		t.Fatal("the state change was lost")
	}
	if _, err := d.Apply(context.Background(), del(t, d, "/hosts/host[name=h2]")); err != nil {
		t.Fatalf("the Set's host: %v", err)
	}
}

// TestCloseDrainsThePipeline: Close returns only once the batch being
// written is durable and answered.
func TestCloseDrainsThePipeline(t *testing.T) {
	d, g, _ := openRecorded(t)
	release := holdStore(t, g, nil)
	a := applyAsync(d, update(t, d, "/hosts/host[name=h2]", `{"backend": "b"}`))
	waitBatches(t, g, 4)
	closed := make(chan error, 1)
	go func() { closed <- d.Close() }()
	quiet(t, closed, "Close")
	release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := <-a; err != nil {
		t.Fatal(err)
	}
	if got := g.LastCommitID(); got != 4 {
		t.Fatalf("store at commit %d, want 4", got)
	}
}
