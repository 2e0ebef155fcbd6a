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
	for _, h := range []string{"host-a", "host-b"} {
		blue := vrfWithRoute(t, r, h, "10.3.7.9") // Blue only
		if h == "host-b" {
			blue = vrfWithRoute(t, r, h, "10.3.7.10")
		}
		hop := fmt.Sprintf("via 169.254.%d.%d dev nrx", learntLabel/256, learntLabel%256)
		for _, ns := range r.vrfNamespaces(t, h) {
			out, _ := r.lab.IP(ns, "route", "show", learntPrefix)
			if got, want := strings.Contains(out, hop), ns == blue; got != want {
				t.Errorf("%s (Blue: %v) routes %s: %q", ns, want, learntPrefix, out)
			}
		}
		out, _ := exec.Command("ip", "netns", "exec", blue, "bridge", "fdb", "show", "dev", "nrx").CombinedOutput()
		fdb := string(out)
		if !strings.Contains(fdb, "dst "+peer.Addr.String()) || !strings.Contains(fdb, fmt.Sprintf("vni %d", learntLabel)) {
			t.Errorf("%s: nrx's FDB does not send label %d to %s: %s", blue, learntLabel, peer.Addr, fdb)
		}
	}

	// A guest's packets to the learnt prefix leave host-a over VXLAN
	// toward FRR's next hop: in the host namespace, that address is routed
	// to a veth (no IPv6, a permanent neighbour: nothing else goes out
	// on it) whose counter counts them.
	g1 := r.guest("host-a", "blue/blue/g1", "10.1.1.5/24")
	hostNS := r.lab.HostNS("host-a")
	for _, args := range [][]string{
		{"link", "add", "nrfrr", "type", "veth", "peer", "name", "nrfrr1"},
		{"link", "set", "nrfrr", "addrgenmode", "none"}, {"link", "set", "nrfrr1", "addrgenmode", "none"},
		{"link", "set", "nrfrr", "up"}, {"link", "set", "nrfrr1", "up"},
		{"route", "add", peer.Addr.String() + "/32", "dev", "nrfrr"},
		{"neigh", "add", peer.Addr.String(), "lladdr", "02:00:00:00:00:01", "dev", "nrfrr", "nud", "permanent"},
	} {
		if out, err := r.lab.IP(hostNS, args...); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	before := txPackets(t, r, hostNS, "nrfrr")
	if err := g1.SendUDP(addr("203.0.113.1"), 5); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for txPackets(t, r, hostNS, "nrfrr")-before < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("%d packets toward %s, want 5", txPackets(t, r, hostNS, "nrfrr")-before, peer.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Withdrawn at FRR: gone from both hosts and from the status.
	if err := peer.Withdraw(learntPrefix, learntRD, learntLabel); err != nil {
		t.Fatal(err)
	}
	waitGone(t, r, blueLearnt)
	for _, h := range []string{"host-a", "host-b"} {
		for _, ns := range r.vrfNamespaces(t, h) {
			if out, _ := r.lab.IP(ns, "route", "show", learntPrefix); strings.TrimSpace(out) != "" {
				t.Errorf("%s still routes %s after the withdrawal: %s", ns, learntPrefix, out)
			}
		}
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
	if s := r.leaf(t, nb+"/status/session-state"); s == "established" {
		t.Error("the session survived a third prefix")
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
