package daemon_test

// MP-BGP import against a real FRR bgpd: a VPNv4 route FRR originates
// with VPN Blue's route target is installed in Blue's VRFs on both hosts
// (and not in Red's), shows in Blue's learnt-routes state (live state,
// read from the engine when asked: it streams to a SAMPLE subscription,
// as traffic counters do), carries guest traffic over VXLAN toward FRR's next hop, and
// goes away when FRR withdraws it.

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/southbound/bgp/frrlab"
	"github.com/netready/netready/southbound/linuxfwd/lab"
)

const (
	learntPrefix = "203.0.113.0/24"
	learntRD     = "65000:7"
	learntLabel  = 100
	blueLearnt   = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/learnt-routes"
	redLearnt    = "/tenants/tenant[name=red]/vpns/vpn[name=red]/learnt-routes"
)

func TestBGPImportFromFRR(t *testing.T) {
	r := startRealized(t, nil)
	peer := frrlab.Start(t, testAS, testAS)
	r.setRoot(t, withBGP(t, r.labScenario(t, "any-to-any"), peer))
	waitLeaf(t, r, "/bgp/neighbors/neighbor[address="+peer.Addr.String()+"]/status/session-state", "established")
	l := streamList(gpb.SubscriptionMode_SAMPLE, blueLearnt)
	l.Subscription[0].SampleInterval = uint64(200 * time.Millisecond)
	sc := r.subscribe(t, l)
	sc.untilSync(t)

	if err := peer.Originate(learntPrefix, learntRD, learntLabel, "64512:100"); err != nil {
		t.Fatal(err)
	}
	route := blueLearnt + "/route[prefix=" + learntPrefix + "][route-distinguisher=" + learntRD + "]" // keys by name
	waitLeaf(t, r, route+"/installed", true)
	for leaf, want := range map[string]any{"next-hop": peer.Addr.String(), "peer": peer.Addr.String(), "label": float64(learntLabel), "reason": ""} {
		if got := r.leaf(t, route+"/"+leaf); got != want {
			t.Errorf("%s = %v, want %v", leaf, got, want)
		}
	}
	if !streamed(t, sc, route+"/installed=true") {
		t.Error("the learnt route did not stream to a SAMPLE subscription")
	}
	if _, err := r.get(t, redLearnt, gpb.GetRequest_STATE); status.Code(err) != codes.NotFound {
		t.Errorf("Red imports nothing from FRR, but its learnt-routes reads %v", err)
	}
	// host-a (linux-vforwarder): the learnt route in Blue's VRF only, its
	// FDB entry toward FRR's next hop with the label as VNI.
	blue := vrfWithRoute(t, r, "host-a", "10.3.7.9") // Blue only
	hop := fmt.Sprintf("via 169.254.%d.%d dev nrx", learntLabel/256, learntLabel%256)
	for _, ns := range r.vrfNamespaces(t, "host-a") {
		out, _ := r.lab.IP(ns, "route", "show", learntPrefix)
		if got, want := strings.Contains(out, hop), ns == blue; got != want {
			t.Errorf("%s (Blue: %v) routes %s: %q", ns, want, learntPrefix, out)
		}
	}
	out, _ := exec.Command("ip", "netns", "exec", blue, "bridge", "fdb", "show", "dev", "nrx").CombinedOutput()
	if fdb := string(out); !strings.Contains(fdb, "dst "+peer.Addr.String()) || !strings.Contains(fdb, fmt.Sprintf("vni %d", learntLabel)) {
		t.Errorf("%s: nrx's FDB does not send label %d to %s: %s", blue, learntLabel, peer.Addr, fdb)
	}

	// On both vendors, a Blue guest's packets to the learnt prefix leave
	// its host over VXLAN toward FRR's next hop; Red's do not.
	g1 := r.guest("host-a", "blue/blue/g1", "10.1.1.5/24")
	g3 := r.guest("host-b", "blue/blue/g3", "10.1.1.6/24")
	g6 := r.guest("host-b", "red/red/g6", "10.1.1.6/24")
	tapA, tapB := peerTap(t, r, "host-a", peer.Addr), peerTap(t, r, "host-b", peer.Addr)
	sendsToward(t, g1, tapA, peer.Addr, true)
	sendsToward(t, g3, tapB, peer.Addr, true)
	sendsToward(t, g6, tapB, peer.Addr, false)

	// Withdrawn at FRR: gone from both hosts and from the status.
	if err := peer.Withdraw(learntPrefix, learntRD, learntLabel); err != nil {
		t.Fatal(err)
	}
	waitGone(t, r, blueLearnt)
	for _, ns := range r.vrfNamespaces(t, "host-a") {
		if out, _ := r.lab.IP(ns, "route", "show", learntPrefix); strings.TrimSpace(out) != "" {
			t.Errorf("%s still routes %s after the withdrawal: %s", ns, learntPrefix, out)
		}
	}
	sendsToward(t, g1, tapA, peer.Addr, false)
	sendsToward(t, g3, tapB, peer.Addr, false)
}

// peerTap routes FRR's address (the learnt routes' next hop) in a host's
// namespace to a veth of its own (no IPv6, a permanent neighbour: nothing
// else goes out on it), and returns a function reading how many packets
// went out on it: what the host tunnels toward the peer, whichever
// vendor forwards there.
func peerTap(t *testing.T, r *realized, host string, peer netip.Addr) func() uint64 {
	t.Helper()
	hostNS := r.lab.HostNS(host)
	for _, args := range [][]string{
		{"link", "add", "nrfrr", "type", "veth", "peer", "name", "nrfrr1"},
		{"link", "set", "nrfrr", "addrgenmode", "none"}, {"link", "set", "nrfrr1", "addrgenmode", "none"},
		{"link", "set", "nrfrr", "up"}, {"link", "set", "nrfrr1", "up"},
		{"route", "add", peer.String() + "/32", "dev", "nrfrr"},
		{"neigh", "add", peer.String(), "lladdr", "02:00:00:00:00:01", "dev", "nrfrr", "nud", "permanent"},
	} {
		if out, err := r.lab.IP(hostNS, args...); err != nil {
			t.Fatalf("%s: ip %v: %v: %s", host, args, err, out)
		}
	}
	return func() uint64 { return txPackets(t, r, hostNS, "nrfrr") }
}

// sendsToward sends 5 datagrams from g to the learnt prefix and checks
// whether they leave g's host toward the peer (tap counts them).
func sendsToward(t *testing.T, g *lab.Guest, tap func() uint64, peer netip.Addr, want bool) {
	t.Helper()
	before := tap()
	if err := g.SendUDP(addr("203.0.113.1"), 5); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	if !want {
		deadline = time.Now().Add(500 * time.Millisecond)
	}
	for tap()-before < 5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := tap() - before; (got >= 5) != want {
		t.Errorf("%s: %d packets to %s toward %s, want them sent: %v", g.Alias, got, learntPrefix, peer, want)
	}
}

// streamed reads notifications until one has want (a flat line) or 10
// seconds pass.
func streamed(t *testing.T, sc *subClient, want string) bool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if has(flat(t, sc.notification(t)), want) {
			return true
		}
	}
	return false
}

func waitGone(t *testing.T, r *realized, p string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := r.get(t, p, gpb.GetRequest_STATE)
		if status.Code(err) == codes.NotFound {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still there (%v)", p, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// txPackets reads a link's transmitted packet counter.
func txPackets(t *testing.T, r *realized, ns, link string) uint64 {
	t.Helper()
	out, err := r.lab.IP(ns, "-j", "-s", "link", "show", "dev", link)
	if err != nil {
		t.Fatal(err)
	}
	var links []struct {
		Stats struct {
			TX struct {
				Packets uint64 `json:"packets"`
			} `json:"tx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -j -s link show %s: %v: %s", link, err, out)
	}
	return links[0].Stats.TX.Packets
}

// A session with a password-file is signed with TCP MD5: FRR with
// another password never gets a session, with the same one it does. A
// password file that cannot be read refuses the Set at /bgp.
func TestBGPPasswordFile(t *testing.T) {
	r := startRealized(t, nil)
	peer := frrlab.Start(t, testAS, testAS)
	pw := filepath.Join(t.TempDir(), "bgp-password")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := peer.Configure("neighbor " + peer.Local.String() + " password wrong"); err != nil {
		t.Fatal(err)
	}
	nb := "/bgp/neighbors/neighbor[address=" + peer.Addr.String() + "]"
	_, err := r.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/bgp", bgpConfig(peer, "up")), upd(t, nb+"/password-file", `"`+pw+`.missing"`)}})
	wantCode(t, err, codes.Aborted, "/bgp")
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/bgp", bgpConfig(peer, "up")), upd(t, nb+"/password-file", `"`+pw+`"`)}})
	time.Sleep(4 * time.Second) // several connect retries (1 s at FRR)
	if s := r.leaf(t, nb+"/status/session-state"); s == "established" {
		t.Fatal("established with FRR using another password")
	}
	if err := peer.Configure("neighbor " + peer.Local.String() + " password s3cret"); err != nil {
		t.Fatal(err)
	}
	waitLeaf(t, r, nb+"/status/session-state", "established")
}

// A neighbor that announces more than max-prefixes loses its session,
// says why, and its routes leave the VRFs.
func TestBGPMaxPrefixes(t *testing.T) {
	r := startRealized(t, nil)
	peer := frrlab.Start(t, testAS, testAS)
	r.setRoot(t, withBGP(t, r.labScenario(t, "any-to-any"), peer))
	nb := "/bgp/neighbors/neighbor[address=" + peer.Addr.String() + "]"
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, nb+"/max-prefixes", "2")}})
	waitLeaf(t, r, nb+"/status/session-state", "established")
	for i, p := range []string{"203.0.113.0/24", "198.51.100.0/24"} {
		if err := peer.Originate(p, learntRD, uint32(learntLabel+i), "64512:100"); err != nil {
			t.Fatal(err)
		}
	}
	waitLeaf(t, r, blueLearnt+"/route[prefix=198.51.100.0/24][route-distinguisher="+learntRD+"]/installed", true)
	if err := peer.Originate("192.0.2.128/25", learntRD, learntLabel+2, "64512:100"); err != nil {
		t.Fatal(err)
	}
	waitGone(t, r, blueLearnt)
	waitLeafContains(t, r, nb+"/status/last-error", "max-prefixes (2)")
	waitLeaf(t, r, nb+"/status/max-prefixes-exceeded", "1")
	if s := r.leaf(t, nb+"/status/session-state"); s == "established" {
		t.Error("the session survived a third prefix")
	}
	if at, _ := r.get(t, nb+"/status/established-at", gpb.GetRequest_ALL); at != nil {
		t.Errorf("established-at = %v while the session is closed", at)
	}
}

func waitLeafContains(t *testing.T, r *realized, p, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, _ := r.get(t, p, gpb.GetRequest_ALL)
		if s, _ := v.(string); strings.Contains(s, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want it to contain %q", p, v, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
