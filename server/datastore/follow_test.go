package datastore

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/tree"
)

// TestApplyCommitted: commits one datastore wrote, applied to another
// (a follower), give it the same configuration and publish each as one
// event in order; commits it has are skipped, and a gap is refused with
// nothing applied.
func TestApplyCommitted(t *testing.T) {
	leader, lst := open(t)
	base(t, leader)
	for _, js := range []string{`{"host": "h"}`, `{"host": "h", "mtu": 9000}`} {
		if _, err := leader.Apply(context.Background(), update(t, leader, "/tenants/tenant[name=t]/ports/port[name=p]", js)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := leader.Apply(context.Background(), del(t, leader, "/tenants/tenant[name=t]/ports/port[name=p]")); err != nil {
		t.Fatal(err)
	}
	var commits []*store.Commit
	if err := lst.Commits(context.Background(), 0, 0, func(c *store.Commit) error { commits = append(commits, c); return nil }); err != nil {
		t.Fatal(err)
	}

	follower, _ := open(t)
	feed := follower.Watch()
	if err := follower.ApplyCommitted(context.Background(), commits[2:]); err == nil {
		t.Fatal("a gap was applied")
	}
	if got := follower.Snapshot().CommitID; got != 0 {
		t.Fatalf("after a refused gap the follower is at commit %d", got)
	}
	for i := range commits {
		// Each commit twice: the second is one it has.
		if err := follower.ApplyCommitted(context.Background(), commits[:i+1]); err != nil {
			t.Fatal(err)
		}
		if got := follower.Snapshot().CommitID; got != uint64(i+1) {
			t.Fatalf("after commit %d the follower is at %d", i+1, got)
		}
		if i+1 == 5 && !hasRow(follower, "/tenants/tenant[name=t]/ports/port[name=p]", "9000") {
			t.Fatalf("after commit 5 the port's MTU is missing: %v", config(follower))
		}
	}
	evs, err := feed.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	for _, e := range evs {
		ids = append(ids, e.CommitID)
	}
	if want := []uint64{1, 2, 3, 4, 5, 6}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("events for commits %v, want %v (each once, in order)", ids, want)
	}
	if got, want := config(follower), config(leader); !reflect.DeepEqual(got, want) {
		t.Fatalf("follower %v, leader %v", got, want)
	}
}

// hasRow says d's configuration has the row key holding text.
func hasRow(d *Datastore, key, text string) bool {
	for _, r := range config(d) {
		if r.Key == key && strings.Contains(string(r.New), text) {
			return true
		}
	}
	return false
}

// config is the configuration rows of d's snapshot.
func config(d *Datastore) []tree.RowChange { return tree.AllRows(d.Snapshot().Root) }
