package validate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/tree"
)

// Creating entries of a list without min- or max-elements costs no
// lookup of the list and no path text per entry: a bulk Set creates
// 30,000 of them, and goyang gives every list a max-elements (MaxUint64
// for none), so each entry looked its list up from the root, and each
// object's path was built for an error that did not come.
func TestCreatedEntriesCostNoPaths(t *testing.T) {
	s := vsch(t)
	v, err := New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	root := tree.NewRoot(s)
	v.Reset(root)
	cs := changeset.Compute(root, edit(t, s, root, op{"merge", "/targets", targetsDoc(n, `"id":"t%d","label":"L%[1]d"`)}))
	if _, err := v.Check(cs, nil); err != nil {
		t.Fatal(err)
	}
	// Before: 2 allocations per entry (its list's path, its own path
	// text); one remains.
	if a := testing.AllocsPerRun(5, func() { _, _ = v.Check(cs, nil) }); a > n*3/2 {
		t.Errorf("checking %d created entries allocates %.0f times, want at most %d", n, a, n*3/2)
	}
}

// A keyed reference costs one allocation, its count's key: a bulk Set
// checks 10,000s of references, and each built its source path, its
// target path (two allocations each), the target's text (two) and a
// slice for its one value.
func TestKeyedReferencesCostOneAllocation(t *testing.T) {
	s := vsch(t)
	v, err := New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	var targets, refs, plain strings.Builder
	for i := range n {
		if i > 0 {
			targets.WriteByte(',')
			refs.WriteByte(',')
			plain.WriteByte(',')
		}
		fmt.Fprintf(&targets, `{"id":"t%d"}`, i)
		fmt.Fprintf(&refs, `{"name":"r%d","to":"t%d"}`, i, i)
		fmt.Fprintf(&plain, `{"name":"r%d"}`, i)
	}
	root := edit(t, s, tree.NewRoot(s), op{"merge", "/targets", `{"target":[` + targets.String() + `]}`})
	v.Reset(root)
	check := func(payload string) float64 {
		cs := changeset.Compute(root, edit(t, s, root, op{"merge", "/", `{"v:ref":[` + payload + `]}`}))
		d, err := v.Check(cs, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.sums()["/targets/target[id=t7]"]; payload == refs.String() && got != 1 {
			t.Fatalf("the reference to t7 counts %d, want 1", got)
		}
		return testing.AllocsPerRun(5, func() { _, _ = v.Check(cs, nil) })
	}
	// The same entries without their references: the difference is what
	// the references cost.
	with, without := check(refs.String()), check(plain.String())
	// 1.5, not 1: under -race sync.Pool drops some of what it is given,
	// so the target's lookup sometimes allocates its probe (tree.Entry).
	if per := (with - without) / n; per > 1.5 {
		t.Errorf("a keyed reference costs %.2f allocations, want 1 (at most 1.5; %.0f with, %.0f without)", per, with, without)
	}
}

// A rule's run on a created object keeps the change's chain rather than a
// copy of it (tree.Diff gives every change its own): a bulk Set notes
// 30,000 objects with rules.
func TestRuleRunsKeepTheChain(t *testing.T) {
	s := vsch(t)
	var ran int
	rule := Rule{Path: "/targets/target", Name: "count", Check: func(*tree.Node, []*tree.Node) error { ran++; return nil }}
	with, err := New(s, []Rule{rule})
	if err != nil {
		t.Fatal(err)
	}
	without, err := New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	root := tree.NewRoot(s)
	cs := changeset.Compute(root, edit(t, s, root, op{"merge", "/targets", targetsDoc(n, `"id":"t%d"`)}))
	allocs := func(v *Validator) float64 {
		v.Reset(root)
		if _, err := v.Check(cs, nil); err != nil {
			t.Fatal(err)
		}
		return testing.AllocsPerRun(5, func() { _, _ = v.Check(cs, nil) })
	}
	a, b := allocs(with), allocs(without)
	if ran != 7*n {
		t.Fatalf("the rule ran %d times in 7 checks of %d objects, want %d", ran, n, 7*n)
	}
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	// Before: 7 per object (its key text, its run, a copy of its chain,
	// its list of rules, and in runRules its path (2) and its chain in
	// the candidate); the copy is gone.
	if per := (a - b) / n; per > 6.5 {
		t.Errorf("a rule's run costs %.2f allocations per object, want at most 6.5 (%.0f with the rule, %.0f without)", per, a, b)
	}
}

// targetsDoc is a /targets document of n target entries, entry i's
// members given by format with i as its argument.
func targetsDoc(n int, format string) string {
	var b strings.Builder
	b.WriteString(`{"target":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('{')
		fmt.Fprintf(&b, format, i)
		b.WriteByte('}')
	}
	b.WriteString(`]}`)
	return b.String()
}
