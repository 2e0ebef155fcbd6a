package linuxfwd_test

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/linuxfwd/lab"
	"github.com/netready/netready/southbound/routing"
)

var (
	ulA = netip.MustParseAddr("192.0.2.1")
	ulB = netip.MustParseAddr("192.0.2.2")
)

// rig is a lab with hosts host-a (backend vendor-a) and host-b (backend
// vendor-b), one driver per backend, and the last applied Result.
type rig struct {
	t       *testing.T
	lab     *lab.Lab
	drivers map[string]*linuxfwd.Driver
	res     routing.Result
	asg     routing.Assignments
}

func newRig(t *testing.T) *rig {
	t.Helper()
	l := lab.New(t, lab.RandomPrefix(), map[string]netip.Addr{"host-a": ulA, "host-b": ulB})
	r := &rig{t: t, lab: l, drivers: map[string]*linuxfwd.Driver{}}
	for _, b := range []string{"vendor-a", "vendor-b"} {
		r.drivers[b] = r.driver(b)
	}
	return r
}

// driver opens a driver for backend b on the lab, closed at the end.
func (r *rig) driver(b string) *linuxfwd.Driver {
	r.t.Helper()
	d, err := linuxfwd.New(r.lab.Backend(b))
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { d.Close() })
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

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// compute computes m with the rig's assignments (kept).
func (r *rig) compute(m routing.Model) routing.Result {
	res, asg := routing.Compute(m, r.asg)
	r.asg = asg
	return res
}

// apply computes m, applies the diff from the last result on every
// backend and keeps the result.
func (r *rig) apply(m routing.Model) routing.Result {
	r.t.Helper()
	res := r.compute(m)
	r.applyDiff(r.res, res)
	r.res = res
	return res
}

func (r *rig) applyDiff(before, after routing.Result) {
	r.t.Helper()
	for b, changes := range routing.Diff(before, after) {
		if err := r.drivers[b].Apply(ctx(r.t), changes); err != nil {
			r.t.Fatalf("apply on %s: %v", b, err)
		}
	}
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

// guest takes the port of tenant/vpn/iface on host.
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

// label returns the label of the VRF id on host in res.
func label(t *testing.T, res routing.Result, host, id string) uint32 {
	t.Helper()
	v := res.Hosts[host].VRF(id)
	if v == nil {
		t.Fatalf("no VRF %s on %s", id, host)
	}
	return v.Label
}
