package bgp

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/netready/netready/southbound/routing"
)

func hop(kind routing.HopKind, host, addr string, label, pref uint32) routing.Hop {
	return routing.Hop{Kind: kind, Host: host, VRF: "t/v", Interface: "i", Addr: netip.MustParseAddr(addr), Label: label, Preference: pref}
}

func hostView(name, underlay string, routes ...routing.Route) *routing.HostView {
	return &routing.HostView{Host: name, Addr: netip.MustParseAddr(underlay), VRFs: []routing.VRF{{
		ID: "t/v", Label: 30, ExportRTs: []string{"64512:1"}, Routes: routes,
	}}}
}

func route(prefix string, hops ...routing.Hop) routing.Route {
	return routing.Route{Prefix: netip.MustParsePrefix(prefix), NextHops: hops}
}

// Export announces each binding's host route from the host it is bound
// on, with an RD per VRF instance per host: an anycast address bound on
// two hosts gives two routes. A static route is announced through its
// preferred local next hop; remote hops and IPv6 are not exported.
func TestExport(t *testing.T) {
	anyA, anyB := hop(routing.HopLocal, "a", "10.0.0.9", 40, 10), hop(routing.HopRemote, "b", "10.0.0.9", 41, 20)
	res := routing.Result{Hosts: map[string]*routing.HostView{
		"a": hostView("a", "192.0.2.1",
			route("10.0.0.9/32", anyA, anyB),
			route("10.0.0.5/32", hop(routing.HopLocal, "a", "10.0.0.5", 42, 100), hop(routing.HopLocal, "a", "10.0.0.5", 43, 200)),
			route("10.9.0.0/16", hop(routing.HopLocal, "a", "10.0.0.5", 42, 100)), // static
			route("2001:db8::1/128", hop(routing.HopLocal, "a", "2001:db8::1", 44, 100)),
		),
		"b": hostView("b", "192.0.2.2",
			route("10.0.0.9/32", hop(routing.HopLocal, "b", "10.0.0.9", 41, 20), hop(routing.HopRemote, "a", "10.0.0.9", 40, 10)),
		),
	}}
	got, skipped := Export(res)
	want := []Route{
		{RD: "192.0.2.1:30", Prefix: netip.MustParsePrefix("10.0.0.5/32"), Label: 42, NextHop: netip.MustParseAddr("192.0.2.1"), RTs: []string{"64512:1"}, MED: 100},
		{RD: "192.0.2.1:30", Prefix: netip.MustParsePrefix("10.0.0.9/32"), Label: 40, NextHop: netip.MustParseAddr("192.0.2.1"), RTs: []string{"64512:1"}, MED: 10},
		{RD: "192.0.2.2:30", Prefix: netip.MustParsePrefix("10.0.0.9/32"), Label: 41, NextHop: netip.MustParseAddr("192.0.2.2"), RTs: []string{"64512:1"}, MED: 20},
		{RD: "192.0.2.1:30", Prefix: netip.MustParsePrefix("10.9.0.0/16"), Label: 42, NextHop: netip.MustParseAddr("192.0.2.1"), RTs: []string{"64512:1"}, MED: 100},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d routes %v, want %v", len(got), got, want)
	}
	for _, w := range want {
		if g, ok := got[w.key()]; !ok || !same(g, w) {
			t.Errorf("%s: got %+v, want %+v", w.key(), g, w)
		}
	}
	if len(skipped) != 1 || !strings.Contains(skipped[0], "2001:db8::1/128") {
		t.Errorf("skipped %v, want the IPv6 route", skipped)
	}
}

// Every exported route becomes a GoBGP path; a route target GoBGP cannot
// read is an error naming it, not a route without it.
func TestVPNPath(t *testing.T) {
	r := Route{RD: "192.0.2.1:30", Prefix: netip.MustParsePrefix("10.0.0.5/32"), Label: 42, NextHop: netip.MustParseAddr("192.0.2.1"), RTs: []string{"64512:1", "192.0.2.1:7"}}
	p, err := vpnPath(r)
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Nlri.String(); !strings.Contains(s, "192.0.2.1:30") || !strings.Contains(s, "10.0.0.5/32") {
		t.Errorf("NLRI %s", s)
	}
	r.RTs = slices.Concat(r.RTs, []string{"not-a-target"})
	if _, err := vpnPath(r); err == nil || !strings.Contains(err.Error(), "not-a-target") {
		t.Errorf("bad route target: err %v", err)
	}
}
