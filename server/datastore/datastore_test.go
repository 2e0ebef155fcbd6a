package datastore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/openconfig/ygot/ygot"

	"github.com/netready/netready/server/rules"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/tree"
	netreadyyang "github.com/netready/netready/yang"
)

// gatedStore wraps the real bbolt store to observe batches and to hold or
// fail a write, faults a test cannot provoke in bbolt itself.
type gatedStore struct {
	*store.Bolt
	mu      sync.Mutex
	batches []int
	gate    chan struct{} // when set, the next Apply waits for it to close
	fail    error         // when set, the next Apply fails with it
}

func (g *gatedStore) Apply(ctx context.Context, commits []*store.Commit) error {
	g.mu.Lock()
	gate, fail := g.gate, g.fail
	g.gate, g.fail = nil, nil
	g.batches = append(g.batches, len(commits))
	g.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if fail != nil {
		return fail
	}
	return g.Bolt.Apply(ctx, commits)
}

func open(t *testing.T) (*Datastore, *gatedStore) {
	t.Helper()
	return openWith(t, Options{})
}

// openWith opens a datastore with opts on a gated real bbolt store.
func openWith(t *testing.T, opts Options) (*Datastore, *gatedStore) {
	t.Helper()
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	b, err := store.OpenBolt(filepath.Join(t.TempDir(), "db"), store.BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedStore{Bolt: b}
	d, err := Open(context.Background(), sch, g, rules.All(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(); b.Close() })
	return d, g
}

func update(t testing.TB, d *Datastore, p, js string) *Request {
	t.Helper()
	gp, err := ygot.StringToStructuredPath(p)
	if err != nil {
		t.Fatal(err)
	}
	path, err := tree.Resolve(d.Schema().Root, gp.GetElem())
	if err != nil {
		t.Fatal(err)
	}
	payload, err := tree.DecodeJSON(path, []byte(js), true)
	if err != nil {
		t.Fatal(err)
	}
	return &Request{Ops: []Op{{Kind: Update, Path: path, Payload: payload}}}
}

func del(t *testing.T, d *Datastore, p string) *Request {
	gp, _ := ygot.StringToStructuredPath(p)
	path, err := tree.Resolve(d.Schema().Root, gp.GetElem())
	if err != nil {
		t.Fatal(err)
	}
	return &Request{Ops: []Op{{Kind: Delete, Path: path}}}
}

func base(t *testing.T, d *Datastore) {
	t.Helper()
	for _, r := range []*Request{
		update(t, d, "/backends/backend[name=b]", `{"driver": "linux-vforwarder"}`),
		update(t, d, "/hosts/host[name=h]", `{"backend": "b"}`),
		update(t, d, "/tenants/tenant[name=t]", `{}`),
	} {
		if _, err := d.Apply(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
}

// waitQueued waits until n requests sit in the writer's queue.
func waitQueued(t *testing.T, d *Datastore, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(d.reqs) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued, want %d", len(d.reqs), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupCommit holds one store write while 40 more Sets arrive: they
// must all go to the store together, as one batch, and all succeed —
// except the one invalid request among them, which fails alone.
func TestGroupCommit(t *testing.T) {
	d, g := open(t)
	base(t, d)
	gate := make(chan struct{})
	g.mu.Lock()
	g.gate = gate
	g.mu.Unlock()
	first := make(chan error, 1)
	go func() {
		_, err := d.Apply(context.Background(), update(t, d, "/tenants/tenant[name=t]/description", `"held"`))
		first <- err
	}()
	for len(g.batchesSnapshot()) < 4 {
		time.Sleep(time.Millisecond)
	}
	const n = 40
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		host := "h"
		if i == 7 {
			host = "missing" // invalid: a dangling leafref
		}
		r := update(t, d, fmt.Sprintf("/tenants/tenant[name=t]/ports/port[name=p%d]", i), `{"host": "`+host+`"}`)
		go func() { _, err := d.Apply(context.Background(), r); errs <- err }()
	}
	waitQueued(t, d, n)
	close(gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	failed := 0
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			var te *tree.Error
			if !errors.As(err, &te) || te.Kind != tree.KindConflict {
				t.Fatalf("unexpected error %v", err)
			}
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d requests failed, want only the invalid one", failed)
	}
	if b := g.batchesSnapshot(); len(b) != 5 || b[4] != n-1 {
		t.Fatalf("store batches %v: want the 39 valid queued Sets in one batch after the held one", b)
	}
	if got := d.Snapshot().CommitID; got != 3+1+n-1 {
		t.Fatalf("commit id %d", got)
	}
}

func (g *gatedStore) batchesSnapshot() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.batches...)
}

// TestStoreFailureRefusesAndReverts: when the store cannot write, the Set
// is refused with Unavailable, readers never see it, and the validator's
// reference index forgets it.
func TestStoreFailureRefusesAndReverts(t *testing.T) {
	d, g := open(t)
	base(t, d)
	before := d.Snapshot()
	g.mu.Lock()
	g.fail = errors.New("disk on fire")
	g.mu.Unlock()
	_, err := d.Apply(context.Background(), update(t, d, "/tenants/tenant[name=t]/ports/port[name=p]", `{"host": "h"}`))
	var te *tree.Error
	if !errors.As(err, &te) || te.Kind != tree.KindUnavailable {
		t.Fatalf("got %v, want Unavailable", err)
	}
	if d.Snapshot() != before {
		t.Fatal("a refused Set was published")
	}
	// The port never existed, so nothing references the host any more.
	if _, err := d.Apply(context.Background(), del(t, d, "/hosts/host[name=h]")); err != nil {
		t.Fatalf("host delete refused after the failed Set: %v", err)
	}
}

func TestClosedRefuses(t *testing.T) {
	d, _ := open(t)
	d.Close()
	if _, err := d.Apply(context.Background(), &Request{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
}
