package tree

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/gnmipath"
)

// TestElemsBuilderIsGNMIElems: over the chains of diffs between random
// trees (lists, nested lists, entries created, changed and deleted),
// ElemsBuilder gives what GNMIElems(ChainPath(chain)) gives, and a path it
// handed out earlier does not change.
func TestElemsBuilderIsGNMIElems(t *testing.T) {
	sch := tsch(t)
	rng := rand.New(rand.NewPCG(5, 6))
	doc := func() string {
		var items []string
		for id := range 8 {
			if rng.IntN(2) == 0 {
				continue
			}
			var subs []string
			for b := range 3 {
				if rng.IntN(2) == 0 {
					subs = append(subs, fmt.Sprintf(`{"a":"s%d","b":%d,"c":"c%d"}`, b%2, b, rng.IntN(2)))
				}
			}
			items = append(items, fmt.Sprintf(`{"id":%d,"val":"v%d","sub":[%s]}`, id, rng.IntN(2), strings.Join(subs, ",")))
		}
		return fmt.Sprintf(`{"t:top":{"name":"n%d","item":[%s]},"t:pair":[{"z":"a","a":"b","v":"%d"}]}`, rng.IntN(2), strings.Join(items, ","), rng.IntN(2))
	}
	for run := range 200 {
		old, cur := load(t, sch, doc()), load(t, sch, doc())
		var b ElemsBuilder
		var got, want []string
		var handed [][]*gpb.PathElem
		Diff(old, cur, func(chain []*Node, o, n *Node) bool {
			p := b.Elems(chain)
			handed = append(handed, p)
			got = append(got, gnmipath.String(p))
			want = append(want, gnmipath.String(GNMIElems(ChainPath(chain))))
			return true
		})
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("run %d:\n got %s\nwant %s", run, strings.Join(got, " "), strings.Join(want, " "))
		}
		for i, p := range handed {
			if now := gnmipath.String(p); now != want[i] {
				t.Fatalf("run %d: path %d changed after it was handed out: %s, was %s", run, i, now, want[i])
			}
		}
	}
}
