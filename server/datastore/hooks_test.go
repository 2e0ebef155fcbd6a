package datastore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/netready/netready/server/tree"
)

// countingHook writes the commit id into /system/state/last-commit-id,
// as the server's own hooks keep their state, and remembers the
// transaction and commit id of every call.
type countingHook struct {
	leaf tree.Path
	mu   sync.Mutex
	txns []*tree.Txn
	ids  []uint64
}

func (h *countingHook) Committing(t *tree.Txn, _ *Request, id uint64, _ time.Time) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.txns, h.ids = append(h.txns, t), append(h.ids, id)
	t.SetLeaf(h.leaf, id)
	return []byte(fmt.Sprintf(`{"commit-id":%d}`, id))
}

func (h *countingHook) NotStored(int) {}

func (h *countingHook) calls() ([]*tree.Txn, []uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*tree.Txn(nil), h.txns...), append([]uint64(nil), h.ids...)
}

// TestHooksRunOncePerBatch: the commit hooks record every accepted Set
// of a batch, in commit order, in one transaction whose changes are
// diffed once and published with the batch's last commit; every commit
// still stores its own audit entry. In a transaction per Set, each Set
// copied the path to the hook's list entry and was diffed alone.
func TestHooksRunOncePerBatch(t *testing.T) {
	h := &countingHook{}
	d, g := openWith(t, Options{Hooks: []CommitHook{h}})
	h.leaf = tree.MustResolve(d.Schema().Root, "system", "state", "last-commit-id")
	base(t, d) // commits 1..3
	feed := d.Watch()
	gate := make(chan struct{})
	g.mu.Lock()
	g.gate = gate
	g.mu.Unlock()
	held := make(chan error, 1)
	go func() {
		_, err := d.Apply(context.Background(), update(t, d, "/tenants/tenant[name=t]/description", `"held"`))
		held <- err
	}()
	for len(g.batchesSnapshot()) < 4 {
		time.Sleep(time.Millisecond)
	}
	const n = 10
	errs := make(chan error, n)
	for i := range n {
		r := update(t, d, fmt.Sprintf("/tenants/tenant[name=t]/ports/port[name=p%d]", i), `{"host": "h"}`)
		go func() { _, err := d.Apply(context.Background(), r); errs <- err }()
	}
	waitQueued(t, d, n)
	close(gate)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if b := g.batchesSnapshot(); len(b) != 5 || b[4] != n {
		t.Fatalf("store batches %v, want the %d queued Sets in one", b, n)
	}

	txns, ids := h.calls()
	batch, batchIDs := txns[len(txns)-n:], ids[len(ids)-n:]
	for i := range batch {
		if want := uint64(5 + i); batchIDs[i] != want {
			t.Fatalf("hook saw commit %d as call %d of the batch, want %d", batchIDs[i], i, want)
		}
		if batch[i] != batch[0] {
			t.Fatalf("call %d of the batch got its own transaction: want one per batch", i)
		}
	}
	if got := tree.Lookup(d.Snapshot().Root, h.leaf).Value(); got != uint64(4+n) {
		t.Fatalf("published last-commit-id %v, want %d", got, 4+n)
	}

	// The events of the batch: the hooks' change only in the last.
	var events []Event
	for len(events) < 1+n {
		evs, err := feed.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, evs...)
	}
	for i, ev := range events[1:] {
		var hookChanges int
		for c := range ev.Changes.All() {
			if c.New != nil && tree.ChainString(c.Chain) == "/system/state/last-commit-id" {
				hookChanges++
			}
		}
		if want := map[bool]int{true: 1, false: 0}[i == n-1]; hookChanges != want {
			t.Errorf("event of commit %d has %d hook changes, want %d", ev.CommitID, hookChanges, want)
		}
	}

	// Every commit stored its own audit entry.
	var audit []string
	if err := g.Audit(context.Background(), func(_ uint64, e []byte) error { audit = append(audit, string(e)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(audit) != 4+n || audit[len(audit)-1] != fmt.Sprintf(`{"commit-id":%d}`, 4+n) {
		t.Fatalf("audit log %v, want one entry per commit", audit)
	}
}
