package changeset_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	netreadyyang "github.com/netready/netready/yang"
)

func scenarioRoot(t *testing.T, sch *schema.Schema, name string) *tree.Node {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "scenarios", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := tree.DecodeRootJSON(sch.Root, b, true)
	if err != nil {
		t.Fatal(err)
	}
	txn := tree.Begin(tree.NewRoot(sch))
	if err := txn.Merge(nil, p); err != nil {
		t.Fatal(err)
	}
	return txn.Root()
}

// record lists what a walk reports, stopping below every node stop says.
func record(walk func(tree.DiffFunc), stop func(chain []*tree.Node, o, n *tree.Node) bool) []string {
	var out []string
	walk(func(chain []*tree.Node, o, n *tree.Node) bool {
		out = append(out, fmt.Sprintf("%s old=%v new=%v", tree.ChainString(chain), o != nil, n != nil))
		return !stop(chain, o, n)
	})
	return out
}

// TestWalkReplaysDiff: replaying a recorded change set reports exactly what
// tree.Diff reports, for every way a consumer may prune the walk.
func TestWalkReplaysDiff(t *testing.T) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"any-to-any", "ecmp", "hub-and-spoke", "service-binding", "georedundancy"}
	roots := []*tree.Node{tree.NewRoot(sch)}
	for _, n := range names {
		roots = append(roots, scenarioRoot(t, sch, n))
	}
	prunes := map[string]func([]*tree.Node, *tree.Node, *tree.Node) bool{
		"none":     func([]*tree.Node, *tree.Node, *tree.Node) bool { return false },
		"deletes":  func(_ []*tree.Node, _, n *tree.Node) bool { return n == nil },
		"state":    func(c []*tree.Node, _, _ *tree.Node) bool { return !c[len(c)-1].Schema().Config },
		"depth3":   func(c []*tree.Node, _, _ *tree.Node) bool { return len(c) >= 3 },
		"creation": func(_ []*tree.Node, o, _ *tree.Node) bool { return o == nil },
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 40; i++ {
		a, b := roots[rng.IntN(len(roots))], roots[rng.IntN(len(roots))]
		cs := changeset.Compute(a, b)
		for name, stop := range prunes {
			want := record(func(fn tree.DiffFunc) { tree.Diff(a, b, fn) }, stop)
			got := record(cs.Walk, stop)
			if !slices.Equal(got, want) {
				t.Fatalf("prune %s: replay differs from tree.Diff\n got %d: %v\nwant %d: %v", name, len(got), got, len(want), want)
			}
		}
	}
}

// TestThenResetsPruning: a node pruned in the first part does not hide
// the second part's changes below a newer version of it.
func TestThenResetsPruning(t *testing.T) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	empty := tree.NewRoot(sch)
	full := scenarioRoot(t, sch, "any-to-any")
	first := changeset.Compute(empty, full)
	second := changeset.Compute(full, scenarioRoot(t, sch, "ecmp"))
	both := first.Then(second)
	if both.Old != empty || both.New != second.New {
		t.Fatal("Then must span from the first Old to the second New")
	}
	n := 0
	both.Walk(func(chain []*tree.Node, o, _ *tree.Node) bool {
		n++
		return o != nil // prune every creation
	})
	want := 0
	first.Walk(func(_ []*tree.Node, o, _ *tree.Node) bool { want++; return o != nil })
	second.Walk(func(_ []*tree.Node, o, _ *tree.Node) bool { want++; return o != nil })
	if n != want {
		t.Fatalf("walked %d changes, want %d (each part pruned on its own)", n, want)
	}
}
