package audit_test

import (
	"testing"
	"time"

	"github.com/netready/netready/server/audit"
	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/tree"
	netreadyyang "github.com/netready/netready/yang"
)

// committed returns the tree after n accepted Sets were recorded by l,
// each in its own transaction as the datastore's writer records them.
func committed(t *testing.T, l *audit.Log, root *tree.Node, n int, req *datastore.Request) *tree.Node {
	t.Helper()
	for i := 0; i < n; i++ {
		txn := tree.Begin(root)
		l.Committing(txn, req, uint64(i+1), time.Unix(1700000000, 0))
		root = txn.Root()
	}
	return root
}

// Committing runs in the writer for every accepted Set: it writes the
// entry's leaves with one walk to the entry, not one walk from the root
// per leaf (each walk looked the entry up in a list of up to 10,000 and
// re-inserted it).
func TestCommittingWalksToTheEntryOnce(t *testing.T) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	l := audit.New(sch, nil, audit.Retention{Entries: 10000, Bytes: 1 << 30})
	req := &datastore.Request{User: "admin", Roles: []string{"admin"}, Peer: "127.0.0.1:5000",
		Operations: []string{"update /tenants/tenant[name=a]/ports/port[name=p1]/mtu"}}
	root := committed(t, l, tree.NewRoot(sch), 1000, req)

	// What the entry holds is what the request said.
	entry := tree.MustResolve(sch.Root, "audit", "entry")
	entry[1].Keys = []value.Value{uint64(1000)}
	js, _ := tree.AppendJSON(nil, tree.Lookup(root, entry), true, tree.All)
	want := `{"id":"1000","commit-id":"1000","operation":["update /tenants/tenant[name=a]/ports/port[name=p1]/mtu"],` +
		`"peer":"127.0.0.1:5000","result":"accepted","role":["admin"],"time":"2023-11-14T22:13:20Z","user":"admin"}`
	if string(js) != want {
		t.Errorf("entry 1000 is %s, want %s", js, want)
	}
	// 84 allocations when each of the 8 leaves walked from the root.
	n := testing.AllocsPerRun(100, func() {
		txn := tree.Begin(root)
		l.Committing(txn, req, 2000, time.Unix(1700000000, 0))
	})
	if n > 50 {
		t.Errorf("Committing allocates %.0f times, want at most 50", n)
	}
}

// BenchmarkCommitting: the audit entry of one accepted Set written into
// its transaction, on a log holding 10,000 entries (its retention, so
// every entry also drops the oldest), as the writer does per Set.
func BenchmarkCommitting(b *testing.B) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		b.Fatal(err)
	}
	l := audit.New(sch, nil, audit.Retention{Entries: 10000, Bytes: 1 << 30})
	req := &datastore.Request{User: "admin", Roles: []string{"admin"}, Peer: "127.0.0.1:5000",
		Operations: []string{"update /tenants/tenant[name=a]/ports/port[name=p1]/mtu"}}
	root := tree.NewRoot(sch)
	for i := range 10000 {
		txn := tree.Begin(root)
		l.Committing(txn, req, uint64(i+1), time.Unix(1700000000, 0))
		root = txn.Root()
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		txn := tree.Begin(root)
		l.Committing(txn, req, uint64(10001+i), time.Unix(1700000000, 0))
		root = txn.Root()
	}
}
