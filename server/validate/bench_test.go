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

// BenchmarkCheckCreatedObjects validates a Set creating 3,000 objects
// with rules on them and on objects nested in them (the shape of a bulk
// Set, which creates a tenant holding 30,000 objects): what noting the
// rules of every created object and leaf costs.
func BenchmarkCheckCreatedObjects(b *testing.B) {
	s := vsch(b)
	ok := func(*tree.Node, []*tree.Node) error { return nil }
	v, err := New(s, []Rule{
		{Path: "/dev", Name: "dev", Check: ok, Reads: []string{"note", "auth/deep"}},
		{Path: "/dev/auth", Name: "auth", Check: ok},
		{Path: "/grp", Name: "grp", Check: ok, Reads: []string{"member/id"}},
		{Path: "/grp/member", Name: "member", Check: ok},
	})
	if err != nil {
		b.Fatal(err)
	}
	var devs, grps strings.Builder
	for i := range 2000 {
		if i > 0 {
			devs.WriteByte(',')
		}
		fmt.Fprintf(&devs, `{"name":"d%d","hostname":"h","note":"n","auth":{"method":"pw","deep":{"secret":"s"}},"a":"x"}`, i)
	}
	for i := range 1000 {
		if i > 0 {
			grps.WriteByte(',')
		}
		fmt.Fprintf(&grps, `{"name":"g%d","member":[{"id":1},{"id":2},{"id":3}],"need":["n"]}`, i)
	}
	root := tree.NewRoot(s)
	v.Reset(root)
	cs := changeset.Compute(root, edit(b, s, root, op{"merge", "/dev", `[` + devs.String() + `]`}, op{"merge", "/grp", `[` + grps.String() + `]`}))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Check(cs, nil); err != nil {
			b.Fatal(err)
		}
	}
}
