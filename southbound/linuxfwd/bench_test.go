package linuxfwd_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/linuxfwd/lab"
	"github.com/netready/netready/southbound/routing"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// benchModel is routing's benchmark model: nBindings bindings in nVPNs
// VPNs (one tenant each, all in 10.0.0.0/16) over nHosts hosts and two
// backends. VPN i is hub-and-spoke when i%4 == 3 (binding 0 is the hub,
// with a default route via it), any-to-any otherwise; when i%4 == 1 it has
// anycast in fail-over with every tenth binding sharing the previous one's
// address; any-to-any VPNs have a static route via bindings 0 and 2.
func benchModel(nBindings, nVPNs, nHosts int) routing.Model {
	var m routing.Model
	for h := range nHosts {
		m.Hosts = append(m.Hosts, routing.Host{
			Name: fmt.Sprintf("host-%d", h), Backend: fmt.Sprintf("backend-%d", h%2),
			Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(h + 1)}),
		})
	}
	addr := func(j int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, byte(j / 250), byte(j%250 + 1)}) }
	per := nBindings / nVPNs
	for i := range nVPNs {
		v := routing.VPN{Tenant: fmt.Sprintf("tenant-%03d", i), Name: "vpn"}
		n := per
		if i == nVPNs-1 {
			n = nBindings - per*(nVPNs-1)
		}
		if i%4 == 3 {
			v.Policy = routing.HubAndSpoke
			v.HubRT, v.SpokeRT = fmt.Sprintf("64512:%d", 2000+i), fmt.Sprintf("64512:%d", 3000+i)
			v.StaticRoutes = []routing.StaticRoute{{Prefix: netip.MustParsePrefix("0.0.0.0/0"), NextHops: []routing.NextHop{{Addr: addr(0), Preference: 100}}}}
		} else {
			rt := fmt.Sprintf("64512:%d", 1000+i)
			v.ImportRTs, v.ExportRTs = []string{rt}, []string{rt}
			v.StaticRoutes = []routing.StaticRoute{{Prefix: netip.MustParsePrefix("192.168.0.0/16"),
				NextHops: []routing.NextHop{{Addr: addr(0), Preference: 100}, {Addr: addr(2), Preference: 100}}}}
		}
		if i%4 == 1 {
			v.Anycast, v.AnycastMode = true, routing.FailOver
		}
		for j := range n {
			a := j
			if v.Anycast && j%10 == 1 {
				a = j - 1
			}
			b := routing.Binding{Interface: fmt.Sprintf("if-%04d", j), Host: m.Hosts[j%nHosts].Name,
				Addrs: []netip.Addr{addr(a)}, Preference: uint32(100 + j%3), AdminUp: true}
			if v.Policy == routing.HubAndSpoke {
				b.Role = routing.RoleSpoke
				if j == 0 {
					b.Role = routing.RoleHub
				}
			}
			v.Bindings = append(v.Bindings, b)
		}
		m.VPNs = append(m.VPNs, v)
	}
	return m
}

// BenchmarkApply1000Bindings: the full apply of 1,000 bindings in 10 VPNs
// over 4 hosts and 2 backends (a driver each, applying concurrently, as
// the realization core does), from nothing. Reports ms per full apply,
// and what it realizes; the teardown is not timed but reported.
func BenchmarkApply1000Bindings(b *testing.B) {
	m := benchModel(1000, 10, 4)
	hosts := make(map[string]netip.Addr)
	for _, h := range m.Hosts {
		hosts[h.Name] = h.Addr
	}
	l := lab.New(b, lab.RandomPrefix(), hosts)
	res, _ := routing.Compute(m, routing.Assignments{})
	if len(res.Warnings) != 0 {
		b.Fatalf("warnings: %q", res.Warnings)
	}
	vrfs, ports, routes := 0, 0, 0
	for _, hv := range res.Hosts {
		for _, v := range hv.VRFs {
			vrfs++
			ports += len(v.Ports)
			routes += len(v.Routes)
		}
	}
	create := routing.Diff(routing.Result{}, res)
	remove := routing.Diff(res, routing.Result{})
	drivers := make(map[string]*linuxfwd.Driver)
	for be := range create {
		d, err := linuxfwd.New(l.Backend(be))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { d.Close() })
		drivers[be] = d
	}
	applyAll := func(changes map[string][]routing.Change) {
		var wg sync.WaitGroup
		errs := make(chan error, len(changes))
		for be, cs := range changes {
			wg.Go(func() {
				if err := drivers[be].Apply(context.Background(), cs); err != nil {
					errs <- fmt.Errorf("%s: %w", be, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}

	var applyT, reconcileT, removeT time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		applyAll(create)
		applyT += time.Since(start)

		b.StopTimer()
		start = time.Now()
		for be, d := range drivers {
			var hvs []*routing.HostView
			for _, hv := range res.Hosts {
				if hv.Backend == be {
					hvs = append(hvs, hv)
				}
			}
			drift, err := d.Reconcile(context.Background(), hvs)
			if err != nil || len(drift) != 0 {
				b.Fatalf("reconcile %s: %v, drift %v", be, err, drift[:min(5, len(drift))])
			}
		}
		reconcileT += time.Since(start)
		start = time.Now()
		applyAll(remove)
		removeT += time.Since(start)
		b.StartTimer()
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(ms(applyT), "ms/apply")
	b.ReportMetric(ms(reconcileT), "ms/reconcile-in-sync")
	b.ReportMetric(ms(removeT), "ms/remove")
	b.ReportMetric(float64(vrfs), "vrfs")
	b.ReportMetric(float64(ports), "ports")
	b.ReportMetric(float64(routes), "routes")
}

// BenchmarkCounters1000Bindings and BenchmarkProbe1000Bindings: the
// counters, or one liveness probe, of 1,000 bindings in 10 VPNs over 4
// hosts and 2 backends (a driver each, called concurrently, as the
// realization core does), read from the kernel. For the probe every
// guest end is up (carrier, no instance behind it), so each port gets
// its neighbour update and its entry goes FAILED.
func BenchmarkCounters1000Bindings(b *testing.B) {
	drivers, perBackend, _ := realized1000(b)
	for b.Loop() {
		if n := callAll(b, drivers, perBackend, func(d *linuxfwd.Driver, hosts []string) (int, error) {
			m, err := d.Counters(context.Background(), hosts)
			return len(m), err
		}); n != 1000 {
			b.Fatalf("%d ports counted, want 1000", n)
		}
	}
}

func BenchmarkProbe1000Bindings(b *testing.B) {
	drivers, perBackend, l := realized1000(b)
	for _, hs := range perBackend {
		for _, h := range hs {
			guestEndsUp(b, l.HostNS(h), l.Prefix()+"g")
		}
	}
	dead := 0
	for b.Loop() {
		dead = callAll(b, drivers, perBackend, func(d *linuxfwd.Driver, hosts []string) (int, error) {
			m, err := d.Probe(context.Background(), hosts)
			return len(m), err
		})
	}
	b.ReportMetric(float64(dead), "dead")
}

// realized1000 applies benchModel(1000, 10, 4) on a lab and returns its
// drivers and each backend's hosts.
func realized1000(b *testing.B) (map[string]*linuxfwd.Driver, map[string][]string, *lab.Lab) {
	m := benchModel(1000, 10, 4)
	hosts := make(map[string]netip.Addr)
	perBackend := map[string][]string{}
	for _, h := range m.Hosts {
		hosts[h.Name] = h.Addr
		perBackend[h.Backend] = append(perBackend[h.Backend], h.Name)
	}
	l := lab.New(b, lab.RandomPrefix(), hosts)
	res, _ := routing.Compute(m, routing.Assignments{})
	drivers := make(map[string]*linuxfwd.Driver)
	for be, cs := range routing.Diff(routing.Result{}, res) {
		d, err := linuxfwd.New(l.Backend(be))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { d.Close() })
		if err := d.Apply(context.Background(), cs); err != nil {
			b.Fatal(err)
		}
		drivers[be] = d
	}
	return drivers, perBackend, l
}

// callAll calls f on every driver concurrently with its hosts and
// returns the sum of what they return.
func callAll(b *testing.B, drivers map[string]*linuxfwd.Driver, perBackend map[string][]string, f func(*linuxfwd.Driver, []string) (int, error)) int {
	var wg sync.WaitGroup
	got := make(chan int, len(drivers))
	for be, d := range drivers {
		wg.Go(func() {
			n, err := f(d, perBackend[be])
			if err != nil {
				b.Error(err)
			}
			got <- n
		})
	}
	wg.Wait()
	close(got)
	total := 0
	for n := range got {
		total += n
	}
	return total
}

// guestEndsUp sets up every link of namespace ns whose name starts with
// prefix.
func guestEndsUp(b *testing.B, ns, prefix string) {
	fd, err := netns.GetFromName(ns)
	if err != nil {
		b.Fatal(err)
	}
	defer fd.Close()
	h, err := netlink.NewHandleAt(fd, unix.NETLINK_ROUTE)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range links {
		if strings.HasPrefix(k.Attrs().Name, prefix) {
			if err := h.LinkSetUp(k); err != nil {
				b.Fatal(err)
			}
		}
	}
}
