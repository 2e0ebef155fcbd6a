package daemon_test

// Traffic counters: read from the data plane (the Linux vForwarder's
// veth counters) when a client asks, by Get and by SAMPLE, under the
// same authorization as every other read. Root only (real namespaces).

import (
	"encoding/json"
	"net/netip"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/server/auth"
	"github.com/netready/netready/southbound/linuxfwd/lab"
)

const (
	blueVPN = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]"
	// udpFrame is one lab datagram as a veth counts it: Ethernet, IPv4
	// and UDP headers and the 12-byte payload "netready lab".
	udpFrame = 14 + 20 + 8 + 12
)

// counters are the four leaves of a counters container.
type counters struct{ inPkts, inOctets, outPkts, outOctets uint64 }

func (c counters) minus(o counters) counters {
	return counters{c.inPkts - o.inPkts, c.inOctets - o.inOctets, c.outPkts - o.outPkts, c.outOctets - o.outOctets}
}

func (c counters) plus(o counters) counters {
	return counters{c.inPkts + o.inPkts, c.inOctets + o.inOctets, c.outPkts + o.outPkts, c.outOctets + o.outOctets}
}

// parseCounters reads a counters container decoded from JSON_IETF, where
// counter64 values are strings.
func parseCounters(t *testing.T, v any) counters {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("counters: %v", v)
	}
	leaf := func(name string) uint64 {
		s, ok := m[name].(string)
		n, err := strconv.ParseUint(s, 10, 64)
		if !ok || err != nil {
			t.Fatalf("counters: %s = %v (%T), want a counter64 string", name, m[name], m[name])
		}
		return n
	}
	return counters{leaf("in-pkts"), leaf("in-octets"), leaf("out-pkts"), leaf("out-octets")}
}

func (r *realized) counters(t *testing.T, iface string) counters {
	t.Helper()
	return parseCounters(t, r.leaf(t, blueVPN+"/bindings/binding[interface="+iface+"]/counters"))
}

// quietPair takes g1 (host-a) and g3 (host-b) of the any-to-any scenario
// and quiets g1's link, so that only the test's datagrams move their
// counters. g3 needs no quieting: host-b's ebpf-vforwarder sends it no
// ARP or IPv6 of its own, and counts IPv4 only (its ARP is answered,
// not counted).
func quietPair(t *testing.T, r *realized) (g1, g3 *lab.Guest) {
	t.Helper()
	g1 = r.guest("host-a", "blue/blue/g1", "10.1.1.5/24")
	g3 = r.guest("host-b", "blue/blue/g3", "10.1.1.6/24")
	if err := g1.Quiet(addr("10.1.1.6")); err != nil {
		t.Fatal(err)
	}
	return g1, g3
}

func sendUDP(t *testing.T, from, to *lab.Guest, dst string, n int) {
	t.Helper()
	want := to.UDPReceived() + int64(n)
	if err := from.SendUDP(addr(dst), n); err != nil {
		t.Fatal(err)
	}
	if got := lab.WaitUDP(want, 3*time.Second, to); got != want {
		t.Fatalf("%s received %d datagrams, want %d", to.Alias, got, want)
	}
}

// n datagrams from g1 to g3 are exactly n packets (and n frames' octets)
// in at g1's binding and out at g3's; the VPN's counters are the sum of
// its bindings'; a backend that cannot answer leaves its bindings, and
// so the VPN, without counters rather than with zeros.
func TestCountersGet(t *testing.T) {
	r := startRealized(t, nil)
	r.setRoot(t, r.labScenario(t, "any-to-any"))
	g1, g3 := quietPair(t, r)

	g1Before, g3Before := r.counters(t, "g1"), r.counters(t, "g3")
	const n = 40
	sendUDP(t, g1, g3, "10.1.1.6", n)
	if got, want := r.counters(t, "g1").minus(g1Before), (counters{inPkts: n, inOctets: n * udpFrame}); got != want {
		t.Errorf("g1 (sender) moved by %+v, want %+v", got, want)
	}
	if got, want := r.counters(t, "g3").minus(g3Before), (counters{outPkts: n, outOctets: n * udpFrame}); got != want {
		t.Errorf("g3 (receiver) moved by %+v, want %+v", got, want)
	}

	// One read: the VPN's sum and every binding's counters agree.
	vpn := r.leaf(t, blueVPN).(map[string]any)
	var sum counters
	bindings := vpn["bindings"].(map[string]any)["binding"].([]any)
	for _, b := range bindings {
		sum = sum.plus(parseCounters(t, b.(map[string]any)["counters"]))
	}
	if got := parseCounters(t, vpn["counters"]); got != sum || sum.inPkts < n {
		t.Errorf("VPN counters %+v, sum of its %d bindings %+v", got, len(bindings), sum)
	}

	// Counters are state: a configuration Get has none.
	if _, err := r.get(t, blueVPN+"/bindings/binding[interface=g1]/counters", gpb.GetRequest_CONFIG); status.Code(err) != codes.NotFound {
		t.Errorf("CONFIG Get of counters: %v, want NotFound", err)
	}

	// vendor-b (host-b) taken down: g3 has no counters (not zeros), and
	// the VPN, short of it, has no sum; host-a's still count.
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=vendor-b]/admin-state", `"down"`)}})
	if v, err := r.get(t, blueVPN+"/bindings/binding[interface=g3]/counters", gpb.GetRequest_STATE); status.Code(err) != codes.NotFound {
		t.Errorf("g3 on a backend that is down: %v, %v; want no counters (NotFound)", v, err)
	}
	if v, err := r.get(t, blueVPN+"/counters", gpb.GetRequest_ALL); status.Code(err) != codes.NotFound {
		t.Errorf("VPN with a binding not read: %v, %v; want no sum (NotFound)", v, err)
	}
	r.counters(t, "g1")
}

// A SAMPLE subscription delivers the counters at its interval, read
// anew each time: they grow with the traffic sent between samples.
func TestCountersSample(t *testing.T) {
	r := startRealized(t, nil)
	r.setRoot(t, r.labScenario(t, "any-to-any"))
	g1, g3 := quietPair(t, r)
	const interval = 200 * time.Millisecond
	l := streamList(gpb.SubscriptionMode_SAMPLE, blueVPN+"/bindings/binding[interface=g1]/counters/in-pkts")
	l.Subscription[0].SampleInterval = uint64(interval)
	sc := r.subscribe(t, l)
	value := func(ns ...*gpb.Notification) uint64 {
		t.Helper()
		var last uint64
		for _, n := range ns {
			for _, u := range n.GetUpdate() {
				var s string
				if err := json.Unmarshal(u.GetVal().GetJsonIetfVal(), &s); err != nil {
					t.Fatalf("in-pkts %s: %v", u.GetVal(), err)
				}
				v, err := strconv.ParseUint(s, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				last = v
			}
		}
		return last
	}
	prev := value(sc.untilSync(t)...)
	start := time.Now()
	samples := 0
	for round := range 3 {
		sendUDP(t, g1, g3, "10.1.1.6", 10)
		// The next samples reach the new value within a few intervals.
		for {
			v := value(sc.notification(t))
			samples++
			if v < prev {
				t.Fatalf("round %d: in-pkts went back from %d to %d", round, prev, v)
			}
			if v >= prev+10 {
				prev = v
				break
			}
			if samples > 50 {
				t.Fatalf("round %d: in-pkts stayed at %d after %d samples", round, v, samples)
			}
		}
	}
	// Samples come at the interval, not faster.
	if min := time.Duration(samples-1) * interval; time.Since(start) < min {
		t.Errorf("%d samples in %v, interval %v", samples, time.Since(start), interval)
	}
}

// Counters are read under the same authorization as everything else:
// a tenant administrator reads its own bindings' counters and never
// another tenant's, by Get or by subscription.
func TestCountersAuthorized(t *testing.T) {
	dir := t.TempDir()
	users := auth.NewUsers()
	users.Cost = 4
	for _, u := range []struct{ name, tenant string }{{"alice", "blue"}, {"bob", "red"}} {
		if err := users.Add(u.name, u.name+"-secret", []string{"tenant-admin"}, []string{u.tenant}); err != nil {
			t.Fatal(err)
		}
	}
	if err := users.Add("admin", "admin-secret", []string{"admin"}, nil); err != nil {
		t.Fatal(err)
	}
	usersFile := filepath.Join(dir, "users.json")
	if err := users.Save(usersFile); err != nil {
		t.Fatal(err)
	}
	l := lab.New(t, lab.RandomPrefix(), map[string]netip.Addr{"host-a": hostA, "host-b": hostB})
	r := &realized{lab: l, testServer: startWithCreds(t, daemon.Config{DataDir: dir, UsersFile: usersFile, InitEmptyStore: true,
		Drivers: daemon.Drivers()}, password{"admin", "admin-secret"})}
	r.setRoot(t, r.labScenario(t, "any-to-any"))

	const all = "/tenants/tenant[name=*]/vpns/vpn[name=*]/bindings/binding[interface=*]/counters/in-pkts"
	for user, want := range map[string]int{"alice": 4, "bob": 2} { // blue has 4 bindings, red 2
		c := r.as(t, user)
		resp, err := c.Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, all)}, Encoding: gpb.Encoding_JSON_IETF})
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		tenant := map[string]string{"alice": "blue", "bob": "red"}[user]
		ups := resp.GetNotification()[0].GetUpdate()
		for _, u := range ups {
			if got := u.GetPath().GetElem()[1].GetKey()["name"]; got != tenant {
				t.Errorf("%s read counters of tenant %s", user, got)
			}
		}
		if len(ups) != want {
			t.Errorf("%s read %d bindings' counters, want %d", user, len(ups), want)
		}
		if n := subscribedLeaves(t, c, all, gpb.SubscriptionList_ONCE); n != want {
			t.Errorf("%s subscribed to %d bindings' counters, want %d", user, n, want)
		}
	}
	_, err := r.as(t, "bob").Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, blueVPN+"/bindings/binding[interface=g1]/counters")}, Encoding: gpb.Encoding_JSON_IETF})
	if status.Code(err) != codes.NotFound {
		t.Errorf("bob read blue's counters: %v, want NotFound", err)
	}
}

// ON_CHANGE (and TARGET_DEFINED) on counters: the initial values come
// with the sync, and then nothing while traffic flows — counters are not
// change events (they change with every packet); a heartbeat re-reads
// them.
func TestCountersOnChange(t *testing.T) {
	r := startRealized(t, nil)
	r.setRoot(t, r.labScenario(t, "any-to-any"))
	g1, g3 := quietPair(t, r)
	const p = blueVPN + "/bindings/binding[interface=g1]/counters/in-pkts"
	for _, mode := range []gpb.SubscriptionMode{gpb.SubscriptionMode_ON_CHANGE, gpb.SubscriptionMode_TARGET_DEFINED} {
		sc := r.subscribe(t, streamList(mode, p))
		if got := flat(t, sc.untilSync(t)...); len(got) != 1 {
			t.Errorf("%v: initial values %v, want in-pkts", mode, got)
		}
		sendUDP(t, g1, g3, "10.1.1.6", 5)
		sc.quiet(t, 300*time.Millisecond)
	}
	l := streamList(gpb.SubscriptionMode_ON_CHANGE, p)
	l.Subscription[0].HeartbeatInterval = uint64(100 * time.Millisecond)
	sc := r.subscribe(t, l)
	first := flat(t, sc.untilSync(t)...)
	sendUDP(t, g1, g3, "10.1.1.6", 5)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := flat(t, sc.notification(t))
		if len(got) == 1 && len(first) == 1 && got[0] != first[0] {
			break // the heartbeat read the new value
		}
		if time.Now().After(deadline) {
			t.Fatalf("heartbeats still send %v after traffic (first %v)", got, first)
		}
	}
}
