package routing

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestStaticStatus: a static route is installed while one of its next
// hops is the address of an active binding, and says why when it is not.
func TestStaticStatus(t *testing.T) {
	// 10.1.2.0/24 via 10.1.1.6 (vnf2), 10.1.1.3 (vnf3) and 10.1.1.99
	// (nobody's).
	m := withNextHop(ecmpModel(LoadBalance), "10.1.1.99")
	x := Options{}.NewIncremental(m, Assignments{})
	prefix := netip.MustParsePrefix("10.1.2.0/24")
	hosts, why, ok := x.StaticStatus("blue/blue", prefix)
	if !ok || !slices.Equal(hosts, []string{"host-a", "host-b"}) {
		t.Fatalf("StaticStatus = %v, %q, %v; want it routed on host-a and host-b", hosts, why, ok)
	}
	if !slices.ContainsFunc(why, func(s string) bool {
		return strings.Contains(s, "next hop 10.1.1.99 is not the address of an active binding")
	}) {
		t.Errorf("why = %q; want the unused next hop 10.1.1.99 named", why)
	}

	// Take the bindings owning 10.1.1.6 and 10.1.1.3 down: no next hop
	// is left.
	next := withNextHop(ecmpModel(LoadBalance), "10.1.1.99")
	vpn := &next.VPNs[0]
	var touched Touched
	for i, b := range vpn.Bindings {
		if b.Interface == "vnf2" || b.Interface == "vnf3" {
			vpn.Bindings[i].AdminUp = false
			touched.Bindings = append(touched.Bindings, BindingRef{VPN: "blue/blue", Interface: b.Interface})
		}
	}
	x.Apply(next, touched)
	hosts, why, _ = x.StaticStatus("blue/blue", prefix)
	if len(hosts) != 0 {
		t.Fatalf("static route still routed on %v with its next-hop bindings down", hosts)
	}
	if !slices.ContainsFunc(why, func(s string) bool { return strings.Contains(s, "no resolvable next hop") }) {
		t.Errorf("why = %q; want 'no resolvable next hop'", why)
	}

	if _, _, ok := x.StaticStatus("blue/blue", netip.MustParsePrefix("10.9.0.0/16")); ok {
		t.Error("StaticStatus found a static route that is not configured")
	}
	if _, _, ok := x.StaticStatus("red/red", prefix); ok {
		t.Error("StaticStatus found a VPN that does not exist")
	}
}

// TestStaticStatusShadowed: a static route for a member address's own
// prefix is shadowed by the host route, not installed.
func TestStaticStatusShadowed(t *testing.T) {
	m := ecmpModel(LoadBalance)
	m.VPNs[0].StaticRoutes = append(m.VPNs[0].StaticRoutes, StaticRoute{
		Prefix: netip.MustParsePrefix("10.1.1.5/32"), Mode: LoadBalance,
		NextHops: []NextHop{{Addr: netip.MustParseAddr("10.1.1.6"), Preference: 100}},
	})
	x := Options{}.NewIncremental(m, Assignments{})
	hosts, why, ok := x.StaticStatus("blue/blue", netip.MustParsePrefix("10.1.1.5/32"))
	if !ok || len(hosts) != 0 {
		t.Fatalf("StaticStatus = %v, %q, %v; want a shadowed route, routed nowhere", hosts, why, ok)
	}
	if !slices.ContainsFunc(why, func(s string) bool { return strings.Contains(s, "shadowed by a member address") }) {
		t.Errorf("why = %q; want the shadowing named", why)
	}
}

// withNextHop adds next hop addr to m's first static route.
func withNextHop(m Model, addr string) Model {
	r := &m.VPNs[0].StaticRoutes[0]
	r.NextHops = append(r.NextHops, NextHop{Addr: netip.MustParseAddr(addr), Preference: 100})
	return m
}

// TestStaticStatusHubAndSpoke: the default route via the hub is installed
// (in the spokes' VRFs; the hub's own VRF does not route back to it).
func TestStaticStatusHubAndSpoke(t *testing.T) {
	x := Options{}.NewIncremental(hubSpokeModel(), Assignments{})
	hosts, why, ok := x.StaticStatus("blue/blue", netip.MustParsePrefix("0.0.0.0/0"))
	if !ok || len(hosts) == 0 || len(why) != 0 {
		t.Fatalf("StaticStatus = %v, %q, %v; want it routed, without warnings", hosts, why, ok)
	}
}
