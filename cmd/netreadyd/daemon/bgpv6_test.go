package daemon_test

// VPNv6 against a real FRR bgpd (address-family ipv6 vpn): IPv6 guest
// addresses realized on two linux-vforwarder hosts reach each other over
// the IPv4 VXLAN underlay and are announced as VPNv6 routes with the
// right RD, route target, encapsulation, label and an IPv4-mapped next
// hop; a VPNv6 route FRR originates with Blue's route target is installed
// in Blue's VRFs on both hosts (not Red's) and shows in Blue's status.

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/southbound/bgp/frrlab"
	"github.com/netready/netready/southbound/linuxfwd"
)

func TestBGPVPNv6WithFRR(t *testing.T) {
	r := startRealized(t, nil)
	r.vendorB = linuxfwd.Kind
	peer := frrlab.Start(t, testAS, testAS)
	r.setRoot(t, withBGP(t, r.labScenario(t, "any-to-any"), peer))
	waitLeaf(t, r, "/bgp/neighbors/neighbor[address="+peer.Addr.String()+"]/status/session-state", "established")

	const blue = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/bindings/binding"
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{
		upd(t, "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/subnet[prefix=2001:db8:1::/64]", `{}`),
		upd(t, blue+"[interface=g1]/ip-address", `["10.1.1.5", "2001:db8:1::5"]`),
		upd(t, blue+"[interface=g3]/ip-address", `["10.1.1.6", "2001:db8:1::6"]`),
	}})

	// Realized: the guests reach each other over IPv6 across hosts.
	g1 := r.lab.Guest("host-a", "blue/blue/g1", netip.MustParsePrefix("10.1.1.5/24"), netip.MustParsePrefix("2001:db8:1::5/64"))
	r.lab.Guest("host-b", "blue/blue/g3", netip.MustParsePrefix("10.1.1.6/24"), netip.MustParsePrefix("2001:db8:1::6/64"))
	reach(t, g1, "2001:db8:1::6")
	reach(t, g1, "10.1.1.6")

	// Announced: one VPNv6 route per binding address, from its host.
	routes := waitV6(t, peer, func(m map[string]frrlab.VPNRoute) bool { return len(m) == 2 })
	for _, want := range []exported{
		{"blue", "host-a", "2001:db8:1::5/128", "64512:100"},
		{"blue", "host-b", "2001:db8:1::6/128", "64512:100"},
	} {
		got, ok := lookupRoute(routes, want)
		if !ok {
			t.Fatalf("%v not in FRR's VPNv6 table %v", want, routes)
		}
		if nh, err := netip.ParseAddr(got.NextHop); err != nil || nh != netip.AddrFrom16(netip.MustParseAddr(hostAddr(want.host)).As16()) {
			t.Errorf("%v: next hop %q, want %s as an IPv4-mapped IPv6 address", want, got.NextHop, hostAddr(want.host))
		}
		if got.ExtCommunities != "RT:"+want.rt+" ET:8" {
			t.Errorf("%v: extended communities %q, want the RT and encapsulation VXLAN (ET:8)", want, got.ExtCommunities)
		}
		if want.host == "host-b" { // host-a's VRF tunnels to the announced label
			_, n, _ := strings.Cut(got.RD, ":")
			var vl uint32
			fmt.Sscan(n, &vl)
			out, err := r.lab.IP(r.lab.VRFNS("host-a", vl), "-6", "route", "show", "2001:db8:1::6")
			if hop := fmt.Sprintf("via fe80::a9fe:%x dev nrx", got.Label); err != nil || !strings.Contains(out, hop) {
				t.Errorf("%v: announced label %d, but host-a's VRF %d routes it %q (%v)", want, got.Label, vl, out, err)
			}
		}
	}
	if v4, err := peer.VPNRoutes(); err != nil || len(v4) != len(anyToAnyRoutes) {
		t.Errorf("FRR's VPNv4 table: %d routes (%v), want the scenario's %d", len(v4), err, len(anyToAnyRoutes))
	}

	// Imported: a VPNv6 route FRR originates with Blue's route target.
	const prefix6 = "2001:db8:203::/48"
	if err := peer.Originate(prefix6, learntRD, learntLabel, "64512:100"); err != nil {
		t.Fatal(err)
	}
	route := blueLearnt + "/route[prefix=" + prefix6 + "][route-distinguisher=" + learntRD + "]"
	waitLeaf(t, r, route+"/installed", true)
	for leaf, want := range map[string]any{"next-hop": peer.Addr.String(), "peer": peer.Addr.String(), "label": float64(learntLabel)} {
		if got := r.leaf(t, route+"/"+leaf); got != want {
			t.Errorf("%s = %v, want %v", leaf, got, want)
		}
	}
	if _, err := r.get(t, redLearnt, gpb.GetRequest_STATE); status.Code(err) != codes.NotFound {
		t.Errorf("Red imports nothing from FRR, but its learnt-routes reads %v", err)
	}
	hop := fmt.Sprintf("via fe80::a9fe:%x dev nrx", learntLabel)
	for _, host := range []string{"host-a", "host-b"} {
		blueNS := vrfWithRoute(t, r, host, map[string]string{"host-a": "10.1.1.5", "host-b": "10.1.1.6"}[host])
		for _, ns := range r.vrfNamespaces(t, host) {
			out, _ := r.lab.IP(ns, "-6", "route", "show", prefix6)
			if got, want := strings.Contains(out, hop), ns == blueNS; got != want {
				t.Errorf("%s (Blue: %v) routes %s: %q", ns, want, prefix6, out)
			}
		}
	}

	// Withdrawn at FRR: gone from the status; an address removed from a
	// binding is withdrawn at FRR.
	if err := peer.Withdraw(prefix6, learntRD, learntLabel); err != nil {
		t.Fatal(err)
	}
	waitGone(t, r, blueLearnt)
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, blue+"[interface=g3]/ip-address", `["10.1.1.6"]`)}})
	routes = waitV6(t, peer, func(m map[string]frrlab.VPNRoute) bool { return len(m) == 1 })
	if _, ok := lookupRoute(routes, exported{"blue", "host-a", "2001:db8:1::5/128", "64512:100"}); !ok {
		t.Errorf("FRR's VPNv6 table %v lacks g1's route", routes)
	}
}

func waitV6(t *testing.T, peer *frrlab.BGPD, done func(map[string]frrlab.VPNRoute) bool) map[string]frrlab.VPNRoute {
	t.Helper()
	routes, err := peer.WaitVPNv6Routes(30*time.Second, done)
	if err != nil || !done(routes) {
		t.Fatalf("FRR's VPNv6 table: %v (err %v)\nbgpd log:\n%s", routes, err, peer.Log())
	}
	return routes
}

// With host-b on ebpf-vforwarder (no IPv6), a VPNv6 route FRR originates
// for Blue is installed on host-a only: Blue's status says it is not
// installed everywhere and why, and the batch that brought it is not
// refused (host-b keeps Blue's IPv4 routes and the learnt IPv4 route).
func TestBGPVPNv6ImportMixedVendors(t *testing.T) {
	r := startRealized(t, nil)
	peer := frrlab.Start(t, testAS, testAS)
	r.setRoot(t, withBGP(t, r.labScenario(t, "any-to-any"), peer))
	waitLeaf(t, r, "/bgp/neighbors/neighbor[address="+peer.Addr.String()+"]/status/session-state", "established")

	const prefix6 = "2001:db8:203::/48"
	if err := peer.Originate(prefix6, learntRD, learntLabel, "64512:100"); err != nil {
		t.Fatal(err)
	}
	if err := peer.Originate(learntPrefix, "65000:8", learntLabel+1, "64512:100"); err != nil {
		t.Fatal(err)
	}
	v4 := blueLearnt + "/route[prefix=" + learntPrefix + "][route-distinguisher=65000:8]"
	v6 := blueLearnt + "/route[prefix=" + prefix6 + "][route-distinguisher=" + learntRD + "]"
	waitLeaf(t, r, v4+"/installed", true)
	waitLeafSet(t, r, v6+"/reason")
	if got := r.leaf(t, v6+"/installed"); got != false {
		t.Errorf("%s installed = %v, want false (host-b cannot hold it)", v6, got)
	}
	if why, _ := r.leaf(t, v6+"/reason").(string); !strings.Contains(why, "vendor-b") || !strings.Contains(why, "IPv6") {
		t.Errorf("reason %q, want one naming backend vendor-b and IPv6", why)
	}
	blueA := vrfWithRoute(t, r, "host-a", "10.1.1.5")
	if out, _ := r.lab.IP(blueA, "-6", "route", "show", prefix6); !strings.Contains(out, fmt.Sprintf("via fe80::a9fe:%x dev nrx", learntLabel)) {
		t.Errorf("host-a's Blue VRF routes %s: %q", prefix6, out)
	}
	r.guest("host-a", "blue/blue/g1", "10.1.1.5/24")
	g3 := r.guest("host-b", "blue/blue/g3", "10.1.1.6/24")
	reach(t, g3, "10.1.1.5") // host-b's Blue VRF still holds its IPv4 routes
}
