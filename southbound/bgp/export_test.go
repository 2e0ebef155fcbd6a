package bgp

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/osrg/gobgp/v4/pkg/packet/bgp"

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
// preferred local next hop; remote hops are not exported. An IPv6
// prefix is exported (VPNv6) with the host's IPv4 underlay mapped into
// IPv6 as its next hop; a host with an IPv6 underlay is skipped.
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
		"c": hostView("c", "2001:db8:ff::3", route("10.0.0.7/32", hop(routing.HopLocal, "c", "10.0.0.7", 45, 100))),
	}}
	got, skipped := Export(res)
	want := []Route{
		{RD: "192.0.2.1:30", Prefix: netip.MustParsePrefix("10.0.0.5/32"), Label: 42, NextHop: netip.MustParseAddr("192.0.2.1"), RTs: []string{"64512:1"}, MED: 100},
		{RD: "192.0.2.1:30", Prefix: netip.MustParsePrefix("10.0.0.9/32"), Label: 40, NextHop: netip.MustParseAddr("192.0.2.1"), RTs: []string{"64512:1"}, MED: 10},
		{RD: "192.0.2.2:30", Prefix: netip.MustParsePrefix("10.0.0.9/32"), Label: 41, NextHop: netip.MustParseAddr("192.0.2.2"), RTs: []string{"64512:1"}, MED: 20},
		{RD: "192.0.2.1:30", Prefix: netip.MustParsePrefix("10.9.0.0/16"), Label: 42, NextHop: netip.MustParseAddr("192.0.2.1"), RTs: []string{"64512:1"}, MED: 100},
		{RD: "192.0.2.1:30", Prefix: netip.MustParsePrefix("2001:db8::1/128"), Label: 44, NextHop: netip.MustParseAddr("::ffff:192.0.2.1"), RTs: []string{"64512:1"}, MED: 100},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d routes %v, want %v", len(got), got, want)
	}
	for _, w := range want {
		if g, ok := got[w.key()]; !ok || !same(g, w) {
			t.Errorf("%s: got %+v, want %+v", w.key(), g, w)
		}
	}
	if len(skipped) != 1 || !strings.Contains(skipped[0], "10.0.0.7/32") || !strings.Contains(skipped[0], "no IPv4 underlay") {
		t.Errorf("skipped %v, want host c's route (IPv6 underlay)", skipped)
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

// A VPNv6 route becomes a GoBGP path of family l3vpn-ipv6-unicast whose
// MP_REACH_NLRI carries the IPv4-mapped next hop; a VPNv6 path received
// with such a next hop is learnt with the IPv4 address it maps (the
// tunnel endpoint), one with a plain IPv6 next hop is not.
func TestVPNv6Path(t *testing.T) {
	r := Route{RD: "192.0.2.1:30", Prefix: netip.MustParsePrefix("2001:db8:1::5/128"), Label: 42, NextHop: netip.MustParseAddr("::ffff:192.0.2.1"), RTs: []string{"64512:1"}}
	p, err := vpnPath(r)
	if err != nil {
		t.Fatal(err)
	}
	if p.Family != bgp.RF_IPv6_VPN {
		t.Errorf("family %v, want %v", p.Family, bgp.RF_IPv6_VPN)
	}
	var reach *bgp.PathAttributeMpReachNLRI
	for _, a := range p.Attrs {
		if m, ok := a.(*bgp.PathAttributeMpReachNLRI); ok {
			reach = m
		}
	}
	if reach == nil || reach.AFI != bgp.AFI_IP6 || reach.SAFI != bgp.SAFI_MPLS_VPN || reach.Nexthop != r.NextHop {
		t.Fatalf("MP_REACH_NLRI %+v, want AFI 2, SAFI 128, next hop %s", reach, r.NextHop)
	}
	// Through the wire format and back, as a peer reads it.
	buf, err := reach.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	back, err := bgp.GetPathAttribute(buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.DecodeFromBytes(buf); err != nil {
		t.Fatal(err)
	}
	p.Attrs = []bgp.PathAttributeInterface{back, p.Attrs[3]}
	p.PeerAddress = netip.MustParseAddr("192.0.2.9")
	nlri := p.Nlri.(*bgp.LabeledVPNIPAddrPrefix)
	k := routing.LearntKey{RD: nlri.RD.String(), Prefix: nlri.Prefix}
	l, err := learnt(k, nlri, p)
	if err != nil || l.NextHop != netip.MustParseAddr("192.0.2.1") || l.Label != 42 || !slices.Equal(l.RTs, []string{"64512:1"}) {
		t.Errorf("learnt %+v, %v; want next hop 192.0.2.1, label 42, RT 64512:1", l, err)
	}
	reach.Nexthop = netip.MustParseAddr("2001:db8::9")
	p.Attrs = []bgp.PathAttributeInterface{reach, p.Attrs[1]}
	if _, err := learnt(k, nlri, p); err == nil || !strings.Contains(err.Error(), "IPv4-mapped") {
		t.Errorf("VPNv6 with an IPv6 next hop: err %v, want a refusal", err)
	}
}
