package daemon_test

// The embedded BGP speaker against a real FRR bgpd: the any-to-any
// scenario, realized on the namespaces lab, is announced as VPNv4 routes
// that carry the RDs, labels and next hops the forwarders were given.

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/cmd/netreadyd/daemon"
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

	// The session's status is published under the neighbor.
	nb := "/bgp/neighbors/neighbor[address=" + peer.Addr.String() + "]/status"
	waitLeaf(t, r, nb+"/session-state", "established")
	waitLeaf(t, r, nb+"/prefixes-sent", float64(len(anyToAnyRoutes)))
	if at, _ := r.leaf(t, nb+"/established-at").(string); at == "" {
		t.Errorf("established-at not set")
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

	// A binding taken admin down is withdrawn too.
	const g4 = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/bindings/binding[interface=g4]"
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, g4+"/admin-state", `"down"`)}})
	routes = waitFRR(t, peer, func(m map[string]frrlab.VPNRoute) bool { return len(m) == len(anyToAnyRoutes)-2 })
	if _, ok := lookupRoute(routes, exported{"blue", "host-b", "10.3.7.10/32", "64512:100"}); ok {
		t.Error("g4 is admin down but still announced")
	}

	// A neighbor taken down gets nothing.
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/bgp/neighbors/neighbor[address="+peer.Addr.String()+"]/admin-state", `"down"`)}})
	waitFRR(t, peer, func(m map[string]frrlab.VPNRoute) bool { return len(m) == 0 })
}

// withBGP adds /bgp to a scenario document (a root replace keeps only
// what the document holds).
func withBGP(t testing.TB, doc []byte, peer *frrlab.BGPD) []byte {
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
//
// Only host-a's VRFs are read (so only host-b's routes are checked):
// host-b's ebpf-vforwarder keeps its routes in BPF maps, not in VRF
// namespaces, and the mixed-vendor data-plane tests
// (TestRealize*MixedVendors) show it tunnels with the labels host-a's
// ports expect.
func (r *realized) checkRealizedLabel(t *testing.T, want exported, vrfLabel string, label uint32) {
	t.Helper()
	if want.host == "host-a" {
		return
	}
	const other = "host-a"
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

// A Set a backend refuses announces nothing: the speaker takes part only
// once every backend has succeeded.
func TestBGPRefusedSetAnnouncesNothing(t *testing.T) {
	r := startRealized(t, nil)
	peer := frrlab.Start(t, testAS, testAS)
	r.setRoot(t, withBGP(t, r.labScenario(t, "any-to-any"), peer))
	waitFRR(t, peer, func(m map[string]frrlab.VPNRoute) bool { return len(m) == len(anyToAnyRoutes) })

	version := tableVersion(t, peer)
	if err := r.lab.DeleteHost("host-b"); err != nil {
		t.Fatal(err)
	}
	const b = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/bindings/binding"
	_, err := r.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{
		upd(t, b+"[interface=g2]/ip-address", `["10.3.7.9", "10.3.7.99"]`), // host-a: realized, then undone
		upd(t, b+"[interface=g3]/ip-address", `["10.1.1.66"]`),             // host-b is gone: refused
	}})
	wantCode(t, err, codes.Aborted, "vendor-b")
	// Once host-b is back, a later Set is announced behind it, in order.
	if err := r.lab.RestoreHost("host-b"); err != nil {
		t.Fatal(err)
	}
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, b+"[interface=g1]/ip-address", `["10.1.1.5", "10.1.1.55"]`)}})
	routes := waitFRR(t, peer, func(m map[string]frrlab.VPNRoute) bool {
		_, ok := lookupRoute(m, exported{"blue", "host-a", "10.1.1.55/32", "64512:100"})
		return ok
	})
	// The marker is the only change FRR saw: nothing came and went.
	if v := tableVersion(t, peer); v != version+1 {
		t.Errorf("FRR's table version went from %d to %d: the refused Set reached it", version, v)
	}
	if len(routes) != len(anyToAnyRoutes)+1 {
		t.Errorf("FRR holds %d routes, want %d: %v", len(routes), len(anyToAnyRoutes)+1, routes)
	}
	for _, p := range []string{"10.3.7.99/32", "10.1.1.66/32"} {
		for _, h := range []string{"host-a", "host-b"} {
			if _, ok := lookupRoute(routes, exported{"blue", h, p, "64512:100"}); ok {
				t.Errorf("%s of the refused Set was announced", p)
			}
		}
	}
}

// A speaker that cannot start (its port is taken) refuses the Set that
// configures it, naming /bgp; nothing is stored.
func TestBGPSpeakerFailureAborts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	ts := startWith(t, daemon.Config{Drivers: daemon.Drivers()})
	_, err = ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/bgp", fmt.Sprintf(
		`{"local-as": 65000, "router-id": "192.0.2.100", "listen-address": "127.0.0.1", "listen-port": %d}`, port))}})
	wantCode(t, err, codes.Aborted, "/bgp")
	if _, err := ts.get(t, "/bgp", gpb.GetRequest_CONFIG); status.Code(err) != codes.NotFound {
		t.Errorf("get /bgp after the refused Set: %v, want NotFound", err)
	}
}

func tableVersion(t *testing.T, peer *frrlab.BGPD) uint64 {
	t.Helper()
	v, err := peer.TableVersion()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A restarted netreadyd announces the stored state again, with the same
// RDs and labels (they come from the stored assignments).
func TestBGPRestart(t *testing.T) {
	r := startRealized(t, nil)
	peer := frrlab.Start(t, testAS, testAS)
	r.setRoot(t, withBGP(t, r.labScenario(t, "any-to-any"), peer))
	before := waitFRR(t, peer, func(m map[string]frrlab.VPNRoute) bool { return len(m) == len(anyToAnyRoutes) })

	r.testServer.stop()
	waitFRR(t, peer, func(m map[string]frrlab.VPNRoute) bool { return len(m) == 0 })
	r.testServer = r.restart(t)
	after := waitFRR(t, peer, func(m map[string]frrlab.VPNRoute) bool { return len(m) == len(anyToAnyRoutes) })
	for k, b := range before {
		if a, ok := after[k]; !ok || a.Label != b.Label || a.ExtCommunities != b.ExtCommunities || a.NextHop != b.NextHop {
			t.Errorf("%s: before the restart %+v, after %+v", k, b, a)
		}
	}
}
