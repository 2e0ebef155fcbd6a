package ebpffwd_test

import (
	"context"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/ebpffwd"
	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/linuxfwd/lab"
	"github.com/netready/netready/southbound/routing"
)

var (
	ulA = netip.MustParseAddr("192.0.2.1")
	ulB = netip.MustParseAddr("192.0.2.2")
)

// rig is a lab with host-a on vendor-a (linux-vforwarder) and host-b on
// vendor-b (ebpf-vforwarder): every VPN in these tests spans both
// vendors, so the two must agree on the wire.
type rig struct {
	t       *testing.T
	lab     *lab.Lab
	ebpf    *ebpffwd.Driver
	drivers map[string]southbound.Forwarder
	res     routing.Result
	asg     routing.Assignments
}

func newRig(t *testing.T) *rig {
	t.Helper()
	l := lab.New(t, lab.RandomPrefix(), map[string]netip.Addr{"host-a": ulA, "host-b": ulB})
	r := &rig{t: t, lab: l, drivers: map[string]southbound.Forwarder{}}
	a, err := linuxfwd.New(l.Backend("vendor-a"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	r.drivers["vendor-a"] = a
	r.ebpf = ebpfDriver(t, l, "vendor-b")
	r.drivers["vendor-b"] = r.ebpf
	return r
}

// ebpfBackend is the configuration of an ebpf-vforwarder backend on the
// lab's hosts.
func ebpfBackend(l *lab.Lab, name string) southbound.Backend {
	b := l.Backend(name)
	b.Driver = ebpffwd.Kind
	return b
}

// ebpfDriver opens an ebpf-vforwarder driver on the lab, closed at the
// end, when the maps it pinned for the lab's hosts are removed too.
func ebpfDriver(t testing.TB, l *lab.Lab, name string) *ebpffwd.Driver {
	t.Helper()
	d, err := ebpffwd.New(ebpfBackend(l, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Close()
		for _, h := range []string{"host-a", "host-b", "host-0", "host-1", "host-2", "host-3"} {
			os.RemoveAll(ebpffwd.PinDir(ebpffwd.DefaultBPFFS, l.Prefix(), h))
		}
	})
	return d
}

func twoHosts() []routing.Host {
	return []routing.Host{
		{Name: "host-a", Backend: "vendor-a", Addr: ulA},
		{Name: "host-b", Backend: "vendor-b", Addr: ulB},
	}
}

func bind(iface, host string, pref uint32, addrs ...string) routing.Binding {
	b := routing.Binding{Interface: iface, Host: host, Preference: pref, AdminUp: true}
	for _, a := range addrs {
		b.Addrs = append(b.Addrs, netip.MustParseAddr(a))
	}
	return b
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// apply computes m, applies the diff from the last result on every
// backend and keeps the result.
func (r *rig) apply(m routing.Model) routing.Result {
	r.t.Helper()
	res, asg := routing.Compute(m, r.asg)
	r.asg = asg
	return r.applyResult(res)
}

// applyResult applies the diff from the last result to res (a Result
// tests may edit: VNIC and VLAN of ports) and keeps it.
func (r *rig) applyResult(res routing.Result) routing.Result {
	r.t.Helper()
	for b, changes := range routing.Diff(r.res, res) {
		if err := r.drivers[b].Apply(ctx(r.t), changes); err != nil {
			r.t.Fatalf("apply on %s: %v", b, err)
		}
	}
	r.res = res
	return res
}

// views returns the host views of backend b in res.
func views(res routing.Result, b string) []*routing.HostView {
	var out []*routing.HostView
	for _, h := range res.Hosts {
		if h.Backend == b {
			out = append(out, h)
		}
	}
	slices.SortFunc(out, func(x, y *routing.HostView) int { return strings.Compare(x.Host, y.Host) })
	return out
}

// reconcile reconciles every backend with res and returns the drift.
func (r *rig) reconcile(res routing.Result) []string {
	r.t.Helper()
	var all []string
	for _, b := range []string{"vendor-a", "vendor-b"} {
		drift, err := r.drivers[b].Reconcile(ctx(r.t), views(res, b))
		if err != nil {
			r.t.Fatalf("reconcile %s: %v", b, err)
		}
		all = append(all, drift...)
	}
	return all
}

// guest takes the port of tenant/vpn/iface on host (its own vNIC).
func (r *rig) guest(host, tenant, vpn, iface string, addrs ...string) *lab.Guest {
	r.t.Helper()
	var ps []netip.Prefix
	for _, a := range addrs {
		ps = append(ps, netip.MustParsePrefix(a))
	}
	return r.lab.Guest(host, linuxfwd.PortAlias(tenant, vpn, iface), ps...)
}

func mustPing(t *testing.T, g *lab.Guest, dst string) {
	t.Helper()
	if err := g.Ping(netip.MustParseAddr(dst)); err != nil {
		t.Error(err)
	}
}

func mustNotPing(t *testing.T, g *lab.Guest, dst string) {
	t.Helper()
	if err := g.Ping(netip.MustParseAddr(dst)); err == nil {
		t.Errorf("%s reaches %s; it must not", g.Alias, dst)
	}
}
