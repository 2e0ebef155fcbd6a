package linuxfwd_test

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/netready/netready/southbound/linuxfwd/lab"
	"github.com/netready/netready/southbound/routing"
)

// anyToAnyModel: tenants blue and red, each with an any-to-any VPN, and
// overlapping 10.1.1.0/24 address spaces.
func anyToAnyModel() routing.Model {
	return routing.Model{
		Hosts: twoHosts(),
		VPNs: []routing.VPN{
			{
				Tenant: "blue", Name: "blue", Policy: routing.AnyToAny,
				ImportRTs: []string{"64512:100"}, ExportRTs: []string{"64512:100"},
				Bindings: []routing.Binding{
					bind("g1", "host-a", 100, "10.1.1.5"),
					bind("g2", "host-a", 100, "10.3.7.9"),
					bind("g3", "host-b", 100, "10.1.1.6"),
					bind("g4", "host-b", 100, "10.3.7.10"),
				},
			},
			{
				Tenant: "red", Name: "red", Policy: routing.AnyToAny,
				ImportRTs: []string{"64512:200"}, ExportRTs: []string{"64512:200"},
				Bindings: []routing.Binding{
					bind("g5", "host-a", 100, "10.1.1.5"),
					bind("g6", "host-b", 100, "10.1.1.6"),
					bind("g7", "host-b", 100, "10.9.9.9"),
				},
			},
		},
	}
}

func TestAnyToAny(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.apply(anyToAnyModel())

	g1 := r.guest("host-a", "blue", "blue", "g1", "10.1.1.5/24")
	g2 := r.guest("host-a", "blue", "blue", "g2", "10.3.7.9/24")
	g3 := r.guest("host-b", "blue", "blue", "g3", "10.1.1.6/24")
	g4 := r.guest("host-b", "blue", "blue", "g4", "10.3.7.10/24")
	g5 := r.guest("host-a", "red", "red", "g5", "10.1.1.5/24")
	g6 := r.guest("host-b", "red", "red", "g6", "10.1.1.6/24")
	g7 := r.guest("host-b", "red", "red", "g7", "10.9.9.9/24")

	// Across hosts and on one host, in each VPN.
	mustPing(t, g1, "10.1.1.6")
	mustPing(t, g1, "10.3.7.10")
	mustPing(t, g1, "10.3.7.9")
	mustPing(t, g4, "10.1.1.5")
	mustPing(t, g2, "10.3.7.10")
	mustPing(t, g5, "10.1.1.6")
	mustPing(t, g6, "10.9.9.9")
	mustPing(t, g7, "10.1.1.5")

	// Never the other tenant's.
	mustNotPing(t, g5, "10.3.7.10")
	mustNotPing(t, g1, "10.9.9.9")
	mustNotPing(t, g7, "10.3.7.9")

	// 10.1.1.6 is in both tenants: each reaches its own.
	const n = 20
	if err := g1.SendUDP(netip.MustParseAddr("10.1.1.6"), n); err != nil {
		t.Fatal(err)
	}
	if err := g5.SendUDP(netip.MustParseAddr("10.1.1.6"), 2*n); err != nil {
		t.Fatal(err)
	}
	lab.WaitUDP(3*n, 2*time.Second, g3, g6)
	if got := g3.UDPReceived(); got != n {
		t.Errorf("blue g3 received %d datagrams, want %d", got, n)
	}
	if got := g6.UDPReceived(); got != 2*n {
		t.Errorf("red g6 received %d datagrams, want %d", got, 2*n)
	}
	if got := g3.UDPReceivedFrom(netip.MustParseAddr("10.1.1.5")); got != n {
		t.Errorf("blue g3 received %d datagrams from 10.1.1.5, want %d", got, n)
	}

	// In sync: nothing to reconcile.
	if drift := r.reconcile(r.res); len(drift) != 0 {
		t.Errorf("drift after apply:\n%v", drift)
	}
}

// ecmpModel: anycast 10.1.1.5 on vnf1-1 (pref 10) and vnf1-2 (pref 20) on
// host-a and vnf1-3 (pref 30) on host-b, client on host-b. without drops
// the listed bindings.
func ecmpModel(mode routing.Mode, without ...string) routing.Model {
	v := routing.VPN{
		Tenant: "blue", Name: "blue", Policy: routing.AnyToAny,
		ImportRTs: []string{"64512:100"}, ExportRTs: []string{"64512:100"},
		Anycast: true, AnycastMode: mode,
	}
	for _, b := range []routing.Binding{
		bind("vnf1-1", "host-a", 10, "10.1.1.5"),
		bind("vnf1-2", "host-a", 20, "10.1.1.5"),
		bind("vnf1-3", "host-b", 30, "10.1.1.5"),
		bind("client", "host-b", 100, "10.1.1.7"),
	} {
		if !slices.Contains(without, b.Interface) {
			v.Bindings = append(v.Bindings, b)
		}
	}
	return routing.Model{Hosts: twoHosts(), VPNs: []routing.VPN{v}}
}

func TestAnycastECMP(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.apply(ecmpModel(routing.LoadBalance))
	vnf := []*lab.Guest{
		r.guest("host-a", "blue", "blue", "vnf1-1", "10.1.1.5/24"),
		r.guest("host-a", "blue", "blue", "vnf1-2", "10.1.1.5/24"),
		r.guest("host-b", "blue", "blue", "vnf1-3", "10.1.1.5/24"),
	}
	client := r.guest("host-b", "blue", "blue", "client", "10.1.1.7/24")
	anycast := netip.MustParseAddr("10.1.1.5")

	// send sends flows datagrams and returns what each VNF received.
	send := func(flows int) []int64 {
		t.Helper()
		before := make([]int64, len(vnf))
		for i, g := range vnf {
			before[i] = g.UDPReceived()
		}
		var sum int64
		for _, b := range before {
			sum += b
		}
		if err := client.SendUDP(anycast, flows); err != nil {
			t.Fatal(err)
		}
		lab.WaitUDP(sum+int64(flows), 2*time.Second, vnf...)
		time.Sleep(50 * time.Millisecond) // anything more (a loop) would show
		out := make([]int64, len(vnf))
		var got int64
		for i, g := range vnf {
			out[i] = g.UDPReceived() - before[i]
			got += out[i]
		}
		if got != int64(flows) {
			t.Errorf("VNFs received %d datagrams (%v), want %d", got, out, flows)
		}
		return out
	}

	// Load balance: every binding gets a real share (a third each, on
	// average; at least a tenth here).
	const flows = 300
	got := send(flows)
	for i, n := range got {
		if n < flows/10 {
			t.Errorf("load balance: vnf1-%d received %d of %d flows (%v)", i+1, n, flows, got)
		}
	}
	t.Logf("load balance over vnf1-1, vnf1-2, vnf1-3: %v", got)

	// Fail-over: only the preferred one.
	r.apply(ecmpModel(routing.FailOver))
	if got := send(100); got[0] != 100 {
		t.Errorf("fail-over: got %v, want everything at vnf1-1", got)
	}

	// Without it, the next one takes over.
	r.apply(ecmpModel(routing.FailOver, "vnf1-1"))
	if got := send(100); got[1] != 100 {
		t.Errorf("fail-over without vnf1-1: got %v, want everything at vnf1-2", got)
	}
	r.apply(ecmpModel(routing.FailOver, "vnf1-1", "vnf1-2"))
	if got := send(100); got[2] != 100 {
		t.Errorf("fail-over without vnf1-1 and vnf1-2: got %v, want everything at vnf1-3", got)
	}

	if drift := r.reconcile(r.res); len(drift) != 0 {
		t.Errorf("drift after apply:\n%v", drift)
	}
}

// hubSpokeModel: hub vfw 10.1.1.5 on host-a; spokes vnf1 (host-a), vnf2
// and vnf3 (host-b); static route 0.0.0.0/0 via the hub.
func hubSpokeModel(withHub bool) routing.Model {
	hub := func(iface, host string, role routing.Role, addr string) routing.Binding {
		b := bind(iface, host, 100, addr)
		b.Role = role
		return b
	}
	v := routing.VPN{
		Tenant: "blue", Name: "blue", Policy: routing.HubAndSpoke,
		HubRT: "64512:101", SpokeRT: "64512:102",
		StaticRoutes: []routing.StaticRoute{{
			Prefix:   netip.MustParsePrefix("0.0.0.0/0"),
			NextHops: []routing.NextHop{{Addr: netip.MustParseAddr("10.1.1.5"), Preference: 100}},
		}},
		Bindings: []routing.Binding{
			hub("vnf1", "host-a", routing.RoleSpoke, "10.3.7.9"),
			hub("vnf2", "host-b", routing.RoleSpoke, "10.1.1.6"),
			hub("vnf3", "host-b", routing.RoleSpoke, "10.3.7.10"),
		},
	}
	if withHub {
		v.Bindings = append(v.Bindings, hub("vfw", "host-a", routing.RoleHub, "10.1.1.5"))
	}
	return routing.Model{Hosts: twoHosts(), VPNs: []routing.VPN{v}}
}

func TestHubAndSpoke(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.apply(hubSpokeModel(true))
	vfw := r.guest("host-a", "blue", "blue", "vfw", "10.1.1.5/24")
	vnf1 := r.guest("host-a", "blue", "blue", "vnf1", "10.3.7.9/24")
	vnf2 := r.guest("host-b", "blue", "blue", "vnf2", "10.1.1.6/24")
	vnf3 := r.guest("host-b", "blue", "blue", "vnf3", "10.3.7.10/24")

	// Spokes reach the hub, on the same host and across hosts.
	mustPing(t, vnf1, "10.1.1.5")
	mustPing(t, vnf2, "10.1.1.5")
	mustPing(t, vfw, "10.3.7.10")

	// Spoke to spoke goes through the hub: not while it does not forward.
	mustNotPing(t, vnf2, "10.3.7.10")
	if err := vfw.SetForwarding(true); err != nil {
		t.Fatal(err)
	}
	mustPing(t, vnf2, "10.3.7.10") // both on host-b
	mustPing(t, vnf1, "10.1.1.6")  // host-a (with the hub) to host-b
	mustPing(t, vnf3, "10.3.7.9")

	// Count: every datagram from vnf2 to vnf3 passes the hub.
	const n = 50
	before := vfw.RxPackets()
	if err := vnf2.SendUDP(netip.MustParseAddr("10.3.7.10"), n); err != nil {
		t.Fatal(err)
	}
	if got := lab.WaitUDP(n, 2*time.Second, vnf3); got != n {
		t.Errorf("vnf3 received %d datagrams, want %d", got, n)
	}
	if through := vfw.RxPackets() - before; through < n {
		t.Errorf("the hub received %d packets while vnf2 sent %d datagrams to vnf3; want all through the hub", through, n)
	}
	if got := vfw.UDPReceived(); got != 0 {
		t.Errorf("the hub itself received %d datagrams", got)
	}

	if drift := r.reconcile(r.res); len(drift) != 0 {
		t.Errorf("drift after apply:\n%v", drift)
	}

	// Without the hub, spokes are cut off from each other.
	r.apply(hubSpokeModel(false))
	mustNotPing(t, vnf2, "10.3.7.10")
	mustNotPing(t, vnf1, "10.1.1.6")
	if drift := r.reconcile(r.res); len(drift) != 0 {
		t.Errorf("drift after apply:\n%v", drift)
	}
}
