package routing

import (
	"fmt"
	"net/netip"
	"testing"
)

// BenchmarkLearnStep measures one learn step (LearntTable.Learn) of
// 2,000 routes (the BGP speaker's chunk) and of 500 (the engine's slice
// while a Set waits) re-announced with a new label into VPN Blue, whose
// two VRF instances already hold 100,000 learnt routes: the work the
// engine does under its lock per step of a flood, which must grow with
// the step, not with the VRF.
func BenchmarkLearnStep(b *testing.B) {
	for _, step := range []int{2000, 500} {
		b.Run(fmt.Sprintf("step=%d", step), func(b *testing.B) { benchLearnStep(b, 100_000, step) })
	}
}

func benchLearnStep(b *testing.B, vrfSize, step int) {
	comp, _ := Compute(anyToAnyModel(), Assignments{})
	tbl := NewLearntTable()
	flood := make([]Learnt, vrfSize)
	for i := range flood {
		flood[i] = learntAt(netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64 + byte(i>>16), byte(i >> 8), byte(i)}), 32).String(), 900, "64512:100")
	}
	eff, _, _ := tbl.Learn(comp, comp, tbl.Update(flood, nil), keysOf(flood))
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		at := (n * step) % vrfSize
		add := make([]Learnt, step)
		copy(add, flood[at:at+step])
		for i := range add {
			add[i].Label = 901 + uint32(n%2)
		}
		eff, _, _ = tbl.Learn(eff, comp, tbl.Update(add, nil), keysOf(add))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(step), "ns/route")
}

func keysOf(ls []Learnt) []LearntKey {
	out := make([]LearntKey, len(ls))
	for i := range ls {
		out[i] = ls[i].Key()
	}
	return out
}
