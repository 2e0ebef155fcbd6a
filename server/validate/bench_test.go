package validate

import (
	"fmt"
	"github.com/netready/netready/server/changeset"
	"strings"
	"testing"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
)

// benchTree returns a committed tree of n target entries and n referring
// entries, with the validator that accepted it.
func benchTree(b *testing.B, s *schema.Schema, n int) (*Validator, *tree.Node) {
	b.Helper()
	var targets, refs strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			targets.WriteByte(',')
			refs.WriteByte(',')
		}
		fmt.Fprintf(&targets, `{"id":"t%d","label":"L%d"}`, i, i)
		fmt.Fprintf(&refs, `{"name":"r%d","to":"t%d"}`, i, i)
	}
	root := edit(b, s, tree.NewRoot(s),
		op{"merge", "/targets", `{"target":[` + targets.String() + `]}`},
		op{"merge", "/ref", `[` + refs.String() + `]`})
	v, err := New(s, nil)
	if err != nil {
		b.Fatal(err)
	}
	v.Reset(root)
	return v, root
}

// BenchmarkCheckOneLeaf validates a one-leaf Set on a tree of 10k list
// entries (plus 10k referring entries): the common case, which must not
// pay for features the schema does not use.
func BenchmarkCheckOneLeaf(b *testing.B) {
	s := vsch(b)
	v, root := benchTree(b, s, 10000)
	cand := edit(b, s, root, op{"merge", "/ref[name=r5000]/weak", `"new"`})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Check(changeset.Compute(root, cand), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckOneLeafMustWhen is the same Set on a schema with must and
// when statements (testdata/mustwhen.yang): one interface's mtu, whose
// must reads /sys, among 10k interfaces.
func BenchmarkCheckOneLeafMustWhen(b *testing.B) {
	s := mwsch(b)
	var ifs strings.Builder
	for i := 0; i < 10000; i++ {
		if i > 0 {
			ifs.WriteByte(',')
		}
		fmt.Fprintf(&ifs, `{"name":"e%d","type":"mustwhen:eth","mtu":1500,"description":"d","sub":[{"id":1,"vlan":%d}]}`, i, i%4000)
	}
	root := edit(b, s, tree.NewRoot(s), op{"merge", "/iface", `[` + ifs.String() + `]`})
	v, err := New(s, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := v.Check(changeset.Compute(tree.NewRoot(s), root), nil); err != nil {
		b.Fatal(err)
	}
	cand := edit(b, s, root, op{"merge", "/iface[name=e5000]/mtu", `1400`})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Check(changeset.Compute(root, cand), nil); err != nil {
			b.Fatal(err)
		}
	}
}
