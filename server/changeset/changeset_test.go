package changeset_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
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

// bulkRoot is scenario any-to-any plus tenant name with n ports: a change
// set of several blocks.
func bulkRoot(t *testing.T, sch *schema.Schema, name string, n int) *tree.Node {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `{"netready-tenants:tenants":{"tenant":[{"name":%q,"ports":{"port":[`, name)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"p%d","host":"host-a","mtu":9000}`, i)
	}
	b.WriteString(`]}}]}}`)
	p, err := tree.DecodeRootJSON(sch.Root, []byte(b.String()), true)
	if err != nil {
		t.Fatal(err)
	}
	txn := tree.Begin(scenarioRoot(t, sch, "any-to-any"))
	if err := txn.Merge(nil, p); err != nil {
		t.Fatal(err)
	}
	return txn.Root()
}

// TestLargeSetsKeepOrderAndShare: a change set of thousands of changes
// (kept in blocks) lists them in tree.Diff's order, and Then joins two
// such sets without copying their changes (a bulk Set's 100,000s of
// changes were copied once more for the few its hooks write).
func TestLargeSetsKeepOrderAndShare(t *testing.T) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	base := scenarioRoot(t, sch, "any-to-any")
	one := bulkRoot(t, sch, "bulk1", 2000)
	first := changeset.Compute(base, one)
	var want []string
	tree.Diff(base, one, func(chain []*tree.Node, _, _ *tree.Node) bool {
		want = append(want, tree.ChainString(chain))
		return true
	})
	var got []string
	for c := range first.All() {
		got = append(got, tree.ChainString(c.Chain))
	}
	if len(want) < 5000 || first.Len() != len(want) || !slices.Equal(got, want) {
		t.Fatalf("All lists %d changes (Len %d), tree.Diff %d; equal: %v", len(got), first.Len(), len(want), slices.Equal(got, want))
	}
	second := changeset.Compute(base, base) // no change
	if !second.Empty() || first.Then(second).Len() != first.Len() {
		t.Fatal("Then of an empty set must keep the first's changes")
	}
	// A drop of MTU on one port: the next transaction.
	txn := tree.Begin(one)
	if err := txn.Merge(nil, mustDecode(t, sch, `{"netready-tenants:tenants":{"tenant":[{"name":"bulk1","ports":{"port":[{"name":"p7","mtu":1500}]}}]}}`)); err != nil {
		t.Fatal(err)
	}
	second = changeset.Compute(one, txn.Root())
	both := first.Then(second)
	if both.Len() != first.Len()+second.Len() {
		t.Fatalf("Then has %d changes, want %d", both.Len(), first.Len()+second.Len())
	}
	var joined, parts []string
	for c := range both.All() {
		joined = append(joined, tree.ChainString(c.Chain))
	}
	for c := range second.All() {
		parts = append(parts, tree.ChainString(c.Chain))
	}
	if !slices.Equal(joined, append(want, parts...)) || !slices.Contains(parts, "/tenants/tenant[name=bulk1]/ports/port[name=p7]/mtu") {
		t.Fatalf("Then does not list the first set's changes then the second's %v", parts)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		first.Then(second)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 10; per > 4096 {
		t.Errorf("Then of %d changes allocates %d bytes, want under 4 KiB (no copy)", first.Len(), per)
	}
}

func mustDecode(t *testing.T, sch *schema.Schema, doc string) *tree.Node {
	t.Helper()
	p, err := tree.DecodeRootJSON(sch.Root, []byte(doc), true)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Compute gathers changes in blocks that start at 16 and double, none
// ever copied to grow. Growing one block by append allocated 2.6 changes'
// worth per change of an 874-change set and threw most of it away; now
// the blocks hold at most twice the changes. A one-leaf Set's few
// changes take one block, not four: 8 → 5 allocations beyond tree.Diff's
// own. (Compute runs for every Set and for the hooks' diff of a batch.)
func TestComputeGrowsNoBlock(t *testing.T) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	base := scenarioRoot(t, sch, "any-to-any")
	cur := bulkRoot(t, sch, "bulk1", 100)
	n := changeset.Compute(base, cur).Len()
	if n < 250 || n > 1000 {
		t.Fatalf("the diff has %d changes, want a few hundred", n)
	}
	// What Compute allocates beyond tree.Diff's own chains is its blocks.
	diff := allocated(func() { tree.Diff(base, cur, func([]*tree.Node, *tree.Node, *tree.Node) bool { return true }) })
	blocks := allocated(func() { changeset.Compute(base, cur) }) - diff
	const changeSize = 40 // a chain slice and two pointers
	if blocks > uint64(2*n*changeSize) {
		t.Errorf("Compute of %d changes allocates %d bytes of blocks (%.1f changes' worth per change), want at most 2", n, blocks, float64(blocks)/float64(n*changeSize))
	}

	if raceEnabled {
		return
	}
	txn := tree.Begin(cur)
	if err := txn.Merge(nil, mustDecode(t, sch, `{"netready-tenants:tenants":{"tenant":[{"name":"bulk1","ports":{"port":[{"name":"p7","mtu":1500}]}}]}}`)); err != nil {
		t.Fatal(err)
	}
	next := txn.Root()
	oneLeaf := testing.AllocsPerRun(100, func() { changeset.Compute(cur, next) })
	diffAllocs := testing.AllocsPerRun(100, func() { tree.Diff(cur, next, func([]*tree.Node, *tree.Node, *tree.Node) bool { return true }) })
	if extra := oneLeaf - diffAllocs; extra > 5 {
		t.Errorf("Compute of a one-leaf change allocates %.0f times beyond tree.Diff, want at most 5 (the set, the diff's callback and what it holds, one block, the block list)", extra)
	}
}

// allocated is how many bytes f allocates, the mean of 10 runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / 10
}
