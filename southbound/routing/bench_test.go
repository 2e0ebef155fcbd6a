package routing

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// benchModel builds nBindings bindings in nVPNs VPNs (one tenant each) over
// nHosts hosts. Every VPN uses the same address space (10.0.0.0/16), so
// addresses overlap across VPNs. VPN i is hub-and-spoke when i%4 == 3
// (binding 0 is the hub, with a default route via it), any-to-any
// otherwise; when i%4 == 1 it has anycast in fail-over with every tenth
// binding sharing the previous one's address; any-to-any VPNs have a static
// route via bindings 0 and 2.
func benchModel(nBindings, nVPNs, nHosts int) Model {
	var m Model
	for h := range nHosts {
		m.Hosts = append(m.Hosts, Host{Name: fmt.Sprintf("host-%d", h), Backend: fmt.Sprintf("backend-%d", h%2)})
	}
	addr := func(j int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, byte(j / 250), byte(j%250 + 1)}) }
	per := nBindings / nVPNs
	for i := range nVPNs {
		v := VPN{Tenant: fmt.Sprintf("tenant-%03d", i), Name: "vpn"}
		n := per
		if i == nVPNs-1 {
			n = nBindings - per*(nVPNs-1)
		}
		if i%4 == 3 {
			v.Policy = HubAndSpoke
			v.HubRT, v.SpokeRT = fmt.Sprintf("64512:%d", 2000+i), fmt.Sprintf("64512:%d", 3000+i)
			v.StaticRoutes = []StaticRoute{{Prefix: netip.MustParsePrefix("0.0.0.0/0"), NextHops: []NextHop{{Addr: addr(0), Preference: 100}}}}
		} else {
			rt := fmt.Sprintf("64512:%d", 1000+i)
			v.ImportRTs, v.ExportRTs = []string{rt}, []string{rt}
			v.StaticRoutes = []StaticRoute{{Prefix: netip.MustParsePrefix("192.168.0.0/16"),
				NextHops: []NextHop{{Addr: addr(0), Preference: 100}, {Addr: addr(2), Preference: 100}}}}
		}
		if i%4 == 1 {
			v.Anycast, v.AnycastMode = true, FailOver
		}
		for j := range n {
			a := j
			if v.Anycast && j%10 == 1 {
				a = j - 1
			}
			b := Binding{Interface: fmt.Sprintf("if-%04d", j), Host: m.Hosts[j%nHosts].Name,
				Addrs: []netip.Addr{addr(a)}, Preference: uint32(100 + j%3), AdminUp: true}
			if v.Policy == HubAndSpoke {
				b.Role = RoleSpoke
				if j == 0 {
					b.Role = RoleHub
				}
			}
			v.Bindings = append(v.Bindings, b)
		}
		m.VPNs = append(m.VPNs, v)
	}
	return m
}

// BenchmarkCompute10k: 10,000 bindings in 100 VPNs over 4 hosts, computed
// with the prior assignments (the steady state). Target: ≤ 200 ms per
// Compute.
func BenchmarkCompute10k(b *testing.B) {
	m := benchModel(10000, 100, 4)
	res, prior := Compute(m, Assignments{})
	if len(res.Warnings) != 0 {
		b.Fatalf("warnings: %q", res.Warnings[:min(5, len(res.Warnings))])
	}
	vrfs, routes := 0, 0
	for _, hv := range allVRFs(res) {
		vrfs++
		routes += len(hv.VRF.Routes)
	}
	b.ReportAllocs()
	n := 0
	start := time.Now()
	for b.Loop() {
		Compute(m, prior)
		n++
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(n), "ms/op")
	b.ReportMetric(float64(vrfs), "vrfs")
	b.ReportMetric(float64(routes), "routes")
}

// BenchmarkDiff10k: the diff after taking one VPN's bindings down on the
// 10k model.
func BenchmarkDiff10k(b *testing.B) {
	m := benchModel(10000, 100, 4)
	before, prior := Compute(m, Assignments{})
	for j := range m.VPNs[0].Bindings {
		m.VPNs[0].Bindings[j].AdminUp = false
	}
	after, _ := Compute(m, prior)
	b.ReportAllocs()
	for b.Loop() {
		Diff(before, after)
	}
}
