package replica

import (
	"fmt"
	"testing"

	"github.com/openconfig/ygot/ygot"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	netreadyyang "github.com/netready/netready/yang"
)

// decodeTree is a whole tree, configuration and state, from RFC 7951 JSON.
func decodeTree(t *testing.T, sch *schema.Schema, js string) *tree.Node {
	t.Helper()
	n, err := tree.DecodeStateJSON(sch.Root, []byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// replaceStatus makes t's realization status u's.
func replaceStatus(t *tree.Txn, u *update, own map[string]bool) error {
	edits, err := statusEdits(t.Root(), u, own)
	if err != nil {
		return err
	}
	return applyEdits(t, edits)
}

func leafAt(t *testing.T, root *tree.Node, p string) *tree.Node {
	t.Helper()
	gp, err := ygot.StringToStructuredPath(p)
	if err != nil {
		t.Fatal(err)
	}
	path, err := tree.Resolve(root.Schema(), gp.GetElem())
	if err != nil {
		t.Fatal(err)
	}
	return tree.Lookup(root, path)
}

// TestStatusReplacesFollowersStatus: the status the leader publishes
// replaces a follower's whole realization status — stale leaves and
// entries go, objects the follower no longer has get none back — and
// leaves the state each replica keeps for itself alone.
func TestStatusReplacesFollowersStatus(t *testing.T) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	own := map[string]bool{"system": true, "audit": true, "access": true}
	leader := decodeTree(t, sch, `{
	  "netready-infrastructure:backends": {"backend": [
	    {"name": "a", "status": {"oper-status": "up", "sync-state": "in-sync"}},
	    {"name": "gone", "status": {"oper-status": "up", "sync-state": "in-sync"}}]},
	  "netready-system:system": {"state": {"version": "leader's"}}}`)
	follower := decodeTree(t, sch, `{
	  "netready-infrastructure:backends": {"backend": [
	    {"name": "a", "status": {"oper-status": "down", "sync-state": "error", "backend": [{"name": "old", "sync-state": "error"}]},
	     "reconciliation": {"drift-count": 3}}]},
	  "netready-system:system": {"state": {"version": "follower's"}}}`)

	pub := &publisher{own: own, sent: map[string][]byte{}, dirty: map[string]tree.Path{}}
	if err := pub.look(leader); err != nil {
		t.Fatal(err)
	}
	st, err := decodeUpdate(sch, pub.changes(leader, 7), true)
	if err != nil {
		t.Fatal(err)
	}
	if st.commit != 7 || len(st.objs) != 2 {
		t.Fatalf("commit %d, %d objects; want 7, 2 (the backends' status)", st.commit, len(st.objs))
	}
	txn := tree.Begin(follower)
	if err := replaceStatus(txn, st, own); err != nil {
		t.Fatal(err)
	}
	got := txn.Root()
	for p, want := range map[string]string{
		"/backends/backend[name=a]/status/oper-status": "up",
		"/backends/backend[name=a]/status/sync-state":  "in-sync",
		"/system/state/version":                        "follower's",
	} {
		n := leafAt(t, got, p)
		if n == nil || fmt.Sprint(n.Value()) != want {
			t.Errorf("%s = %v, want %s", p, n, want)
		}
	}
	for _, p := range []string{
		"/backends/backend[name=a]/status/backend[name=old]",
		"/backends/backend[name=a]/reconciliation",
		"/backends/backend[name=gone]",
	} {
		if n := leafAt(t, got, p); n != nil {
			t.Errorf("%s is still there", p)
		}
	}

	// The same status again changes nothing: a follower's subscribers
	// hear only what changed.
	again := tree.Begin(got)
	if err := replaceStatus(again, st, own); err != nil {
		t.Fatal(err)
	}
	if cs := changeset.Compute(got, again.Root()); !cs.Empty() {
		t.Error("the same status published twice changed the tree")
	}

	// A new leader clears the previous one's status, its own state kept.
	txn = tree.Begin(got)
	if err := replaceStatus(txn, &update{full: true}, own); err != nil {
		t.Fatal(err)
	}
	if n := leafAt(t, txn.Root(), "/backends/backend[name=a]/status/sync-state"); n != nil && !n.IsDefault() {
		t.Errorf("sync-state %v left after clearing", n.Value())
	}
	if n := leafAt(t, txn.Root(), "/system/state/version"); n == nil {
		t.Error("the replica's own state cleared")
	}
}
