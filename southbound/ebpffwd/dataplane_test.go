package ebpffwd_test

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/netready/netready/southbound/linuxfwd/lab"
	"github.com/netready/netready/southbound/routing"
)

// anyToAnyModel: tenants blue and red, each with an any-to-any VPN over
// both hosts, and overlapping 10.1.1.0/24 address spaces.
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

// Any-to-any across vendors: host-a on linux-vforwarder, host-b on
// ebpf-vforwarder; both VPNs overlap, every datagram stays in its own.
// Port.VNIC is filled as the engine fills it from the interface
// hierarchy (each interface on a tenant port of its own): the guests
// still find their ends by binding.
func TestMixedAnyToAny(t *testing.T) {
	r := newRig(t)
	res, asg := routing.Compute(anyToAnyModel(), r.asg)
	r.asg = asg
	for _, hv := range res.Hosts {
		for _, v := range hv.VRFs {
			for i := range v.Ports {
				v.Ports[i].VNIC = v.Ports[i].Interface + "-nic0"
			}
		}
	}
	r.applyResult(res)

	g1 := r.guest("host-a", "blue", "blue", "g1", "10.1.1.5/24")
	g2 := r.guest("host-a", "blue", "blue", "g2", "10.3.7.9/24")
	g3 := r.guest("host-b", "blue", "blue", "g3", "10.1.1.6/24")
	g4 := r.guest("host-b", "blue", "blue", "g4", "10.3.7.10/24")
	g5 := r.guest("host-a", "red", "red", "g5", "10.1.1.5/24")
	g6 := r.guest("host-b", "red", "red", "g6", "10.1.1.6/24")
	g7 := r.guest("host-b", "red", "red", "g7", "10.9.9.9/24")

	mustPing(t, g1, "10.1.1.6")  // A → B
	mustPing(t, g3, "10.1.1.5")  // B → A
	mustPing(t, g3, "10.3.7.10") // on B (eBPF only)
	mustPing(t, g4, "10.3.7.9")
	mustPing(t, g2, "10.3.7.10")
	mustPing(t, g6, "10.9.9.9")
	mustPing(t, g7, "10.1.1.5")

	mustNotPing(t, g6, "10.3.7.10")
	mustNotPing(t, g7, "10.3.7.9")
	mustNotPing(t, g3, "10.9.9.9")

	// 10.1.1.6 and 10.1.1.5 are in both tenants: each reaches its own,
	// in both directions.
	const n = 20
	for _, c := range []struct {
		from, to *lab.Guest
		dst      string
		n        int64
	}{
		{g1, g3, "10.1.1.6", n}, {g5, g6, "10.1.1.6", 2 * n},
		{g3, g1, "10.1.1.5", 3 * n}, {g6, g5, "10.1.1.5", 4 * n},
	} {
		before := c.to.UDPReceived()
		if err := c.from.SendUDP(netip.MustParseAddr(c.dst), int(c.n)); err != nil {
			t.Fatal(err)
		}
		lab.WaitUDP(before+c.n, 2*time.Second, c.to)
		time.Sleep(20 * time.Millisecond)
		if got := c.to.UDPReceived() - before; got != c.n {
			t.Errorf("%s → %s: %s received %d datagrams, want %d", c.from.Alias, c.dst, c.to.Alias, got, c.n)
		}
	}
	if got := g1.UDPReceived() + g3.UDPReceived(); got != 4*n {
		t.Errorf("blue received %d datagrams in all, want %d (red's leaked in?)", got, 4*n)
	}

	if drift := r.reconcile(r.res); len(drift) != 0 {
		t.Errorf("drift after apply:\n%v", drift)
	}
}

// ecmpModel: anycast 10.1.1.5 on vnf1-1 (pref 10) and vnf1-2 (pref 20) on
// host-a and vnf1-3 (pref 30) on host-b; clients on both hosts. without
// drops the listed bindings.
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
		bind("client-a", "host-a", 100, "10.1.1.8"),
	} {
		if !slices.Contains(without, b.Interface) {
			v.Bindings = append(v.Bindings, b)
		}
	}
	return routing.Model{Hosts: twoHosts(), VPNs: []routing.VPN{v}}
}

// ECMP across vendors: flows from a client on either host spread over
// the anycast instances on both; fail-over takes the preferred one.
func TestMixedAnycastECMP(t *testing.T) {
	r := newRig(t)
	r.apply(ecmpModel(routing.LoadBalance))
	vnf := []*lab.Guest{
		r.guest("host-a", "blue", "blue", "vnf1-1", "10.1.1.5/24"),
		r.guest("host-a", "blue", "blue", "vnf1-2", "10.1.1.5/24"),
		r.guest("host-b", "blue", "blue", "vnf1-3", "10.1.1.5/24"),
	}
	clientB := r.guest("host-b", "blue", "blue", "client", "10.1.1.7/24")
	clientA := r.guest("host-a", "blue", "blue", "client-a", "10.1.1.8/24")
	anycast := netip.MustParseAddr("10.1.1.5")

	send := func(from *lab.Guest, flows int) []int64 {
		t.Helper()
		before := make([]int64, len(vnf))
		var sum int64
		for i, g := range vnf {
			before[i] = g.UDPReceived()
			sum += before[i]
		}
		if err := from.SendUDP(anycast, flows); err != nil {
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
			t.Errorf("from %s: VNFs received %d datagrams (%v), want %d", from.Alias, got, out, flows)
		}
		return out
	}

	const flows = 300
	for _, c := range []*lab.Guest{clientB, clientA} {
		got := send(c, flows)
		for i, n := range got {
			if n < flows/10 {
				t.Errorf("load balance from %s: vnf1-%d received %d of %d flows (%v)", c.Alias, i+1, n, flows, got)
			}
		}
		t.Logf("load balance from %s over vnf1-1, vnf1-2, vnf1-3: %v", c.Alias, got)
	}

	r.apply(ecmpModel(routing.FailOver))
	if got := send(clientB, 100); got[0] != 100 {
		t.Errorf("fail-over: got %v, want everything at vnf1-1", got)
	}
	r.apply(ecmpModel(routing.FailOver, "vnf1-1", "vnf1-2"))
	if got := send(clientA, 100); got[2] != 100 {
		t.Errorf("fail-over without vnf1-1 and vnf1-2: got %v, want everything at vnf1-3", got)
	}
	if drift := r.reconcile(r.res); len(drift) != 0 {
		t.Errorf("drift after apply:\n%v", drift)
	}
}

// hubSpokeModel: hub vfw 10.1.1.5 on hubHost; spokes vnf1 (host-a), vnf2
// and vnf3 (host-b); static route 0.0.0.0/0 via the hub.
func hubSpokeModel(hubHost string) routing.Model {
	b := func(iface, host string, role routing.Role, addr string) routing.Binding {
		x := bind(iface, host, 100, addr)
		x.Role = role
		return x
	}
	v := routing.VPN{
		Tenant: "blue", Name: "blue", Policy: routing.HubAndSpoke,
		HubRT: "64512:101", SpokeRT: "64512:102",
		StaticRoutes: []routing.StaticRoute{{
			Prefix:   netip.MustParsePrefix("0.0.0.0/0"),
			NextHops: []routing.NextHop{{Addr: netip.MustParseAddr("10.1.1.5"), Preference: 100}},
		}},
		Bindings: []routing.Binding{
			b("vnf1", "host-a", routing.RoleSpoke, "10.3.7.9"),
			b("vnf2", "host-b", routing.RoleSpoke, "10.1.1.6"),
			b("vnf3", "host-b", routing.RoleSpoke, "10.3.7.10"),
			b("vfw", hubHost, routing.RoleHub, "10.1.1.5"),
		},
	}
	return routing.Model{Hosts: twoHosts(), VPNs: []routing.VPN{v}}
}

// Hub-and-spoke across vendors, with the hub on either: spoke-to-spoke
// traffic (on one host and across hosts) always passes the hub.
func TestMixedHubAndSpoke(t *testing.T) {
	for _, hubHost := range []string{"host-a", "host-b"} {
		t.Run("hub on "+hubHost, func(t *testing.T) {
			r := newRig(t)
			r.apply(hubSpokeModel(hubHost))
			vfw := r.guest(hubHost, "blue", "blue", "vfw", "10.1.1.5/24")
			vnf1 := r.guest("host-a", "blue", "blue", "vnf1", "10.3.7.9/24")
			vnf2 := r.guest("host-b", "blue", "blue", "vnf2", "10.1.1.6/24")
			vnf3 := r.guest("host-b", "blue", "blue", "vnf3", "10.3.7.10/24")

			mustPing(t, vnf1, "10.1.1.5")
			mustPing(t, vnf2, "10.1.1.5")
			mustPing(t, vfw, "10.3.7.10")
			mustNotPing(t, vnf2, "10.3.7.10") // the hub does not forward yet
			if err := vfw.SetForwarding(true); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				from, to *lab.Guest
				dst      string
			}{{vnf2, vnf3, "10.3.7.10"}, {vnf1, vnf2, "10.1.1.6"}, {vnf3, vnf1, "10.3.7.9"}} {
				const n = 30
				before, got := vfw.RxPackets(), c.to.UDPReceived()
				if err := c.from.SendUDP(netip.MustParseAddr(c.dst), n); err != nil {
					t.Fatal(err)
				}
				if lab.WaitUDP(got+n, 2*time.Second, c.to)-got != n {
					t.Errorf("%s → %s: %d of %d datagrams arrived", c.from.Alias, c.dst, c.to.UDPReceived()-got, n)
				}
				if through := vfw.RxPackets() - before; through < n {
					t.Errorf("%s → %s: the hub received %d packets for %d datagrams; want all through the hub", c.from.Alias, c.dst, through, n)
				}
			}
			if got := vfw.UDPReceived(); got != 0 {
				t.Errorf("the hub itself received %d datagrams", got)
			}
			if drift := r.reconcile(r.res); len(drift) != 0 {
				t.Errorf("drift after apply:\n%v", drift)
			}
		})
	}
}
