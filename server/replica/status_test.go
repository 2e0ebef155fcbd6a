package replica

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/openconfig/ygot/ygot"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/store/etcdstore"
	"github.com/netready/netready/server/store/etcdstore/etcdtest"
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

// publishTree makes etcd hold root's status through p (at commit 1).
func publishTree(t *testing.T, st *etcdstore.Store, p *publisher, root *tree.Node) []etcdstore.StatusEntry {
	t.Helper()
	if err := p.look(root); err != nil {
		t.Fatal(err)
	}
	entries := p.changes(root, 1)
	n, err := st.PutStatus(context.Background(), entries)
	p.wrote(entries[:n])
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// TestNewLeaderReplacesPublishedStatus: on a real etcd, leader A
// publishes two hosts' status; its successor B, whose engine has a
// status for one host only, publishes its first: etcd then holds B's
// status alone (A's for the other host deleted), and a follower that
// applies what it follows shows B's, nothing of A's. A later change of
// one host writes that host's key alone.
func TestNewLeaderReplacesPublishedStatus(t *testing.T) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	own := map[string]bool{"system": true, "audit": true, "access": true}
	c := etcdtest.StartDefaultLimits(t, 1)
	cli := c.Client(t)
	ctx := context.Background()
	a := guardedStore(t, cli, "/nl/")
	f, err := etcdstore.Open(ctx, cli, etcdstore.Options{Prefix: "/nl/", Guarded: true})
	if err != nil {
		t.Fatal(err)
	}
	// The follower's configuration still holds backend x, which B's no
	// longer does (its commit not followed yet).
	follower := decodeTree(t, sch, `{"netready-infrastructure:hosts": {"host": [{"name": "h1"}, {"name": "h2"}]},
	  "netready-infrastructure:backends": {"backend": [{"name": "x"}]}}`)
	var mu sync.Mutex
	fctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	defer func() { stop(); <-done }()
	go func() { // a follower: decode, work out the edits, apply them
		defer close(done)
		_ = f.FollowStatus(fctx, func(entries []etcdstore.StatusEntry, full bool) error {
			u, err := decodeUpdate(sch, entries, full)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			edits, err := statusEdits(follower, u, own)
			txn := tree.Begin(follower)
			if err == nil {
				err = applyEdits(txn, edits)
			}
			if err != nil {
				t.Error(err)
			}
			follower = txn.Root()
			return nil
		}, func(err error) { t.Logf("status watch broke: %v", err) })
	}()
	untilFollower := func(p, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			n := leafAt(t, follower, p)
			mu.Unlock()
			got := "<none>"
			if n != nil && !n.IsDefault() {
				got = fmt.Sprint(n.Value())
			}
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("follower: %s = %s, want %s", p, got, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	treeA := decodeTree(t, sch, `{"netready-infrastructure:hosts": {"host": [
	  {"name": "h1", "status": {"oper-status": "up", "sync-state": "in-sync"}},
	  {"name": "h2", "status": {"oper-status": "up", "sync-state": "in-sync"}}]},
	  "netready-infrastructure:backends": {"backend": [{"name": "x", "status": {"oper-status": "up", "sync-state": "in-sync"}}]}}`)
	pubA := &publisher{own: own, sent: map[string][]byte{}, dirty: map[string]tree.Path{}}
	if got := publishTree(t, a, pubA, treeA); len(got) != 3 {
		t.Fatalf("A published %d objects, want 3", len(got))
	}
	untilFollower("/hosts/host[name=h2]/status/oper-status", "up")
	untilFollower("/backends/backend[name=x]/status/oper-status", "up")

	// A is deposed (its guard's key deleted, as its lease's end does);
	// B is elected.
	if _, err := cli.Delete(ctx, "/nl/election/l"); err != nil {
		t.Fatal(err)
	}
	b := guardedStore(t, cli, "/nl/")
	treeB := decodeTree(t, sch, `{"netready-infrastructure:hosts": {"host": [
	  {"name": "h1", "status": {"oper-status": "down", "sync-state": "pending"}},
	  {"name": "h2"}]}}`)
	pubB, err := newPublisher(ctx, b, own)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.PutStatus(ctx, []etcdstore.StatusEntry{{Key: "/hosts/host[name=h2]/status"}}); !errors.Is(err, etcdstore.ErrNotLeader) {
		t.Fatalf("the deposed leader's status: %v, want ErrNotLeader", err)
	}
	publishTree(t, b, pubB, treeB)
	resp, err := cli.Get(ctx, "/nl/status/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	if err := stateRoots(treeB, own, func(p tree.Path, n *tree.Node) { want[tree.PathKey(p)] = string(stateJSON(n)) }); err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		k := strings.TrimPrefix(string(kv.Key), "/nl/status/")
		if w, ok := want[k]; !ok || w != string(kv.Value[8:]) {
			t.Errorf("after B's first publication etcd holds %s = %s, want B's: %q", k, kv.Value[8:], w)
		}
	}
	if len(resp.Kvs) != len(want) {
		t.Errorf("after B's first publication etcd holds %d status keys, want B's %d", len(resp.Kvs), len(want))
	}
	untilFollower("/hosts/host[name=h1]/status/oper-status", "down")
	untilFollower("/hosts/host[name=h2]/status/oper-status", "unknown") // B's, not A's up
	untilFollower("/backends/backend[name=x]/status/oper-status", "<none>")

	// One host's status changes among many: one key, that host's.
	many := `{"netready-infrastructure:hosts": {"host": [`
	for i := range 500 {
		many += fmt.Sprintf(`{"name": "h%d", "status": {"oper-status": "up"}},`, i+3)
	}
	treeB = decodeTree(t, sch, many+`{"name": "h1", "status": {"oper-status": "up"}}]}}`)
	publishTree(t, b, pubB, treeB)
	untilFollower("/hosts/host[name=h1]/status/oper-status", "up")
	txn := tree.Begin(treeB)
	p := tree.MustResolve(sch.Root, "hosts", "host", "status")
	p[1].Keys = tree.Lookup(treeB, tree.MustResolve(sch.Root, "hosts", "host")).Entry("h1").KeyValues()
	n, err := tree.DecodeStateAt(p, []byte(`{"oper-status": "down"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := txn.Replace(p, n); err != nil {
		t.Fatal(err)
	}
	got := publishTree(t, b, pubB, txn.Root())
	if len(got) != 1 || got[0].Key != "/hosts/host[name=h1]/status" || len(got[0].Val) > 64 {
		t.Fatalf("one host's change published %d objects (first %q, %d bytes), want h1's alone, at most 64 bytes", len(got), got[0].Key, len(got[0].Val))
	}
	untilFollower("/hosts/host[name=h1]/status/oper-status", "down")
}
