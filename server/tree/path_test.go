package tree

import "testing"

// BenchmarkChainString measures writing the canonical path of a changed
// object, which Diff's consumers (rows, realization, rules) do for every
// object a transaction touches: a two-key entry below a one-key entry.
func BenchmarkChainString(b *testing.B) {
	sch := tsch(b)
	root := load(b, sch, `{"t:top":{"item":[{"id":1,"sub":[{"a":"s=t]u","b":1}]}]}}`)
	var chain []*Node
	Diff(NewRoot(sch), root, func(c []*Node, _, n *Node) bool {
		if n.isEntry() && n.schema.Name == "sub" {
			chain = append([]*Node(nil), c...)
		}
		return true
	})
	if len(chain) == 0 {
		b.Fatal("no sub entry")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = ChainString(chain)
	}
	b.ReportMetric(float64(len(ChainString(chain))), "bytes/path")
}
