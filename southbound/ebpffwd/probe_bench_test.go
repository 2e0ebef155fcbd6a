package ebpffwd_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/ebpffwd"
	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/linuxfwd/lab"
	"github.com/netready/netready/southbound/routing"
)

// BenchmarkProbe1000Bindings: one liveness probe of 1,000 bindings in 10
// VPNs over 4 hosts and 2 backends (a driver each, called concurrently,
// as the realization core does), on either vendor, spaced by the
// engine's interval (1 s, not timed). Every guest end is up and left in
// its host's namespace: "answering", with the binding's address on it,
// so the host namespace's kernel answers each ARP probe as a VM would;
// "silent", without, so none answers. Reports ms per probe and, from the
// last probe, how many instances answered and how many were found dead.
func BenchmarkProbe1000Bindings(b *testing.B) {
	for _, vendor := range []string{linuxfwd.Kind, "ebpf-vforwarder"} {
		for _, answering := range []bool{true, false} {
			name := vendor + "/silent"
			if answering {
				name = vendor + "/answering"
			}
			b.Run(name, func(b *testing.B) { benchProbe(b, vendor, answering) })
		}
	}
}

func benchProbe(b *testing.B, vendor string, answering bool) {
	m := benchModel(1000, 10, 4)
	hosts := make(map[string]netip.Addr)
	perBackend := map[string][]string{}
	for _, h := range m.Hosts {
		hosts[h.Name] = h.Addr
		perBackend[h.Backend] = append(perBackend[h.Backend], h.Name)
	}
	l := lab.New(b, lab.RandomPrefix(), hosts)
	res, _ := routing.Compute(m, routing.Assignments{})
	probers := make(map[string]southbound.Prober)
	for be, cs := range routing.Diff(routing.Result{}, res) {
		var d interface {
			southbound.Forwarder
			southbound.Prober
		}
		if vendor == linuxfwd.Kind {
			ld, err := linuxfwd.New(l.Backend(be))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { ld.Close() })
			d = ld
		} else {
			d = ebpfDriver(b, l, be)
		}
		if err := d.Apply(context.Background(), cs); err != nil {
			b.Fatal(err)
		}
		probers[be] = d
	}
	addrs := make(map[string]netip.Addr) // by guest end alias
	for _, hv := range res.Hosts {
		for _, v := range hv.VRFs {
			for _, p := range v.Ports {
				addrs[v.Tenant+"/"+v.VPN+"/"+p.Interface] = p.Addr
			}
		}
	}
	for h := range hosts {
		guestEndsUp(b, l.HostNS(h), addrs, answering)
	}
	probeAll := func() (answers, dead int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for be, d := range probers {
			wg.Go(func() {
				got, err := d.Probe(context.Background(), perBackend[be])
				if err != nil {
					b.Error(err)
				}
				mu.Lock()
				defer mu.Unlock()
				for _, lv := range got {
					if lv.Answers {
						answers++
					} else {
						dead++
					}
				}
			})
		}
		wg.Wait()
		return answers, dead
	}
	// Warm up until what the probes find has settled: the first probes
	// open sockets or send the first requests, and linux-vforwarder
	// probes a port whose instance never answered every 8th round only.
	for range 9 {
		probeAll()
		time.Sleep(time.Second)
	}
	var answers, dead int
	var took time.Duration
	for b.Loop() {
		start := time.Now()
		answers, dead = probeAll()
		took += time.Since(start)
		b.StopTimer()
		time.Sleep(time.Second)
		b.StartTimer()
	}
	b.ReportMetric(float64(took.Microseconds())/1000/float64(b.N), "ms/probe")
	b.ReportMetric(float64(answers), "answers")
	b.ReportMetric(float64(dead), "dead")
}

// guestEndsUp sets up every guest end (a link with an alias
// "tenant/vpn/interface" that addrs knows) in namespace ns, and when
// answering gives it its binding's address, so that the namespace's
// kernel answers ARP for it.
func guestEndsUp(b *testing.B, ns string, addrs map[string]netip.Addr, answering bool) {
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
	n := 0
	for _, k := range links {
		a, ok := addrs[k.Attrs().Alias]
		if !ok || strings.HasPrefix(k.Attrs().Alias, "vnic ") {
			continue
		}
		n++
		if answering {
			ad := &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(32, 32)}, Flags: unix.IFA_F_NOPREFIXROUTE}
			if err := h.AddrAdd(k, ad); err != nil {
				b.Fatal(err)
			}
		}
		if err := h.LinkSetUp(k); err != nil {
			b.Fatal(err)
		}
	}
	if n == 0 {
		b.Fatalf("no guest ends in %s", ns)
	}
}

// BenchmarkForwardingProbed: BenchmarkForwarding's rr and tcp on
// ebpf-vforwarder (both hosts), without and with the liveness probe
// running (a socket with its filter on each vNIC, a probe every second):
// what the probe's packet taps cost the data plane.
func BenchmarkForwardingProbed(b *testing.B) {
	for _, probed := range []bool{false, true} {
		name := "unprobed"
		if probed {
			name = "probed"
		}
		b.Run(name+"/rr", func(b *testing.B) {
			ga, gb := probedLab(b, probed)
			benchRR(b, ga, gb)
		})
		b.Run(name+"/tcp", func(b *testing.B) {
			ga, gb := probedLab(b, probed)
			benchTCP(b, ga, gb)
		})
	}
}

// probedLab is forwardingLab on ebpf-vforwarder; when probed, a second
// driver per backend (given the bindings by Reconcile) probes both hosts
// every second until the benchmark ends, once both guests answered.
func probedLab(b *testing.B, probed bool) (netns.NsHandle, netns.NsHandle) {
	ga, gb, l := forwardingLab(b, [2]string{ebpffwd.Kind, ebpffwd.Kind})
	if !probed {
		return ga, gb
	}
	res, _ := routing.Compute(forwardingModel(), routing.Assignments{})
	drivers := map[string]*ebpffwd.Driver{}
	for be, host := range map[string]string{"vendor-a": "host-a", "vendor-b": "host-b"} {
		d := ebpfDriver(b, l, be)
		if _, err := d.Reconcile(context.Background(), views(res, be)); err != nil {
			b.Fatal(err)
		}
		drivers[host] = d
	}
	probe := func() int {
		answers := 0
		for host, d := range drivers {
			got, err := d.Probe(context.Background(), []string{host})
			if err != nil {
				b.Error(err)
			}
			for _, lv := range got {
				if lv.Answers {
					answers++
				}
			}
		}
		return answers
	}
	for start := time.Now(); probe() < 2; time.Sleep(100 * time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			b.Fatal("the guests never answered the probe")
		}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				probe()
			}
		}
	}()
	b.Cleanup(func() { close(done); <-stopped })
	return ga, gb
}
