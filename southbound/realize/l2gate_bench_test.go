package realize_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// l2Tenant is a tenant ("l2t") with n ports on host-a, an interface on
// each, and n/10 L2 networks of 10 bindings.
func l2Tenant(n int) string { return l2Tenants(1, n) }

// l2Tenants is k tenants like l2Tenant, the first "l2t", then "l2t1"...
func l2Tenants(k, n int) string {
	var tenants []string
	for t := range k {
		var ports, ifaces, nets []string
		for i := range n {
			ports = append(ports, fmt.Sprintf(`{"name":"p%d","host":"host-a"}`, i))
			ifaces = append(ifaces, fmt.Sprintf(`{"name":"i%d","type":"untagged","port":"p%d"}`, i, i))
		}
		for k := range n / 10 {
			var bs []string
			for j := range 10 {
				bs = append(bs, fmt.Sprintf(`{"interface":"i%d"}`, k*10+j))
			}
			nets = append(nets, fmt.Sprintf(`{"name":"n%d","bindings":{"binding":[%s]}}`, k, strings.Join(bs, ",")))
		}
		name := "l2t"
		if t > 0 {
			name = fmt.Sprint("l2t", t)
		}
		tenants = append(tenants, fmt.Sprintf(`{"name":%q,"ports":{"port":[%s]},"interfaces":{"interface":[%s]},
		"netready-l2network:l2-networks":{"l2-network":[%s]}}`, name, strings.Join(ports, ","), strings.Join(ifaces, ","), strings.Join(nets, ",")))
	}
	return `{"netready-tenants:tenants":{"tenant":[` + strings.Join(tenants, ",") + `]}}`
}

// BenchmarkL3SetAmongL2Networks: one L3 binding's admin-state flips
// (Prepare and Commit on an engine over fake forwarders) in a tree that
// also holds 1,000 L2 networks of 10 bindings each, which the flip does
// not touch.
func BenchmarkL3SetAmongL2Networks(b *testing.B) {
	flipAmongL2(b, l2Tenant(10000), `{"netready-tenants:tenants":{"tenant":[{"name":"blue","netready-l3vpn:vpns":{"vpn":[{"name":"blue","bindings":{"binding":[{"interface":"g1","admin-state":%q}]}}]}}]}}`)
}

// BenchmarkL2SetAmongL2Networks: one binding of one L2 network flips;
// 1,000 L2 networks of 10 bindings each, in 100 tenants ("one" in one
// tenant, the worst case: a change costs its tenant's L2 networks).
func BenchmarkL2SetAmongL2Networks(b *testing.B) {
	b.Run("hundred", func(b *testing.B) { flipAmongL2(b, l2Tenants(100, 100), l2Flip) })
	b.Run("one", func(b *testing.B) { flipAmongL2(b, l2Tenant(10000), l2Flip) })
}

const l2Flip = `{"netready-tenants:tenants":{"tenant":[{"name":"l2t","netready-l2network:l2-networks":{"l2-network":[{"name":"n7","bindings":{"binding":[{"interface":"i70","admin-state":%q}]}}]}}]}}`

// flipAmongL2 times Prepare and Commit of flip (a document with one %q
// for an admin-state), alternately down and up, on the any-to-any
// scenario with doc merged.
func flipAmongL2(b *testing.B, doc, flip string) {
	r := newRig(b, "any-to-any", doc)
	var wall time.Duration
	n := 0
	runtime.GC()
	for b.Loop() {
		b.StopTimer()
		next := merge(b, r.root, fmt.Sprintf(flip, []string{"down", "up"}[n%2]))
		b.StartTimer()
		t0 := time.Now()
		p, err := r.prepare(next)
		if err != nil {
			b.Fatal(err)
		}
		p.Commit()
		wall += time.Since(t0)
		r.root = next
		n++
	}
	b.ReportMetric(float64(wall.Microseconds())/1000/float64(n), "ms/op")
}
