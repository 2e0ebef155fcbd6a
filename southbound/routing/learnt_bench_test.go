package routing

import (
	"fmt"
	"net/netip"
	"testing"
)

// BenchmarkLearnStep measures one learn step (LearntTable.Learn) of
// 2,000 routes (the BGP speaker's chunk) and of 250 (a slice of the
// engine's while a Set waits) re-announced with a new label into VPN
// Blue, whose two VRF instances already hold 100,000 learnt routes: the
// work the engine does under its lock per step of a flood, which must
// grow with the step, not with the VRF.
func BenchmarkLearnStep(b *testing.B) {
	for _, step := range []int{2000, 250} {
		b.Run(fmt.Sprintf("step=%d", step), func(b *testing.B) { benchLearnStep(b, 100_000, step) })
	}
}

func benchLearnStep(b *testing.B, vrfSize, step int) {
	f := newFlood(vrfSize)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		f.step(n, step)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(step), "ns/route")
}

// flood is VPN Blue's two VRF instances holding size learnt routes, and
// the table that placed them.
type flood struct {
	tbl    *LearntTable
	comp   Result
	eff    Result
	routes []Learnt
}

func newFlood(size int) *flood {
	comp, _ := Compute(anyToAnyModel(), Assignments{})
	f := &flood{tbl: NewLearntTable(), comp: comp, routes: make([]Learnt, size)}
	for i := range f.routes {
		f.routes[i] = learntAt(netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64 + byte(i>>16), byte(i >> 8), byte(i)}), 32).String(), 900, "64512:100")
	}
	f.eff, _, _ = f.tbl.Learn(comp, comp, f.tbl.Update(f.routes, nil), keysOf(f.routes))
	return f
}

// step re-announces the n-th run of size routes with another label.
func (f *flood) step(n, size int) {
	at := (n * size) % len(f.routes)
	add := make([]Learnt, size)
	copy(add, f.routes[at:at+size])
	for i := range add {
		add[i].Label = 901 + uint32(n%2)
	}
	f.eff, _, _ = f.tbl.Learn(f.eff, f.comp, f.tbl.Update(add, nil), keysOf(add))
}

func keysOf(ls []Learnt) []LearntKey {
	out := make([]LearntKey, len(ls))
	for i := range ls {
		out[i] = ls[i].Key()
	}
	return out
}
