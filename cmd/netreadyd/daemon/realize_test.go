package daemon_test

// Acceptance tests of southbound realization: the L3VPN scenarios,
// configured only through gNMI Set, carry real packets between guests
// (namespaces standing for VMs) on two hosts served by two Linux
// vForwarder backends (vendor A and vendor B). They need root; the lab
// skips them otherwise.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/ebpffwd"
	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/linuxfwd/lab"
	"github.com/netready/netready/southbound/routing"
)

var (
	hostA = netip.MustParseAddr("192.0.2.1")
	hostB = netip.MustParseAddr("192.0.2.2")
)

// realized is a server whose backends drive a lab's host namespaces.
type realized struct {
	*testServer
	lab *lab.Lab
	// vendorB, when set, is the driver labScenario gives backend
	// vendor-b (host-b) instead of the scenario's.
	vendorB string
}

// startRealized starts a server with the built-in drivers (or drivers)
// on a fresh lab with host-a and host-b.
func startRealized(t *testing.T, drivers southbound.Registry) *realized {
	t.Helper()
	l := lab.New(t, lab.RandomPrefix(), map[string]netip.Addr{"host-a": hostA, "host-b": hostB})
	t.Cleanup(func() { // what ebpf-vforwarder pinned for the lab's hosts
		for _, h := range []string{"host-a", "host-b"} {
			os.RemoveAll(ebpffwd.PinDir(ebpffwd.DefaultBPFFS, l.Prefix(), h))
		}
	})
	if drivers == nil {
		drivers = daemon.Drivers()
	}
	return &realized{testServer: startWith(t, daemon.Config{Drivers: drivers}), lab: l}
}

// labScenario returns a scenario with every backend pointed at the lab's
// namespaces (the netns-prefix option).
func (r *realized) labScenario(t testing.TB, name string) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(scenario(t, name), &doc); err != nil {
		t.Fatal(err)
	}
	for _, b := range doc["netready-infrastructure:backends"].(map[string]any)["backend"].([]any) {
		b.(map[string]any)["option"] = []any{map[string]any{"name": "netns-prefix", "value": r.lab.Prefix()}}
		if b.(map[string]any)["name"] == "vendor-b" && r.vendorB != "" {
			b.(map[string]any)["driver"] = r.vendorB
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (r *realized) guest(host, alias, addr string) *lab.Guest {
	return r.lab.Guest(host, alias, netip.MustParsePrefix(addr))
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func reach(t *testing.T, from *lab.Guest, to string) {
	t.Helper()
	if err := from.Ping(addr(to)); err != nil {
		t.Errorf("%s cannot reach %s: %v", from.Alias, to, err)
	}
}

func noReach(t *testing.T, from *lab.Guest, to string) {
	t.Helper()
	if err := from.Ping(addr(to)); err == nil {
		t.Errorf("%s reaches %s", from.Alias, to)
	}
}

// leaf returns the value of one leaf (decoded JSON_IETF).
func (r *realized) leaf(t *testing.T, p string) any {
	t.Helper()
	v, err := r.get(t, p, gpb.GetRequest_ALL)
	if err != nil {
		t.Fatalf("get %s: %v", p, err)
	}
	return v
}

// As the scenario says: one VPN spans host-a on linux-vforwarder
// (vendor-a) and host-b on ebpf-vforwarder (vendor-b).
func TestRealizeAnyToAnyMixedVendors(t *testing.T) { realizeAnyToAny(t, "") }

// Both hosts on linux-vforwarder.
func TestRealizeAnyToAnyLinuxOnly(t *testing.T) { realizeAnyToAny(t, linuxfwd.Kind) }

func realizeAnyToAny(t *testing.T, vendorB string) {
	r := startRealized(t, nil)
	r.vendorB = vendorB
	r.setRoot(t, r.labScenario(t, "any-to-any"))
	g1 := r.guest("host-a", "blue/blue/g1", "10.1.1.5/24")
	g2 := r.guest("host-a", "blue/blue/g2", "10.3.7.9/24")
	g3 := r.guest("host-b", "blue/blue/g3", "10.1.1.6/24")
	g4 := r.guest("host-b", "blue/blue/g4", "10.3.7.10/24")
	g5 := r.guest("host-a", "red/red/g5", "10.1.1.5/24")
	g6 := r.guest("host-b", "red/red/g6", "10.1.1.6/24")

	reach(t, g1, "10.1.1.6")  // across hosts
	reach(t, g1, "10.3.7.9")  // same host
	reach(t, g2, "10.3.7.10") // across hosts, other subnet
	reach(t, g4, "10.1.1.5")
	reach(t, g5, "10.1.1.6")
	noReach(t, g5, "10.3.7.9") // Blue's subnet does not exist in Red
	noReach(t, g6, "10.3.7.10")

	// The same address in both VPNs: each VPN's traffic stays its own.
	if err := g1.SendUDP(addr("10.1.1.6"), 20); err != nil {
		t.Fatal(err)
	}
	if err := g5.SendUDP(addr("10.1.1.6"), 7); err != nil {
		t.Fatal(err)
	}
	lab.WaitUDP(27, 3*time.Second, g3, g6)
	if g3.UDPReceived() != 20 || g6.UDPReceived() != 7 {
		t.Errorf("10.1.1.6: blue g3 got %d (want 20), red g6 got %d (want 7)", g3.UDPReceived(), g6.UDPReceived())
	}

	const b = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]"
	for p, want := range map[string]any{
		b + "/bindings/binding[interface=g3]/status/oper-status":                 "up",
		b + "/bindings/binding[interface=g3]/status/sync-state":                  "in-sync",
		b + "/bindings/binding[interface=g3]/status/backend[name=vendor-b]/name": "vendor-b",
		b + "/status/oper-status":                                                "up",
		"/backends/backend[name=vendor-a]/status/sync-state":                     "in-sync",
		"/hosts/host[name=host-b]/status/oper-status":                            "up",
		"/tenants/tenant[name=red]/ports/port[name=g6-nic0]/status/oper-status":  "up",
	} {
		if got := r.leaf(t, p); got != want {
			t.Errorf("%s = %v, want %v", p, got, want)
		}
	}

	// Admin-down takes a binding out of the network and says so.
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, b+"/bindings/binding[interface=g3]/admin-state", `"down"`)}})
	noReach(t, g1, "10.1.1.6")
	if got := r.leaf(t, b+"/bindings/binding[interface=g3]/status/oper-status"); got != "down" {
		t.Errorf("admin-down binding oper-status %v", got)
	}
	// Taken down on purpose: the VPN is not degraded by it.
	if got := r.leaf(t, b+"/status/oper-status"); got != "up" {
		t.Errorf("VPN with one binding admin down: oper-status %v", got)
	}
}

// As the scenario says: one VPN spans host-a on linux-vforwarder
// (vendor-a) and host-b on ebpf-vforwarder (vendor-b).
func TestRealizeECMPMixedVendors(t *testing.T) { realizeECMP(t, "") }

// Both hosts on linux-vforwarder.
func TestRealizeECMPLinuxOnly(t *testing.T) { realizeECMP(t, linuxfwd.Kind) }

func realizeECMP(t *testing.T, vendorB string) {
	r := startRealized(t, nil)
	r.vendorB = vendorB
	r.setRoot(t, r.labScenario(t, "ecmp"))
	const vpn = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]"
	vnf := []*lab.Guest{
		r.guest("host-a", "blue/blue/vnf1-1", "10.1.1.5/24"),
		r.guest("host-a", "blue/blue/vnf1-2", "10.1.1.5/24"),
		r.guest("host-b", "blue/blue/vnf1-3", "10.1.1.5/24"),
	}
	wan := r.guest("host-a", "blue/blue/vnf2", "10.1.1.6/24") // gateway to the WAN (10.1.2.0/24)
	r.guest("host-b", "blue/blue/vnf3", "10.1.1.3/24")
	g5 := r.guest("host-b", "blue/blue/g5", "10.1.1.7/24")

	reach(t, g5, "10.1.1.5")
	reach(t, wan, "10.1.1.5")
	// The static route to the WAN is in the network, and says so.
	if got := r.leaf(t, vpn+"/static-routes/route[prefix=10.1.2.0/24]/status/installed"); got != true {
		t.Errorf("static route 10.1.2.0/24: installed = %v, want true", got)
	}

	// Load balance: many flows from G5 and from the WAN side reach all three.
	counts := func() []int64 {
		out := make([]int64, len(vnf))
		for i, g := range vnf {
			out[i] = g.UDPReceived()
		}
		return out
	}
	send := func(from *lab.Guest, flows int) []int64 {
		t.Helper()
		before := counts()
		if err := from.SendUDP(addr("10.1.1.5"), flows); err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, c := range before {
			total += c
		}
		lab.WaitUDP(total+int64(flows), 5*time.Second, vnf...)
		after := counts()
		for i := range after {
			after[i] -= before[i]
		}
		return after
	}
	for _, from := range []*lab.Guest{g5, wan} {
		got := send(from, 300)
		var sum int64
		for i, n := range got {
			sum += n
			if n < 30 { // an even share is 100
				t.Errorf("from %s: %s got %d of 300 flows: %v", from.Alias, vnf[i].Alias, n, got)
			}
		}
		if sum != 300 {
			t.Errorf("from %s: %d of 300 flows arrived: %v", from.Alias, sum, got)
		}
		t.Logf("load-balance from %s: %v", from.Alias, got)
	}

	// Fail-over: only the preferred binding (vnf1-1, preference 10) gets
	// traffic; when it goes, the next (vnf1-2) takes it all.
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, vpn+"/anycast/mode", `"fail-over"`)}})
	if got := send(g5, 100); got[0] != 100 {
		t.Errorf("fail-over: %v, want all 100 on vnf1-1", got)
	}
	r.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, vpn+"/bindings/binding[interface=vnf1-1]")}})
	if got := send(g5, 100); got[1] != 100 {
		t.Errorf("after deleting vnf1-1: %v, want all 100 on vnf1-2", got)
	}
	if got := send(wan, 100); got[1] != 100 {
		t.Errorf("from the WAN side after deleting vnf1-1: %v, want all 100 on vnf1-2", got)
	}
}

// As the scenario says: one VPN spans host-a on linux-vforwarder
// (vendor-a) and host-b on ebpf-vforwarder (vendor-b).
func TestRealizeHubAndSpokeMixedVendors(t *testing.T) { realizeHubAndSpoke(t, "") }

// Both hosts on linux-vforwarder.
func TestRealizeHubAndSpokeLinuxOnly(t *testing.T) { realizeHubAndSpoke(t, linuxfwd.Kind) }

func realizeHubAndSpoke(t *testing.T, vendorB string) {
	r := startRealized(t, nil)
	r.vendorB = vendorB
	r.setRoot(t, r.labScenario(t, "hub-and-spoke"))
	hub := r.guest("host-a", "blue/blue/vfw", "10.1.1.5/24")
	if err := hub.SetForwarding(true); err != nil {
		t.Fatal(err)
	}
	vnf1 := r.guest("host-a", "blue/blue/vnf1", "10.3.7.9/24")
	vnf2 := r.guest("host-b", "blue/blue/vnf2", "10.1.1.6/24")
	vnf3 := r.guest("host-b", "blue/blue/vnf3", "10.3.7.10/24")

	reach(t, vnf1, "10.1.1.5") // every spoke reaches the hub
	reach(t, vnf3, "10.1.1.5")
	for _, c := range []struct {
		from *lab.Guest
		to   string
	}{{vnf1, "10.1.1.6"}, {vnf2, "10.3.7.10"}, {vnf3, "10.3.7.9"}} {
		before := hub.RxPackets()
		reach(t, c.from, c.to)
		// Echo request and reply both pass the hub, which receives each
		// once (and sends it back out).
		if got := hub.RxPackets() - before; got < 2 {
			t.Errorf("%s -> %s: the hub saw %d packets, want the request and the reply", c.from.Alias, c.to, got)
		}
	}
	// Spoke traffic is delivered by the hub, not directly: UDP from vnf1
	// to vnf2 arrives with the hub forwarding it.
	before := hub.RxPackets()
	if err := vnf1.SendUDP(addr("10.1.1.6"), 10); err != nil {
		t.Fatal(err)
	}
	if lab.WaitUDP(10, 3*time.Second, vnf2) != 10 || hub.RxPackets()-before < 10 {
		t.Errorf("10 datagrams vnf1 -> vnf2: vnf2 got %d, the hub saw %d packets", vnf2.UDPReceived(), hub.RxPackets()-before)
	}

	r.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/bindings/binding[interface=vfw]")}})
	noReach(t, vnf1, "10.1.1.6")
	noReach(t, vnf2, "10.3.7.10")
}

// vrfNamespaces returns the names of the VRF namespaces on host, failing
// the test when there are none.
func (r *realized) vrfNamespaces(t testing.TB, host string) []string {
	t.Helper()
	var out []string
	for _, ns := range r.lab.Namespaces() {
		if strings.HasPrefix(ns, strings.TrimSuffix(r.lab.VRFNS(host, 0), "0")) {
			out = append(out, ns)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no VRF namespace on %s among %v", host, r.lab.Namespaces())
	}
	return out
}

// vrfRoutes returns the routes of every VRF namespace of a host, one
// string per namespace.
func (r *realized) vrfRoutes(t testing.TB, host string) string {
	t.Helper()
	var b strings.Builder
	for _, ns := range r.vrfNamespaces(t, host) {
		out, err := r.lab.IP(ns, "route", "show")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:\n%s\n", strings.TrimPrefix(ns, r.lab.Prefix()), out)
	}
	return b.String()
}

// A backend that cannot take its part aborts the whole Set: the other
// backend is reverted, the store and the data plane are as before, and
// the failing backend's status says why.
func TestRealizeBackendFailureAborts(t *testing.T) {
	r := startRealized(t, nil)
	r.setRoot(t, r.labScenario(t, "any-to-any"))
	g1 := r.guest("host-a", "blue/blue/g1", "10.1.1.5/24")
	r.guest("host-a", "blue/blue/g2", "10.3.7.9/24")
	configBefore, routesA := r.config(t), r.vrfRoutes(t, "host-a")

	if err := r.lab.DeleteHost("host-b"); err != nil {
		t.Fatal(err)
	}
	// One transaction for both backends: g2 gets a second address (host-a,
	// vendor-a) and g3 a new one (host-b, vendor-b, whose host is gone).
	const b = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/bindings/binding"
	_, err := r.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{
		upd(t, b+"[interface=g2]/ip-address", `["10.3.7.9", "10.3.7.99"]`),
		upd(t, b+"[interface=g3]/ip-address", `["10.1.1.66"]`),
	}})
	wantCode(t, err, codes.Aborted, "vendor-b")
	if got := r.config(t); !equalJSON(got, configBefore) {
		t.Error("the configuration changed")
	}
	if got := r.vrfRoutes(t, "host-a"); got != routesA {
		t.Errorf("vendor-a was not reverted:\nbefore:\n%s\nafter:\n%s", routesA, got)
	}
	reach(t, g1, "10.3.7.9")
	waitLeaf(t, r, "/backends/backend[name=vendor-b]/status/sync-state", "error")
	msg, _ := r.leaf(t, "/backends/backend[name=vendor-b]/status/backend[name=vendor-b]/message").(string)
	if !strings.Contains(msg, "host-b") {
		t.Errorf("vendor-b status message %q does not name the host", msg)
	}
}

// slowDriver delays every Apply of the real driver it wraps by delay
// (nanoseconds, 0 at first): a backend that stops answering, which a
// test cannot provoke in the kernel.
type slowDriver struct {
	southbound.Forwarder
	delay *atomic.Int64
}

func (s slowDriver) Apply(ctx context.Context, changes []routing.Change) error {
	select {
	case <-time.After(time.Duration(s.delay.Load())):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.Forwarder.Apply(ctx, changes)
}

// A backend that stops answering within its timeout aborts the Set: the
// other backend is reverted. vendor-b runs the real ebpf-vforwarder
// under slow-vforwarder from the start (a driver kind cannot change in
// place under hosts), and stops answering once the lab is up.
func TestRealizeBackendTimeoutAborts(t *testing.T) {
	drivers := daemon.Drivers()
	real := drivers[ebpffwd.Kind]
	delay := new(atomic.Int64)
	drivers["slow-vforwarder"] = southbound.Plugin{Caps: real.Caps, Open: func(ctx context.Context, b southbound.Backend) (southbound.Driver, error) {
		d, err := real.Open(ctx, b)
		if err != nil {
			return nil, err
		}
		return slowDriver{Forwarder: d.(southbound.Forwarder), delay: delay}, nil
	}}
	r := startRealized(t, drivers)
	r.vendorB = "slow-vforwarder"
	r.setRoot(t, r.labScenario(t, "any-to-any"))
	g1 := r.guest("host-a", "blue/blue/g1", "10.1.1.5/24")
	r.guest("host-b", "blue/blue/g3", "10.1.1.6/24")
	routesA := r.vrfRoutes(t, "host-a")

	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{
		upd(t, "/backends/backend[name=vendor-b]/timeout", `200`),
	}})
	delay.Store(int64(time.Second))
	start := time.Now()
	_, err := r.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{
		upd(t, "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/bindings/binding[interface=g1]/ip-address", `["10.1.1.5", "10.1.1.55"]`),
		upd(t, "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/bindings/binding[interface=g3]/ip-address", `["10.1.1.6", "10.1.1.66"]`),
	}})
	wantCode(t, err, codes.Aborted, "timed out")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the Set took %v with a 200 ms backend timeout", took)
	}
	if got := r.vrfRoutes(t, "host-a"); got != routesA {
		t.Errorf("vendor-a was not reverted:\nbefore:\n%s\nafter:\n%s", routesA, got)
	}
	reach(t, g1, "10.1.1.6")
}

// What the refusal of an in-place driver change asks for works: host-b
// moves from vendor-b (ebpf-vforwarder) to a new backend on
// linux-vforwarder in one Set; the eBPF driver removes what it held there
// (its VXLAN device on UDP 4789 among it), so the Linux driver can bind
// its own, and traffic flows again once the guest takes its new end.
func TestRealizeHostMovesToAnotherDriver(t *testing.T) {
	r := startRealized(t, nil)
	r.setRoot(t, r.labScenario(t, "any-to-any"))
	g1 := r.guest("host-a", "blue/blue/g1", "10.1.1.5/24")
	r.guest("host-b", "blue/blue/g3", "10.1.1.6/24")
	reach(t, g1, "10.1.1.6")

	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{
		upd(t, "/backends/backend[name=vendor-c]", fmt.Sprintf(`{"driver": %q, "option": [{"name": "netns-prefix", "value": %q}]}`, linuxfwd.Kind, r.lab.Prefix())),
		upd(t, "/hosts/host[name=host-b]/backend", `"vendor-c"`),
	}})
	r.vrfNamespaces(t, "host-b") // linux-vforwarder's VRFs are there now
	r.guest("host-b", "blue/blue/g3", "10.1.1.6/24")
	reach(t, g1, "10.1.1.6")
	const g3 = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/bindings/binding[interface=g3]/status"
	for p, want := range map[string]any{g3 + "/oper-status": "up", g3 + "/backend[name=vendor-c]/sync-state": "in-sync"} {
		if got := r.leaf(t, p); got != want {
			t.Errorf("%s = %v, want %v", p, got, want)
		}
	}
}

// waitLeaf polls a leaf until it has want (status published outside a
// Set arrives asynchronously).
func waitLeaf(t *testing.T, r *realized, p string, want any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := r.get(t, p, gpb.GetRequest_ALL)
		if err == nil && v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v (%v), want %v", p, v, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Restarting netreadyd with the data plane in place changes nothing;
// a route removed by hand is reported as drift and restored by a resync.
func TestRealizeRestartAndDrift(t *testing.T) {
	r := startRealized(t, nil)
	r.setRoot(t, r.labScenario(t, "any-to-any"))
	g1 := r.guest("host-a", "blue/blue/g1", "10.1.1.5/24")
	r.guest("host-b", "blue/blue/g3", "10.1.1.6/24")
	nsBefore, routesA := r.lab.Namespaces(), r.vrfRoutes(t, "host-a")

	r.testServer = r.restart(t)
	for _, b := range []string{"vendor-a", "vendor-b"} {
		waitLeafSet(t, r, "/backends/backend[name="+b+"]/reconciliation/last-run")
		if n := r.leaf(t, "/backends/backend[name="+b+"]/reconciliation/drift-count"); n != float64(0) {
			t.Errorf("%s: drift after a restart: %v", b, n)
		}
	}
	if got := r.lab.Namespaces(); strings.Join(got, " ") != strings.Join(nsBefore, " ") {
		t.Errorf("namespaces changed across the restart:\n%v\n%v", nsBefore, got)
	}
	if got := r.vrfRoutes(t, "host-a"); got != routesA {
		t.Errorf("routes changed across the restart:\n%s\n%s", routesA, got)
	}
	reach(t, g1, "10.1.1.6")

	// By hand: remove the route to g3 in host-a's Blue VRF.
	ns := vrfWithRoute(t, r, "host-a", "10.1.1.6")
	if out, err := r.lab.IP(ns, "route", "del", "10.1.1.6/32"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	noReach(t, g1, "10.1.1.6")
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=vendor-a]/reconcile-request", `"1"`)}})
	reach(t, g1, "10.1.1.6")
	if n := r.leaf(t, "/backends/backend[name=vendor-a]/reconciliation/drift-count"); n != float64(1) {
		t.Errorf("drift-count %v, want 1", n)
	}
	drift := fmt.Sprint(r.leaf(t, "/backends/backend[name=vendor-a]/reconciliation/drift"))
	if !strings.Contains(drift, "10.1.1.6") {
		t.Errorf("drift %s does not name the route", drift)
	}
}

func waitLeafSet(t *testing.T, r *realized, p string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := r.get(t, p, gpb.GetRequest_ALL); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", p)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// vrfWithRoute returns the namespace of the VRF on host that has a route
// to dst.
func vrfWithRoute(t testing.TB, r *realized, host, dst string) string {
	t.Helper()
	for _, ns := range r.vrfNamespaces(t, host) {
		if out, _ := r.lab.IP(ns, "route", "show", dst+"/32"); strings.TrimSpace(out) != "" {
			return ns
		}
	}
	t.Fatalf("no VRF on %s routes %s:\n%s", host, dst, r.vrfRoutes(t, host))
	return ""
}

// A collector subscribed to the status paths sees realization happen: a
// new binding arrives up and in sync with the transaction that created it,
// and a backend that fails reports the error.
func TestRealizeStatusStream(t *testing.T) {
	r := startRealized(t, nil)
	r.setRoot(t, r.labScenario(t, "any-to-any"))
	const bind = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/bindings/binding"
	sc := r.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE,
		bind+"[interface=*]/status", "/backends/backend[name=*]/status/sync-state"))
	initial := flat(t, sc.untilSync(t)...)
	for _, want := range []string{
		bind + "[interface=g3]/status/oper-status=\"up\"",
		bind + "[interface=g3]/status/backend[name=vendor-b]/sync-state=\"in-sync\"",
		"/backends/backend[name=vendor-b]/status/sync-state=\"in-sync\"",
	} {
		if !has(initial, want) {
			t.Errorf("initial sync: missing %s in %v", want, initial)
		}
	}

	const tenant = "/tenants/tenant[name=blue]"
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{
		upd(t, tenant+"/ports/port[name=g7-nic0]", `{"host": "host-b"}`),
		upd(t, tenant+"/interfaces/interface[name=g7]", `{"type": "untagged", "port": "g7-nic0"}`),
		upd(t, bind+"[interface=g7]", `{"ip-address": ["10.1.1.7"]}`),
	}})
	created := flat(t, sc.notification(t))
	for _, want := range []string{
		bind + "[interface=g7]/status/oper-status=\"up\"",
		bind + "[interface=g7]/status/sync-state=\"in-sync\"",
		bind + "[interface=g7]/status/backend[name=vendor-b]/sync-state=\"in-sync\"",
	} {
		if !has(created, want) {
			t.Errorf("new binding: missing %s in %v", want, created)
		}
	}

	if err := r.lab.DeleteHost("host-b"); err != nil {
		t.Fatal(err)
	}
	_, err := r.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, bind+"[interface=g7]/ip-address", `["10.1.1.77"]`)}})
	wantCode(t, err, codes.Aborted, "vendor-b")
	failed := flat(t, sc.notification(t))
	if !has(failed, "/backends/backend[name=vendor-b]/status/sync-state=\"error\"") {
		t.Errorf("failed backend: %v", failed)
	}
}

// A host handed from one backend to another (both Linux vForwarders on the
// same kernel): the old backend lets go before the new one takes over, and
// the host's status names its new backend.
func TestRealizeHostMovesBetweenBackends(t *testing.T) {
	r := startRealized(t, nil)
	r.setRoot(t, r.labScenario(t, "any-to-any"))
	g1 := r.guest("host-a", "blue/blue/g1", "10.1.1.5/24")
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/hosts/host[name=host-b]/backend", `"vendor-a"`)}})
	// The port was recreated by its new backend: the guest takes it anew.
	r.guest("host-b", "blue/blue/g3", "10.1.1.6/24")
	reach(t, g1, "10.1.1.6")
	if got := r.leaf(t, "/hosts/host[name=host-b]/status/backend[name=vendor-a]/sync-state"); got != "in-sync" {
		t.Errorf("host-b on vendor-a: %v", got)
	}
	if _, err := r.get(t, "/hosts/host[name=host-b]/status/backend[name=vendor-b]", gpb.GetRequest_ALL); status.Code(err) != codes.NotFound {
		t.Errorf("host-b still lists vendor-b: %v", err)
	}
}
