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
	var targets strings.Builder
	for i := range n {
		if i > 0 {
			targets.WriteByte(',')
		}
		fmt.Fprintf(&targets, `{"id":"t%d","label":"L%d"}`, i, i)
	}
	root := tree.NewRoot(s)
	v.Reset(root)
	cs := changeset.Compute(root, edit(t, s, root, op{"merge", "/targets", `{"target":[` + targets.String() + `]}`}))
	if _, err := v.Check(cs, nil); err != nil {
		t.Fatal(err)
	}
	// Before: 2 allocations per entry (its list's path, its own path
	// text); one remains.
	if a := testing.AllocsPerRun(5, func() { _, _ = v.Check(cs, nil) }); a > n*3/2 {
		t.Errorf("checking %d created entries allocates %.0f times, want at most %d", n, a, n*3/2)
	}
}
