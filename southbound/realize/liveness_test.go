package realize_test

import (
	"strings"
	"testing"
	"time"

	"github.com/netready/netready/southbound/realize"
	"github.com/netready/netready/southbound/routing"
)

// addG7 adds binding g7 (10.1.1.7) on host-b to blue.
const addG7 = `{"netready-tenants:tenants": {"tenant": [{"name": "blue",
	"ports": {"port": [{"name": "g7-nic0", "host": "host-b"}]},
	"interfaces": {"interface": [{"name": "g7", "type": "untagged", "port": "g7-nic0"}]},
	"netready-l3vpn:vpns": {"vpn": [{"name": "blue", "bindings": {"binding": [{"interface": "g7", "ip-address": ["10.1.1.7"]}]}}]}}]}}`

// The engine owns the liveness decision: a binding whose instance stops
// answering leaves the routes on every backend (each holds what routing
// computes with the binding unreachable), its status says why, and it
// comes back when it answers; a binding whose instance never answered is
// left as configured.
func TestLivenessReroutes(t *testing.T) {
	r := newRigWith(t, realize.Config{ProbeEvery: 20 * time.Millisecond}, nil, "any-to-any")
	probes := func(b string) int {
		n := 0
		for _, c := range r.net.callsOf(b) {
			if c.op == "probe" && c.end != 0 {
				n++
			}
		}
		return n
	}
	eventually(t, "two probes of each backend", func() bool { return probes(vendorA) >= 2 && probes(vendorB) >= 2 })
	unreachable := func(ifaces ...string) routing.Result {
		m := model(t, r.root)
		for i := range m.VPNs {
			for j := range m.VPNs[i].Bindings {
				for _, f := range ifaces {
					if m.VPNs[i].Key() == "blue/blue" && m.VPNs[i].Bindings[j].Interface == f {
						m.VPNs[i].Bindings[j].Unreachable = true
					}
				}
			}
		}
		res, _ := routing.Compute(m, r.asg)
		return res
	}
	holds := func(what string, res routing.Result) {
		t.Helper()
		eventually(t, what, func() bool {
			return r.net.fwdState(vendorA) == wantHosts(res, vendorA) && r.net.fwdState(vendorB) == wantHosts(res, vendorB)
		})
	}
	status := func(want map[string]string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			st := statusMap(update(t, r.e))
			ok := true
			for p, v := range want {
				if !strings.Contains(st[p], v) {
					ok = false
				}
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("status never had %v", want)
			}
		}
	}
	const g3 = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/bindings/binding[interface=g3]/status"

	r.net.silence("no ARP reply", "g3")
	holds("g3 out of the routes", unreachable("g3"))
	status(map[string]string{g3 + "/oper-status": "down", g3 + "/backend[name=vendor-b]/message": "no ARP reply",
		"/tenants/tenant[name=blue]/vpns/vpn[name=blue]/status/oper-status": "degraded"})

	// A binding whose instance never answered keeps its routes.
	r.net.silence("never attached", "g7")
	r.commit(merge(t, r.root, addG7))
	n := probes(vendorB)
	eventually(t, "probes after g7", func() bool { return probes(vendorB) >= n+3 })
	holds("g7 routed, g3 not", unreachable("g3"))

	r.net.silence("", "g3")
	holds("g3 back", unreachable())
	status(map[string]string{g3 + "/oper-status": "up"})
}
