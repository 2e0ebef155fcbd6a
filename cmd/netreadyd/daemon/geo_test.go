package daemon_test

// Connections between sites are realized: a bgp connection is a VPNv4
// session of the speaker with the remote site's (here a real FRR bgpd
// standing for it), a vxlan one a tunnel at the site gateway; what the
// server cannot realize is refused before anything is applied.

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/southbound/bgp/frrlab"
	"github.com/netready/netready/southbound/interconnect"
	"github.com/netready/netready/southbound/linuxfwd/lab"
)

const (
	conn      = "/connections/connection[name=dc-b-to-dc-d]"
	siteAS    = 64601 // dc-b: the local site
	remoteAS  = 64602 // dc-d
	speakerAS = 65000 // /bgp local-as: the connection's session uses the site's AS instead
)

// withGeo adds /bgp (no neighbors, listening on listen:port), the sites
// and one connection from local to remote to a scenario document.
func withGeo(t testing.TB, doc []byte, listen, port, local, remote string, extra string) []byte {
	t.Helper()
	s := strings.TrimSuffix(strings.TrimSpace(string(doc)), "}")
	if strings.TrimSpace(s) != "{" {
		s += ","
	}
	return []byte(s + fmt.Sprintf(`
 "netready-bgp:bgp": {"local-as": %d, "router-id": "%s", "listen-address": "%s", "listen-port": %s},
 "netready-georedundancy:sites": {"site": [{"name": "dc-b", "kind": "cell", "as-number": %d}, {"name": "dc-d", "kind": "region", "as-number": %d}]},
 "netready-georedundancy:connections": {"connection": [{"name": "dc-b-to-dc-d", "description": "to FRR",
   "local": {"site": "dc-b", "address": "%s"}, "remote": {"site": "dc-d", "address": "%s"}%s}]}}`,
		speakerAS, listen, listen, port, siteAS, remoteAS, local, remote, extra))
}

// The connection alone peers the speaker with the remote site: the
// session comes up with the sites' AS numbers, carries every realized
// route, and its state is the connection's and the sites' status. Taking
// it down or deleting it closes the session and withdraws the routes.
func TestConnectionPeersWithRemoteSite(t *testing.T) {
	r := startRealized(t, nil)
	peer := frrlab.Start(t, remoteAS, siteAS)
	r.setRoot(t, withGeo(t, r.labScenario(t, "any-to-any"), peer.Local.String(), fmt.Sprint(peer.Port), peer.Local.String(), peer.Addr.String(), ""))

	waitFRR(t, peer, func(m map[string]frrlab.VPNRoute) bool { return len(m) == len(anyToAnyRoutes) })
	waitLeaf(t, r, conn+"/session/session-state", "established")
	waitLeaf(t, r, conn+"/session/prefixes-sent", float64(len(anyToAnyRoutes)))
	waitLeaf(t, r, conn+"/status/oper-status", "up")
	waitLeaf(t, r, conn+"/status/sync-state", "in-sync")
	waitLeaf(t, r, "/sites/site[name=dc-d]/status/oper-status", "up")
	if at, _ := r.leaf(t, conn+"/session/established-at").(string); at == "" {
		t.Error("established-at not set")
	}
	// The state streams ON_CHANGE; an established, idle session publishes
	// nothing.
	// FRR sends our own routes back over eBGP: their AS path holds our AS,
	// so they are dropped as loops (RFC 4271 9.1.2) and not counted.
	waitLeaf(t, r, conn+"/session/prefixes-received", float64(0))
	sub := r.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE, "/connections", "/sites"))
	sub.untilSync(t)
	sub.quiet(t, 3*time.Second)

	// What cannot be realized is refused at the leaf, and reaches nothing.
	version := tableVersion(t, peer)
	for _, c := range []struct {
		what string
		set  *gpb.SetRequest
		at   string
	}{
		{"vlan isolation", &gpb.SetRequest{Update: []*gpb.Update{upd(t, conn, `{"isolation": "vlan", "segmentation-id": 100}`)}}, conn + "/isolation: vlan is not realized"},
		{"mpls isolation", &gpb.SetRequest{Update: []*gpb.Update{upd(t, conn, `{"isolation": "mpls", "segmentation-id": 100}`)}}, conn + "/isolation: mpls is not realized"},
		{"vxlan without a gateway", &gpb.SetRequest{Update: []*gpb.Update{upd(t, conn, `{"isolation": "vxlan", "segmentation-id": 9001}`)}}, conn + "/isolation: vxlan needs this site's gateway"},
		{"static routes", &gpb.SetRequest{Update: []*gpb.Update{upd(t, conn+"/protocol", `"static"`)}}, conn + "/protocol: static is not realized"},
		{"no speaker", &gpb.SetRequest{Delete: []*gpb.Path{path(t, "/bgp")}}, conn + "/protocol: bgp needs this server's BGP speaker"},
		{"no remote AS", &gpb.SetRequest{Delete: []*gpb.Path{path(t, "/sites/site[name=dc-d]/as-number")}}, conn + "/remote/as-number"},
		{"remote end already a neighbor", &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/bgp/neighbors/neighbor[address="+peer.Addr.String()+"]", `{"peer-as": 64602}`)}}, conn + "/remote/address"},
	} {
		before := r.config(t)
		_, err := r.client.Set(ctx(t), c.set)
		wantCode(t, err, codes.FailedPrecondition, c.at)
		if !equalJSON(r.config(t), before) {
			t.Errorf("%s: the refused Set changed the configuration", c.what)
		}
	}
	if v := tableVersion(t, peer); v != version {
		t.Errorf("FRR's table version went from %d to %d: a refused Set reached it", version, v)
	}

	// Admin down: the session closes, FRR drops the routes, the status says so.
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, conn+"/admin-state", `"down"`)}})
	waitStreamed(t, sub, "oper-status", `"down"`)
	waitFRR(t, peer, func(m map[string]frrlab.VPNRoute) bool { return len(m) == 0 })
	waitLeaf(t, r, conn+"/status/oper-status", "down")
	waitLeaf(t, r, conn+"/status/sync-state", "pending")
	waitLeaf(t, r, "/sites/site[name=dc-d]/status/oper-status", "unknown")

	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, conn+"/admin-state", `"up"`)}})
	waitFRR(t, peer, func(m map[string]frrlab.VPNRoute) bool { return len(m) == len(anyToAnyRoutes) })
	waitLeaf(t, r, conn+"/status/oper-status", "up")

	// Deleted: the same.
	r.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, conn)}})
	waitFRR(t, peer, func(m map[string]frrlab.VPNRoute) bool { return len(m) == 0 })
	waitLeaf(t, r, "/sites/site[name=dc-b]/status/oper-status", "unknown")
}

// A vxlan connection is a tunnel at the site gateway with the
// connection's VNI between the two ends' addresses, an isolated port of
// the site's underlay bridge; it goes with the connection. Its status is
// not up while the session is not.
func TestConnectionTunnelAtGateway(t *testing.T) {
	l := lab.New(t, lab.RandomPrefix(), nil)
	gw := l.FabricNS() // the site's underlay bridge br0 is there
	for _, args := range [][]string{
		{"link", "add", "wan0", "type", "veth", "peer", "name", "wan1"},
		{"addr", "add", "198.51.100.1/24", "dev", "wan0"},
		{"link", "set", "wan0", "up"},
	} {
		if out, err := l.IP(gw, args...); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	ts := startWith(t, daemon.Config{Drivers: daemon.Drivers(), Gateway: interconnect.Gateway{Netns: gw, Bridge: "br0"}})
	r := &realized{testServer: ts, lab: l}
	// The remote end answers nothing: no session.
	doc := withGeo(t, []byte("{}"), "127.0.0.1", "11790", "198.51.100.1", "198.51.100.2", `, "isolation": "vxlan", "segmentation-id": 9001, "mtu": 1400`)
	doc = []byte(strings.Replace(string(doc), `"address": "198.51.100.1"}`, `"address": "198.51.100.1", "interface": "wan0"}`, 1))
	r.setRoot(t, doc)

	out, err := exec.Command("ip", "-n", gw, "-d", "link", "show", "nrc9001").CombinedOutput()
	if err != nil {
		t.Fatalf("no tunnel at the gateway: %v: %s", err, out)
	}
	for _, want := range []string{"mtu 1400", "master br0", "vxlan id 9001 remote 198.51.100.2 local 198.51.100.1 dev wan0", "dstport 4789", "isolated on"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("tunnel %s: no %q", out, want)
		}
	}
	waitLeaf(t, r, conn+"/tunnel/device", "nrc9001")
	waitLeafSet(t, r, conn+"/session/session-state")
	if s := r.leaf(t, conn+"/session/session-state"); s == "established" {
		t.Fatal("established with a remote end that answers nothing")
	}
	if s := r.leaf(t, conn+"/status/oper-status"); s != "down" {
		t.Errorf("oper-status %v with the session down", s)
	}
	if s := r.leaf(t, conn+"/status/sync-state"); s == "in-sync" {
		t.Error("in-sync with the session down")
	}

	// An address the gateway does not have cannot start a tunnel.
	_, err = r.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, conn+"/local/address", `"198.51.100.7"`)}})
	wantCode(t, err, codes.FailedPrecondition, conn+"/local/address: 198.51.100.7 is not an address of this site's gateway")

	// A new VNI replaces the tunnel; deleting the connection removes it.
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, conn+"/segmentation-id", `9002`)}})
	if links := gwLinks(t, gw); !strings.Contains(links, "nrc9002") || strings.Contains(links, "nrc9001") {
		t.Errorf("after the VNI change the gateway has %s", links)
	}
	r.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, conn)}})
	if links := gwLinks(t, gw); strings.Contains(links, "nrc") {
		t.Errorf("after the delete the gateway has %s", links)
	}
}

// waitStreamed waits for a notification updating a leaf named leaf to val
// (JSON_IETF).
func waitStreamed(t *testing.T, sub *subClient, leaf, val string) {
	t.Helper()
	for {
		n := sub.notification(t)
		for _, u := range n.GetUpdate() {
			elems := u.GetPath().GetElem()
			if len(elems) > 0 && elems[len(elems)-1].GetName() == leaf && string(u.GetVal().GetJsonIetfVal()) == val {
				return
			}
		}
	}
}

func gwLinks(t *testing.T, ns string) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns, "-o", "link", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return string(out)
}

// The georedundancy scenario asks for a vxlan tunnel, which a server
// without a site gateway cannot build: the Set is refused at the
// connection's isolation, and a dry run says so too, before anything is
// stored or realized.
func TestConnectionRefusedWithoutGateway(t *testing.T) {
	ts := startWith(t, daemon.Config{Drivers: (&recorder{}).registry()})
	set := func() *gpb.SetRequest {
		return &gpb.SetRequest{Update: []*gpb.Update{{Path: &gpb.Path{}, Val: jsonIETF(string(scenario(t, "georedundancy")))}}}
	}
	const want = "/connections/connection[name=dc-b-to-dc-d]/isolation: vxlan needs this site's gateway"
	_, _, err := ts.dryRun(t, set())
	wantCode(t, err, codes.FailedPrecondition, want)
	_, err = ts.client.Set(ctx(t), set())
	wantCode(t, err, codes.FailedPrecondition, want)
	if _, err := ts.get(t, "/connections", gpb.GetRequest_CONFIG); err == nil {
		t.Error("the refused connection was stored")
	}
}
