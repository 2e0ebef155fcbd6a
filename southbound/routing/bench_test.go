package routing

import (
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"syscall"
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

// loadModel mirrors the load tenants of the server's SetOneLeaf benchmark:
// tenants load0.. with one any-to-any VPN "v" each, its own route target
// (64512:1, 64512:2...) or all the same one (shared), and per bindings on
// host-a, one address each.
func loadModel(tenants, per int, shared bool) Model {
	m := Model{Hosts: []Host{{Name: "host-a", Backend: "a"}, {Name: "host-b", Backend: "b"}}}
	for t := range tenants {
		rt := fmt.Sprintf("64512:%d", t+1)
		if shared {
			rt = "64512:1"
		}
		v := VPN{Tenant: fmt.Sprintf("load%d", t), Name: "v", ImportRTs: []string{rt}, ExportRTs: []string{rt}}
		for i := range per {
			v.Bindings = append(v.Bindings, Binding{Interface: fmt.Sprintf("i%05d", i), Host: "host-a", AdminUp: true,
				Addrs: []netip.Addr{netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})}})
		}
		m.VPNs = append(m.VPNs, v)
	}
	return m
}

// flipModels returns the 3 × 10,000-binding load model and a copy with
// load0's first binding admin down (sharing every other VPN).
func flipModels(shared bool) (up, down Model) {
	up = loadModel(3, 10000, shared)
	down = Model{Hosts: up.Hosts, VPNs: slices.Clone(up.VPNs)}
	down.VPNs[0].Bindings = slices.Clone(down.VPNs[0].Bindings)
	down.VPNs[0].Bindings[0].AdminUp = false
	return up, down
}

// benchFlip measures one binding's admin-state flip, alternately down and
// up, with apply (which returns the number of changes it produced).
func benchFlip(b *testing.B, shared bool, apply func(m Model) int) {
	up, down := flipModels(shared)
	b.ReportAllocs()
	n, changes := 0, 0
	runtime.GC() // the set-up's garbage is not the change's cost
	start, cpu := time.Now(), cpuTime()
	for b.Loop() {
		m := down
		if n%2 == 1 {
			m = up
		}
		changes += apply(m)
		n++
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(n), "ms/op")
	// The machine is shared: CPU time (GC included) is steadier than
	// wall time.
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(n), "cpu-ms/op")
	b.ReportMetric(float64(changes)/float64(n), "changes/op")
}

// cpuTime returns the CPU time the process used so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func countChanges(d map[string][]Change) int {
	n := 0
	for _, cs := range d {
		n += len(cs)
	}
	return n
}

// BenchmarkFlip30kFull: Compute and Diff of the whole network, as the
// engine did before Incremental.
func BenchmarkFlip30kFull(b *testing.B) {
	up, _ := flipModels(false)
	res, asg := Compute(up, Assignments{})
	benchFlip(b, false, func(m Model) int {
		next, nextAsg := Compute(m, asg)
		d := Diff(res, next)
		res, asg = next, nextAsg
		return countChanges(d)
	})
}

// BenchmarkFlip30kBinding: Incremental told which binding changed (what
// the desired package reports): only its prefix and port are recomputed.
func BenchmarkFlip30kBinding(b *testing.B) {
	up, _ := flipModels(false)
	x := Options{}.NewIncremental(up, Assignments{})
	t := Touched{Bindings: []BindingRef{{VPN: "load0/v", Interface: "i00000"}}}
	benchFlip(b, false, func(m Model) int {
		_, d, _ := x.Apply(m, t)
		return countChanges(d)
	})
}

// BenchmarkFlip30kVPN: Incremental told only which VPN changed: the
// 10,000-binding VPN is recomputed whole.
func BenchmarkFlip30kVPN(b *testing.B) {
	up, _ := flipModels(false)
	x := Options{}.NewIncremental(up, Assignments{})
	t := Touched{VPNs: []string{"load0/v"}}
	benchFlip(b, false, func(m Model) int {
		_, d, _ := x.Apply(m, t)
		return countChanges(d)
	})
}

// BenchmarkFlip30kBindingSharedRT: as Flip30kBinding, but the three VPNs
// share one route target (as the server benchmark's tenants did), so the
// prefix is recomputed in all three VRFs of 30,000 routes each.
func BenchmarkFlip30kBindingSharedRT(b *testing.B) {
	up, _ := flipModels(true)
	x := Options{}.NewIncremental(up, Assignments{})
	t := Touched{Bindings: []BindingRef{{VPN: "load0/v", Interface: "i00000"}}}
	benchFlip(b, true, func(m Model) int {
		_, d, _ := x.Apply(m, t)
		return countChanges(d)
	})
}
