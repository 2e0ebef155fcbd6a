package daemon_test

// The embedded BGP speaker against a real FRR bgpd: the any-to-any
// scenario, realized on the namespaces lab, is announced as VPNv4 routes
// that carry the RDs, labels and next hops the forwarders were given.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/southbound/bgp/frrlab"
)

const testAS = 65000

// bgpConfig is /bgp peering with b over its veth pair (iBGP).
func bgpConfig(b *frrlab.BGPD, neighborState string) string {
	return fmt.Sprintf(`{"local-as": %d, "router-id": "%s", "listen-address": "%s", "listen-port": %d,
 "neighbors": {"neighbor": [{"address": "%s", "peer-as": %d, "description": "FRR", "admin-state": "%s"}]}}`,
		testAS, b.Local, b.Local, b.Port, b.Addr, testAS, neighborState)
}

// exported is one route the any-to-any scenario must announce.
type exported struct {
	vpn, host, prefix, rt string
}

var anyToAnyRoutes = []exported{
	{"blue", "host-a", "10.1.1.5/32", "64512:100"},
	{"blue", "host-a", "10.3.7.9/32", "64512:100"},
	{"blue", "host-b", "10.1.1.6/32", "64512:100"},
	{"blue", "host-b", "10.3.7.10/32", "64512:100"},
	{"red", "host-a", "10.1.1.5/32", "64512:200"},
	{"red", "host-b", "10.1.1.6/32", "64512:200"},
}

func TestBGPExportToFRR(t *testing.T) {
	r := startRealized(t, nil)
	peer := frrlab.Start(t, testAS, testAS)
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/bgp", bgpConfig(peer, "up"))}})
	r.setRoot(t, withBGP(t, r.labScenario(t, "any-to-any"), peer))

	routes := waitFRR(t, peer, func(m map[string]frrlab.VPNRoute) bool { return len(m) == len(anyToAnyRoutes) })
	vrfLabels := map[string]string{} // VPN -> the VRF label in its RDs
	for _, want := range anyToAnyRoutes {
		got := findRoute(t, routes, want)
		_, n, _ := strings.Cut(got.RD, ":")
		if l, ok := vrfLabels[want.vpn]; ok && l != n {
			t.Errorf("%v: RD %s, other hosts of the VPN use VRF label %s", want, got.RD, l)
		}
		vrfLabels[want.vpn] = n
		r.checkRealizedLabel(t, want, n, got.Label)
	}
	if vrfLabels["blue"] == vrfLabels["red"] {
		t.Errorf("blue and red share RD number %s", vrfLabels["blue"])
	}

	// Deleting a binding withdraws its route, and only its route.
	const g3 = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/bindings/binding[interface=g3]"
	r.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, g3)}})
	routes = waitFRR(t, peer, func(m map[string]frrlab.VPNRoute) bool { return len(m) == len(anyToAnyRoutes)-1 })
	for _, want := range anyToAnyRoutes {
		if _, ok := lookupRoute(routes, want); ok == (want.vpn == "blue" && want.prefix == "10.1.1.6/32") {
			t.Errorf("after deleting g3: %v present = %v", want, ok)
		}
	}

	// A neighbor taken down gets nothing.
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/bgp/neighbors/neighbor[address="+peer.Addr.String()+"]/admin-state", `"down"`)}})
	waitFRR(t, peer, func(m map[string]frrlab.VPNRoute) bool { return len(m) == 0 })
}

// withBGP adds /bgp to a scenario document (a root replace keeps only
// what the document holds).
func withBGP(t *testing.T, doc []byte, peer *frrlab.BGPD) []byte {
	t.Helper()
	s := strings.TrimSpace(string(doc))
	return []byte(s[:len(s)-1] + `, "netready-bgp:bgp": ` + bgpConfig(peer, "up") + "}")
}

func waitFRR(t *testing.T, peer *frrlab.BGPD, done func(map[string]frrlab.VPNRoute) bool) map[string]frrlab.VPNRoute {
	t.Helper()
	routes, err := peer.WaitRoutes(30*time.Second, done)
	if err != nil || !done(routes) {
		t.Fatalf("FRR's VPNv4 table: %v (err %v)\nbgpd log:\n%s", routes, err, peer.Log())
	}
	return routes
}

func hostAddr(host string) string {
	if host == "host-a" {
		return hostA.String()
	}
	return hostB.String()
}

// lookupRoute finds want's route: its prefix under an RD of its host.
func lookupRoute(routes map[string]frrlab.VPNRoute, want exported) (frrlab.VPNRoute, bool) {
	for _, r := range routes {
		if r.Prefix == want.prefix && strings.HasPrefix(r.RD, hostAddr(want.host)+":") && strings.Contains(r.ExtCommunities, "RT:"+want.rt) {
			return r, true
		}
	}
	return frrlab.VPNRoute{}, false
}

// findRoute returns want's route and checks its next hop and
// communities.
func findRoute(t *testing.T, routes map[string]frrlab.VPNRoute, want exported) frrlab.VPNRoute {
	t.Helper()
	got, ok := lookupRoute(routes, want)
	if !ok {
		t.Fatalf("%v not in FRR's table %v", want, routes)
	}
	if got.NextHop != hostAddr(want.host) {
		t.Errorf("%v: next hop %s", want, got.NextHop)
	}
	if got.ExtCommunities != "RT:"+want.rt+" ET:8" {
		t.Errorf("%v: extended communities %q, want the RT and encapsulation VXLAN (ET:8)", want, got.ExtCommunities)
	}
	return got
}

// checkRealizedLabel checks the announced labels against the data plane:
// the route's RD number names the VRF namespace the forwarder built
// (<host>@<VRF label>) and, on the other host, the same VPN's VRF reaches
// the address through the binding's label (via 169.254.<label/256>.<label%256>).
func (r *realized) checkRealizedLabel(t *testing.T, want exported, vrfLabel string, label uint32) {
	t.Helper()
	other := "host-a"
	if want.host == "host-a" {
		other = "host-b"
	}
	var vl uint32
	fmt.Sscan(vrfLabel, &vl)
	addr, _, _ := strings.Cut(want.prefix, "/")
	out, err := r.lab.IP(r.lab.VRFNS(other, vl), "route", "show", addr)
	if err != nil {
		t.Fatalf("%v: VRF %s of %s: %v", want, vrfLabel, other, err)
	}
	if hop := fmt.Sprintf("via 169.254.%d.%d ", label/256, label%256); !strings.Contains(out, hop) {
		t.Errorf("%v: announced label %d, but %s's VRF routes it %q", want, label, other, out)
	}
}
