package realize_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// l2Tenant is a tenant with n ports on host-a, an interface on each, and
// n/10 L2 networks of 10 bindings.
func l2Tenant(n int) string {
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
	return fmt.Sprintf(`{"netready-tenants:tenants":{"tenant":[{"name":"l2t","ports":{"port":[%s]},"interfaces":{"interface":[%s]},
		"netready-l2network:l2-networks":{"l2-network":[%s]}}]}}`, strings.Join(ports, ","), strings.Join(ifaces, ","), strings.Join(nets, ","))
}

// BenchmarkL3SetAmongL2Networks: one L3 binding's admin-state flips
// (Prepare and Commit on an engine over fake forwarders) in a tree that
// also holds 1,000 L2 networks of 10 bindings each, which the flip does
// not touch.
func BenchmarkL3SetAmongL2Networks(b *testing.B) {
	r := newRig(b, "any-to-any", l2Tenant(10000))
	const flip = `{"netready-tenants:tenants":{"tenant":[{"name":"blue","netready-l3vpn:vpns":{"vpn":[{"name":"blue","bindings":{"binding":[{"interface":"g1","admin-state":%q}]}}]}}]}}`
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
