package ebpffwd_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/linuxfwd/lab"
	"github.com/netready/netready/southbound/routing"
	"github.com/vishvananda/netns"
)

// benchModel is linuxfwd's (and routing's) benchmark model: nBindings
// bindings in nVPNs VPNs (one tenant each, all in 10.0.0.0/16) over
// nHosts hosts and two backends. VPN i is hub-and-spoke when i%4 == 3,
// any-to-any otherwise; when i%4 == 1 it has anycast in fail-over; every
// VPN has a static route.
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
// the realization core does), from nothing, on ebpf-vforwarder: the same
// work as linuxfwd's benchmark of that name. Reports ms per full apply;
// the reconciliation (in sync) and the teardown are not timed but
// reported.
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
	create := routing.Diff(routing.Result{}, res)
	remove := routing.Diff(res, routing.Result{})
	drivers := make(map[string]southbound.Forwarder)
	for be := range create {
		drivers[be] = ebpfDriver(b, l, be)
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
			drift, err := d.Reconcile(context.Background(), views(res, be))
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
}

// BenchmarkForwarding compares the vendors' data planes in one lab: a
// guest on host-a and one on host-b in one VPN, both hosts on the vendor
// under test (mixed: host-a on linux-vforwarder, host-b on
// ebpf-vforwarder). rr: UDP request/response round trips (b.N of them),
// reporting the median and 99th percentile; tcp: a bulk TCP stream of
// b.N MiB, reporting Mbit/s.
func BenchmarkForwarding(b *testing.B) {
	for _, vendors := range [][2]string{
		{linuxfwd.Kind, linuxfwd.Kind},
		{"ebpf-vforwarder", "ebpf-vforwarder"},
		{linuxfwd.Kind, "ebpf-vforwarder"},
	} {
		name := vendors[0]
		if vendors[1] != vendors[0] {
			name = "mixed"
		}
		b.Run(name+"/rr", func(b *testing.B) {
			ga, gb, _ := forwardingLab(b, vendors)
			benchRR(b, ga, gb)
		})
		b.Run(name+"/tcp", func(b *testing.B) {
			ga, gb, _ := forwardingLab(b, vendors)
			benchTCP(b, ga, gb)
		})
	}
}

// forwardingModel is the forwarding benchmarks' VPN: guest ga on host-a,
// gb on host-b.
func forwardingModel() routing.Model {
	return routing.Model{Hosts: twoHosts(), VPNs: []routing.VPN{{
		Tenant: "blue", Name: "blue", Policy: routing.AnyToAny,
		ImportRTs: []string{"64512:100"}, ExportRTs: []string{"64512:100"},
		Bindings: []routing.Binding{bind("ga", "host-a", 100, "10.1.1.5"), bind("gb", "host-b", 100, "10.1.1.6")},
	}}}
}

// forwardingLab builds the two-guest VPN on the vendors of host-a and
// host-b and returns the guests' namespaces and the lab.
func forwardingLab(b *testing.B, vendors [2]string) (netns.NsHandle, netns.NsHandle, *lab.Lab) {
	l := lab.New(b, lab.RandomPrefix(), map[string]netip.Addr{"host-a": ulA, "host-b": ulB})
	res, _ := routing.Compute(forwardingModel(), routing.Assignments{})
	for i, be := range []string{"vendor-a", "vendor-b"} {
		var d southbound.Forwarder
		if vendors[i] == linuxfwd.Kind {
			ld, err := linuxfwd.New(l.Backend(be))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { ld.Close() })
			d = ld
		} else {
			d = ebpfDriver(b, l, be)
		}
		if err := d.Apply(context.Background(), routing.Diff(routing.Result{}, res)[be]); err != nil {
			b.Fatal(err)
		}
	}
	ga := l.Guest("host-a", "blue/blue/ga", netip.MustParsePrefix("10.1.1.5/24"))
	gb := l.Guest("host-b", "blue/blue/gb", netip.MustParsePrefix("10.1.1.6/24"))
	if err := ga.Ping(netip.MustParseAddr("10.1.1.6")); err != nil {
		b.Fatal(err)
	}
	open := func(g *lab.Guest) netns.NsHandle {
		ns, err := netns.GetFromName(g.NS)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ns.Close() })
		return ns
	}
	return open(ga), open(gb), l
}

// listen opens a listener of network on port in ns.
func listen[T any](b *testing.B, ns netns.NsHandle, f func() (T, error)) T {
	var out T
	err := linuxfwd.InNamespace(ns, func() error {
		var err error
		out, err = f()
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func benchRR(b *testing.B, ga, gb netns.NsHandle) {
	srv := listen(b, gb, func() (*net.UDPConn, error) { return net.ListenUDP("udp", &net.UDPAddr{Port: 7000}) })
	defer srv.Close()
	go func() { // echo
		buf := make([]byte, 2048)
		for {
			n, from, err := srv.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			srv.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	cli := listen(b, ga, func() (*net.UDPConn, error) {
		return net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(10, 1, 1, 6), Port: 7000})
	})
	defer cli.Close()
	msg, buf := make([]byte, 64), make([]byte, 2048)
	rtts := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		cli.SetReadDeadline(start.Add(time.Second))
		if _, err := cli.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := cli.Read(buf); err != nil {
			b.Fatal(err)
		}
		rtts = append(rtts, time.Since(start))
	}
	slices.Sort(rtts)
	us := func(q float64) float64 { return float64(rtts[int(q*float64(len(rtts)-1))].Nanoseconds()) / 1000 }
	b.ReportMetric(us(0.5), "µs-rtt-p50")
	b.ReportMetric(us(0.99), "µs-rtt-p99")
}

func benchTCP(b *testing.B, ga, gb netns.NsHandle) {
	ln := listen(b, gb, func() (net.Listener, error) { return net.Listen("tcp", ":7001") })
	defer ln.Close()
	done := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- 0
			return
		}
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		done <- n
	}()
	c := listen(b, ga, func() (net.Conn, error) { return net.Dial("tcp", "10.1.1.6:7001") })
	chunk := make([]byte, 1<<20)
	start := time.Now()
	for b.Loop() {
		if _, err := c.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	n := <-done
	elapsed := time.Since(start)
	if n != int64(b.N)<<20 {
		b.Fatalf("received %d bytes, sent %d", n, int64(b.N)<<20)
	}
	b.ReportMetric(float64(n)*8/elapsed.Seconds()/1e6, "Mbit/s")
}
