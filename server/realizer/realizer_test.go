package realizer_test

import (
	"math/rand/v2"
	"testing"

	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/tree"
	netreadyyang "github.com/netready/netready/yang"
)

// auditEdits builds edits of the audit entries' leaves (state leaves,
// leaf-lists and list entries of the real schema).
type auditEdits struct {
	entry tree.Path
}

func (a auditEdits) path(id uint64, leaf string) tree.Path {
	p := append(tree.Path(nil), a.entry...)
	p[1].Keys = []value.Value{id}
	if leaf == "" {
		return p
	}
	return append(p, tree.Elem{Schema: p[1].Schema.Child(leaf)})
}

// random returns n edits over entries 1..3: leaves, a leaf-list, deletes
// of a leaf or an entry, with or without an object to depend on.
func (a auditEdits) random(r *rand.Rand, n int) realizer.Status {
	var s realizer.Status
	leaves := []string{"result", "user", "peer", "message"}
	for range n {
		id := uint64(1 + r.IntN(3))
		obj := 2 * r.IntN(2)
		switch k := r.IntN(10); {
		case k == 0:
			s = append(s, realizer.Edit{Path: a.path(id, ""), Object: obj, Delete: true})
		case k == 1:
			s = append(s, realizer.Edit{Path: a.path(id, leaves[r.IntN(len(leaves))]), Object: obj, Delete: true})
		case k == 2:
			s = append(s, realizer.Edit{Path: a.path(id, "role"), Object: obj, Values: []value.Value{[]string{"x", "y"}[r.IntN(2)]}})
		default:
			s = append(s, realizer.Edit{Path: a.path(id, leaves[r.IntN(len(leaves))]), Object: obj, Value: []string{"a", "b", "c"}[r.IntN(3)]})
		}
	}
	return s
}

func auditSchema(t testing.TB) (*schema.Schema, auditEdits) {
	t.Helper()
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	return sch, auditEdits{entry: tree.MustResolve(sch.Root, "audit", "entry")}
}

func jsonOf(n *tree.Node) string {
	b, _ := tree.AppendJSON(nil, n, true, tree.All)
	return string(b)
}

// Applying a status at once writes what applying its edits one by one
// writes: grouping the leaves of one parent changes no outcome (a leaf
// set twice, an edit whose object is gone, a delete between two sets).
func TestStatusApplyIsEditByEdit(t *testing.T) {
	sch, a := auditSchema(t)
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 2000 {
		base := tree.Begin(tree.NewRoot(sch))
		realizer.Status{
			{Path: a.path(1, "result"), Value: "a"}, {Path: a.path(2, "user"), Value: "b"},
		}.Apply(base)
		root := base.Root()
		s := a.random(r, 1+r.IntN(12))

		whole := tree.Begin(root)
		s.Apply(whole)
		each := tree.Begin(root)
		for _, e := range s {
			realizer.Status{e}.Apply(each)
		}
		if got, want := jsonOf(whole.Root()), jsonOf(each.Root()); got != want {
			t.Fatalf("round %d: %v\napplied at once: %s\nedit by edit:    %s", round, s, got, want)
		}
	}
}

// An object's status leaves are written with one walk to the object.
func TestStatusApplyWalksOncePerObject(t *testing.T) {
	sch, a := auditSchema(t)
	base := tree.Begin(tree.NewRoot(sch))
	for id := uint64(1); id <= 1000; id++ {
		realizer.Status{{Path: a.path(id, "result"), Value: "a"}}.Apply(base)
	}
	root := base.Root()
	s := realizer.Status{
		{Path: a.path(500, "result"), Object: 2, Value: "b"},
		{Path: a.path(500, "user"), Object: 2, Value: "u"},
		{Path: a.path(500, "peer"), Object: 2, Value: "p"},
		{Path: a.path(500, "message"), Object: 2, Value: "m"},
	}
	var got *tree.Node
	n := testing.AllocsPerRun(100, func() { txn := tree.Begin(root); s.Apply(txn); got = txn.Root() })
	if want := `{"id":"500","message":"m","peer":"p","result":"b","user":"u"}`; jsonOf(tree.Lookup(got, a.path(500, ""))) != want {
		t.Fatalf("entry 500 is %s, want %s", jsonOf(tree.Lookup(got, a.path(500, ""))), want)
	}
	// 48 when each edit looked its object and leaf up and walked from the
	// root on its own.
	if n > 32 {
		t.Errorf("applying 4 leaves of one object allocates %.0f times, want at most 32", n)
	}
}
