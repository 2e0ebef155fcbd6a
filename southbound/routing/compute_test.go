package routing

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	rtBlue  = "64512:100"
	rtRed   = "64512:200"
	rtHub   = "64512:101"
	rtSpoke = "64512:102"
)

func TestAnyToAny(t *testing.T) {
	res, asg := Compute(anyToAnyModel(), Assignments{})
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %q", res.Warnings)
	}
	blue := func(ports []string, routes ...Route) VRF {
		return VRF{ID: "blue/blue", Tenant: "blue", VPN: "blue", RD: "64512:1",
			ImportRTs: []string{rtBlue}, ExportRTs: []string{rtBlue}, Ports: portsOf(ports...), Routes: routes}
	}
	red := func(ports []string, routes ...Route) VRF {
		return VRF{ID: "red/red", Tenant: "red", VPN: "red", RD: "64512:2",
			ImportRTs: []string{rtRed}, ExportRTs: []string{rtRed}, Ports: portsOf(ports...), Routes: routes}
	}
	checkHost(t, res, "host-a", "vendor-a", []VRF{
		blue([]string{"g1", "g2"},
			rt("10.1.1.5/32", LoadBalance, hop(HopLocal, "host-a", "blue/blue", "g1", "10.1.1.5", 100)),
			rt("10.1.1.6/32", LoadBalance, hop(HopRemote, "host-b", "blue/blue", "g3", "10.1.1.6", 100)),
			rt("10.3.7.9/32", LoadBalance, hop(HopLocal, "host-a", "blue/blue", "g2", "10.3.7.9", 100)),
			rt("10.3.7.10/32", LoadBalance, hop(HopRemote, "host-b", "blue/blue", "g4", "10.3.7.10", 100)),
		),
		red([]string{"g5"},
			rt("10.1.1.5/32", LoadBalance, hop(HopLocal, "host-a", "red/red", "g5", "10.1.1.5", 100)),
			rt("10.1.1.6/32", LoadBalance, hop(HopRemote, "host-b", "red/red", "g6", "10.1.1.6", 100)),
		),
	})
	checkHost(t, res, "host-b", "vendor-b", []VRF{
		blue([]string{"g3", "g4"},
			rt("10.1.1.5/32", LoadBalance, hop(HopRemote, "host-a", "blue/blue", "g1", "10.1.1.5", 100)),
			rt("10.1.1.6/32", LoadBalance, hop(HopLocal, "host-b", "blue/blue", "g3", "10.1.1.6", 100)),
			rt("10.3.7.9/32", LoadBalance, hop(HopRemote, "host-a", "blue/blue", "g2", "10.3.7.9", 100)),
			rt("10.3.7.10/32", LoadBalance, hop(HopLocal, "host-b", "blue/blue", "g4", "10.3.7.10", 100)),
		),
		red([]string{"g6"},
			rt("10.1.1.5/32", LoadBalance, hop(HopRemote, "host-a", "red/red", "g5", "10.1.1.5", 100)),
			rt("10.1.1.6/32", LoadBalance, hop(HopLocal, "host-b", "red/red", "g6", "10.1.1.6", 100)),
		),
	})
	want := map[string]string{"blue/blue": "64512:1", "red/red": "64512:2"}
	if !reflect.DeepEqual(asg.RDs, want) || len(asg.Released) != 0 {
		t.Errorf("assignments %+v, want RDs %v", asg, want)
	}
}

// Blue and Red overlap (10.1.1.0/24) and must never see each other, whatever
// the order of the input.
func TestBlueNeverSeesRed(t *testing.T) {
	m := anyToAnyModel()
	// Same addresses on more bindings, and red first in the input.
	m.VPNs[0].Bindings = append(m.VPNs[0].Bindings, bind("g7", "host-b", 100, "10.1.1.5"))
	m.VPNs[0].Anycast = true
	m.VPNs[1].Bindings = append(m.VPNs[1].Bindings, bind("g8", "host-a", 100, "10.3.7.9"))
	slices.Reverse(m.VPNs)
	res, _ := Compute(m, Assignments{})
	n := 0
	for _, hv := range allVRFs(res) {
		tenant := hv.VRF.Tenant + "/"
		for _, r := range hv.VRF.Routes {
			for _, h := range r.NextHops {
				n++
				if !strings.HasPrefix(h.VRF, tenant) {
					t.Errorf("%s on %s: route %s has hop into %s", hv.VRF.ID, hv.Host, r.Prefix, h.VRF)
				}
				if strings.HasPrefix(tenant, "blue") == slices.Contains([]string{"g5", "g6", "g8"}, h.Interface) {
					t.Errorf("%s on %s: route %s goes to interface %s of the other tenant", hv.VRF.ID, hv.Host, r.Prefix, h.Interface)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no hops checked")
	}
	// Red on host-a has 10.3.7.9 (its own g8) but not blue's 10.3.7.10.
	red := res.Hosts["host-a"].VRF("red/red")
	if red.Route(netip.MustParsePrefix("10.3.7.10/32")) != nil {
		t.Error("red learned blue's 10.3.7.10")
	}
	if r := red.Route(netip.MustParsePrefix("10.1.1.5/32")); r == nil || len(r.NextHops) != 1 || r.NextHops[0].Interface != "g5" {
		t.Errorf("red 10.1.1.5/32 = %+v, want only g5", r)
	}
}

// Routes cross VPNs only through route targets: blue additionally imports
// red's route target, red does not import blue's.
func TestRouteTargetLeak(t *testing.T) {
	m := anyToAnyModel()
	m.VPNs[1].Bindings = append(m.VPNs[1].Bindings, bind("g9", "host-a", 100, "10.9.9.9"))
	m.VPNs[0].ImportRTs = append(m.VPNs[0].ImportRTs, rtRed)
	res, _ := Compute(m, Assignments{})
	blueA := res.Hosts["host-a"].VRF("blue/blue")
	blueB := res.Hosts["host-b"].VRF("blue/blue")
	want := rt("10.9.9.9/32", LoadBalance, hop(HopPort, "host-a", "red/red", "g9", "10.9.9.9", 100))
	if got := shape(blueA.Route(want.Prefix)); got == nil || !reflect.DeepEqual(*got, want) {
		t.Errorf("blue on host-a: %v, want %v", got, want)
	}
	want = rt("10.9.9.9/32", LoadBalance, hop(HopRemote, "host-a", "red/red", "g9", "10.9.9.9", 100))
	if got := shape(blueB.Route(want.Prefix)); got == nil || !reflect.DeepEqual(*got, want) {
		t.Errorf("blue on host-b: %v, want %v", got, want)
	}
	// The overlapping addresses stay blue's own.
	for _, v := range []*VRF{blueA, blueB} {
		for _, r := range v.Routes {
			if r.Prefix.Addr().String() == "10.9.9.9" {
				continue
			}
			for _, h := range r.NextHops {
				if h.VRF != "blue/blue" {
					t.Errorf("blue route %s leaked to %s", r.Prefix, h.VRF)
				}
			}
		}
	}
	if !hasWarning(res, "is imported from VPNs blue/blue and red/red; blue/blue is used") {
		t.Errorf("no overlap warning in %q", res.Warnings)
	}
	// Red does not import blue.
	for _, h := range []string{"host-a", "host-b"} {
		for _, r := range res.Hosts[h].VRF("red/red").Routes {
			for _, hp := range r.NextHops {
				if hp.VRF != "red/red" {
					t.Errorf("red on %s learned %s from %s", h, r.Prefix, hp.VRF)
				}
			}
		}
	}

	// The other way round: red imports blue (which sorts first) and still
	// keeps its own overlapping addresses; blue's others leak into red.
	m = anyToAnyModel()
	m.VPNs[1].ImportRTs = append(m.VPNs[1].ImportRTs, rtBlue)
	res, _ = Compute(m, Assignments{})
	redA := res.Hosts["host-a"].VRF("red/red")
	want = rt("10.1.1.5/32", LoadBalance, hop(HopLocal, "host-a", "red/red", "g5", "10.1.1.5", 100))
	if got := shape(redA.Route(want.Prefix)); got == nil || !reflect.DeepEqual(*got, want) {
		t.Errorf("red 10.1.1.5/32 on host-a: %v, want %v", got, want)
	}
	want = rt("10.3.7.9/32", LoadBalance, hop(HopPort, "host-a", "blue/blue", "g2", "10.3.7.9", 100))
	if got := shape(redA.Route(want.Prefix)); got == nil || !reflect.DeepEqual(*got, want) {
		t.Errorf("red 10.3.7.9/32 on host-a: %v, want %v", got, want)
	}
	if !hasWarning(res, "VRF red/red on host-a: 10.1.1.5/32 is imported from VPNs red/red and blue/blue; red/red is used") {
		t.Errorf("warnings %q", res.Warnings)
	}
}

func TestECMP(t *testing.T) {
	res, _ := Compute(ecmpModel(LoadBalance), Assignments{})
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %q", res.Warnings)
	}
	vrf := func(ports []string, routes ...Route) VRF {
		return VRF{ID: "blue/blue", Tenant: "blue", VPN: "blue", RD: "64512:1",
			ImportRTs: []string{rtBlue}, ExportRTs: []string{rtBlue}, Ports: portsOf(ports...), Routes: routes}
	}
	const lb = LoadBalance
	checkHost(t, res, "host-a", "vendor-a", []VRF{vrf([]string{"vnf1-1", "vnf1-2", "vnf2"},
		rt("10.1.1.3/32", lb, hop(HopRemote, "host-b", "blue/blue", "vnf3", "10.1.1.3", 100)),
		rt("10.1.1.5/32", lb,
			hop(HopLocal, "host-a", "blue/blue", "vnf1-1", "10.1.1.5", 10),
			hop(HopLocal, "host-a", "blue/blue", "vnf1-2", "10.1.1.5", 20),
			hop(HopRemote, "host-b", "blue/blue", "vnf1-3", "10.1.1.5", 30)),
		rt("10.1.1.6/32", lb, hop(HopLocal, "host-a", "blue/blue", "vnf2", "10.1.1.6", 100)),
		rt("10.1.1.7/32", lb, hop(HopRemote, "host-b", "blue/blue", "g5", "10.1.1.7", 100)),
		rt("10.1.2.0/24", lb,
			hop(HopLocal, "host-a", "blue/blue", "vnf2", "10.1.1.6", 100),
			hop(HopRemote, "host-b", "blue/blue", "vnf3", "10.1.1.3", 100)),
	)})
	checkHost(t, res, "host-b", "vendor-b", []VRF{vrf([]string{"g5", "vnf1-3", "vnf3"},
		rt("10.1.1.3/32", lb, hop(HopLocal, "host-b", "blue/blue", "vnf3", "10.1.1.3", 100)),
		rt("10.1.1.5/32", lb,
			hop(HopRemote, "host-a", "blue/blue", "vnf1-1", "10.1.1.5", 10),
			hop(HopRemote, "host-a", "blue/blue", "vnf1-2", "10.1.1.5", 20),
			hop(HopLocal, "host-b", "blue/blue", "vnf1-3", "10.1.1.5", 30)),
		rt("10.1.1.6/32", lb, hop(HopRemote, "host-a", "blue/blue", "vnf2", "10.1.1.6", 100)),
		rt("10.1.1.7/32", lb, hop(HopLocal, "host-b", "blue/blue", "g5", "10.1.1.7", 100)),
		rt("10.1.2.0/24", lb,
			hop(HopRemote, "host-a", "blue/blue", "vnf2", "10.1.1.6", 100),
			hop(HopLocal, "host-b", "blue/blue", "vnf3", "10.1.1.3", 100)),
	)})
	for _, h := range []string{"host-a", "host-b"} {
		r := res.Hosts[h].VRF("blue/blue").Route(netip.MustParsePrefix("10.1.1.5/32"))
		if got := len(r.Active()); got != 3 {
			t.Errorf("%s: %d active hops for the anycast address in load-balance, want 3", h, got)
		}
	}
}

// An unreachable binding keeps its port (so it can be seen to answer
// again) but is the next hop of no route.
func TestUnreachableKeepsPort(t *testing.T) {
	m := ecmpModel(LoadBalance)
	editBinding(&m, "vnf1-1", func(b *Binding) { b.Unreachable = true })
	res, _ := Compute(m, Assignments{})
	v := res.Hosts["host-a"].VRF("blue/blue")
	if !slices.ContainsFunc(v.Ports, func(p Port) bool { return p.Interface == "vnf1-1" && p.Addr.IsValid() }) {
		t.Errorf("vnf1-1's port is gone or lost its address: %+v", v.Ports)
	}
	for _, h := range []string{"host-a", "host-b"} {
		for _, r := range res.Hosts[h].VRF("blue/blue").Routes {
			if slices.Contains(ifaces(r.NextHops), "vnf1-1") {
				t.Errorf("%s: route %s still goes to vnf1-1: %v", h, r.Prefix, ifaces(r.NextHops))
			}
		}
	}
}

// Fail-over: the binding with the lowest preference is active on every
// host; removing it (or taking it down) moves traffic to the next one.
func TestAnycastFailOver(t *testing.T) {
	anycast := netip.MustParsePrefix("10.1.1.5/32")
	tests := []struct {
		name   string
		edit   func(*Model)
		active string // interface of the active hop
		hops   []string
	}{
		{"all up", func(*Model) {}, "vnf1-1", []string{"vnf1-1", "vnf1-2", "vnf1-3"}},
		{"preferred removed", func(m *Model) { removeBinding(m, "vnf1-1") }, "vnf1-2", []string{"vnf1-2", "vnf1-3"}},
		{"preferred down", func(m *Model) { setAdmin(m, "vnf1-1", false) }, "vnf1-2", []string{"vnf1-2", "vnf1-3"}},
		{"both host-a removed", func(m *Model) { removeBinding(m, "vnf1-1"); removeBinding(m, "vnf1-2") }, "vnf1-3", []string{"vnf1-3"}},
		{"preferred unreachable", func(m *Model) { editBinding(m, "vnf1-1", func(b *Binding) { b.Unreachable = true }) }, "vnf1-2", []string{"vnf1-2", "vnf1-3"}},
		{"preferences swapped", func(m *Model) { setPref(m, "vnf1-1", 40) }, "vnf1-2", []string{"vnf1-2", "vnf1-3", "vnf1-1"}},
		{"tie broken by host not locality", func(m *Model) { setPref(m, "vnf1-1", 30); setPref(m, "vnf1-2", 30) }, "vnf1-1", []string{"vnf1-1", "vnf1-2", "vnf1-3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := ecmpModel(FailOver)
			tc.edit(&m)
			res, _ := Compute(m, Assignments{})
			for _, h := range []string{"host-a", "host-b"} {
				r := res.Hosts[h].VRF("blue/blue").Route(anycast)
				if r == nil {
					t.Fatalf("%s: no route for %s", h, anycast)
				}
				if r.Mode != FailOver {
					t.Errorf("%s: mode %s", h, r.Mode)
				}
				var got []string
				for _, hp := range r.NextHops {
					got = append(got, hp.Interface)
				}
				if !slices.Equal(got, tc.hops) {
					t.Errorf("%s: hops (active first, then standbys) %v, want %v", h, got, tc.hops)
				}
				if a := r.Active(); len(a) != 1 || a[0].Interface != tc.active {
					t.Errorf("%s: active %v, want %s", h, a, tc.active)
				}
				for _, hp := range r.NextHops {
					wantKind := HopRemote
					if hp.Host == h {
						wantKind = HopLocal
					}
					if hp.Kind != wantKind {
						t.Errorf("%s: hop %s kind %s, want %s", h, hp.Interface, hp.Kind, wantKind)
					}
				}
			}
		})
	}
}

// Static routes with several next hops: ECMP or fail-over by next-hop
// preference; unresolvable next hops are dropped and reported.
func TestStaticRouteNextHops(t *testing.T) {
	dst := netip.MustParsePrefix("10.1.2.0/24")
	tests := []struct {
		name    string
		mode    Mode
		prefs   [2]uint32 // of 10.1.1.6 (vnf2, host-a) and 10.1.1.3 (vnf3, host-b)
		edit    func(*Model)
		hops    []string // interfaces, in order
		active  []string
		warning string
	}{
		{name: "ecmp", mode: LoadBalance, prefs: [2]uint32{100, 100}, edit: func(*Model) {},
			hops: []string{"vnf2", "vnf3"}, active: []string{"vnf2", "vnf3"}},
		{name: "fail-over prefers lowest", mode: FailOver, prefs: [2]uint32{20, 10}, edit: func(*Model) {},
			hops: []string{"vnf3", "vnf2"}, active: []string{"vnf3"}},
		{name: "fail-over to next when preferred binding removed", mode: FailOver, prefs: [2]uint32{20, 10},
			edit: func(m *Model) { removeBinding(m, "vnf3") },
			hops: []string{"vnf2"}, active: []string{"vnf2"}, warning: "next hop 10.1.1.3 is not the address of an active binding"},
		{name: "ecmp with one unresolvable", mode: LoadBalance, prefs: [2]uint32{100, 100},
			edit: func(m *Model) { setAdmin(m, "vnf2", false) },
			hops: []string{"vnf3"}, active: []string{"vnf3"}, warning: "next hop 10.1.1.6 is not the address of an active binding"},
		{name: "none resolvable", mode: LoadBalance, prefs: [2]uint32{100, 100},
			edit:    func(m *Model) { removeBinding(m, "vnf2"); removeBinding(m, "vnf3") },
			warning: "static route 10.1.2.0/24 has no resolvable next hop"},
		{name: "next hop is an anycast address", mode: LoadBalance, prefs: [2]uint32{100, 100},
			edit: func(m *Model) {
				m.VPNs[0].StaticRoutes[0].NextHops = []NextHop{{Addr: netip.MustParseAddr("10.1.1.5"), Preference: 5}}
			},
			hops: []string{"vnf1-1", "vnf1-2", "vnf1-3"}, active: []string{"vnf1-1", "vnf1-2", "vnf1-3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := ecmpModel(LoadBalance)
			sr := &m.VPNs[0].StaticRoutes[0]
			sr.Mode = tc.mode
			sr.NextHops[0].Preference, sr.NextHops[1].Preference = tc.prefs[0], tc.prefs[1]
			tc.edit(&m)
			res, _ := Compute(m, Assignments{})
			for _, h := range []string{"host-a", "host-b"} {
				r := res.Hosts[h].VRF("blue/blue").Route(dst)
				if tc.hops == nil {
					if r != nil {
						t.Errorf("%s: route %+v, want none", h, r)
					}
					continue
				}
				if r == nil {
					t.Fatalf("%s: no route", h)
				}
				if r.Mode != tc.mode {
					t.Errorf("%s: mode %s, want %s", h, r.Mode, tc.mode)
				}
				if got := ifaces(r.NextHops); !slices.Equal(got, tc.hops) {
					t.Errorf("%s: hops %v, want %v", h, got, tc.hops)
				}
				if got := ifaces(r.Active()); !slices.Equal(got, tc.active) {
					t.Errorf("%s: active %v, want %v", h, got, tc.active)
				}
			}
			if tc.warning == "" && len(res.Warnings) != 0 {
				t.Errorf("warnings %q", res.Warnings)
			}
			if tc.warning != "" && !hasWarning(res, tc.warning) {
				t.Errorf("warnings %q, want one containing %q", res.Warnings, tc.warning)
			}
		})
	}
}

func TestHubAndSpoke(t *testing.T) {
	res, asg := Compute(hubSpokeModel(), Assignments{})
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %q", res.Warnings)
	}
	const lb = LoadBalance
	hub := func(routes ...Route) VRF {
		return VRF{ID: "blue/blue/vfw", Tenant: "blue", VPN: "blue", Role: RoleHub, RD: "64512:1",
			ImportRTs: []string{rtHub, rtSpoke}, ExportRTs: []string{rtHub}, Ports: portsOf("vfw"), Routes: routes}
	}
	spoke := func(iface, rd string, routes ...Route) VRF {
		return VRF{ID: "blue/blue/" + iface, Tenant: "blue", VPN: "blue", Role: RoleSpoke, RD: rd,
			ImportRTs: []string{rtHub}, ExportRTs: []string{rtSpoke}, Ports: portsOf(iface), Routes: routes}
	}
	checkHost(t, res, "host-a", "vendor-a", []VRF{
		hub(
			rt("10.1.1.5/32", lb, hop(HopLocal, "host-a", "blue/blue/vfw", "vfw", "10.1.1.5", 100)),
			rt("10.1.1.6/32", lb, hop(HopRemote, "host-b", "blue/blue/vnf2", "vnf2", "10.1.1.6", 100)),
			rt("10.3.7.9/32", lb, hop(HopPort, "host-a", "blue/blue/vnf1", "vnf1", "10.3.7.9", 100)),
			rt("10.3.7.10/32", lb, hop(HopRemote, "host-b", "blue/blue/vnf3", "vnf3", "10.3.7.10", 100)),
		),
		spoke("vnf1", "64512:2",
			rt("0.0.0.0/0", lb, hop(HopPort, "host-a", "blue/blue/vfw", "vfw", "10.1.1.5", 100)),
			rt("10.1.1.5/32", lb, hop(HopPort, "host-a", "blue/blue/vfw", "vfw", "10.1.1.5", 100)),
			rt("10.3.7.9/32", lb, hop(HopLocal, "host-a", "blue/blue/vnf1", "vnf1", "10.3.7.9", 100)),
		),
	})
	checkHost(t, res, "host-b", "vendor-b", []VRF{
		spoke("vnf2", "64512:3",
			rt("0.0.0.0/0", lb, hop(HopRemote, "host-a", "blue/blue/vfw", "vfw", "10.1.1.5", 100)),
			rt("10.1.1.5/32", lb, hop(HopRemote, "host-a", "blue/blue/vfw", "vfw", "10.1.1.5", 100)),
			rt("10.1.1.6/32", lb, hop(HopLocal, "host-b", "blue/blue/vnf2", "vnf2", "10.1.1.6", 100)),
		),
		spoke("vnf3", "64512:4",
			rt("0.0.0.0/0", lb, hop(HopRemote, "host-a", "blue/blue/vfw", "vfw", "10.1.1.5", 100)),
			rt("10.1.1.5/32", lb, hop(HopRemote, "host-a", "blue/blue/vfw", "vfw", "10.1.1.5", 100)),
			rt("10.3.7.10/32", lb, hop(HopLocal, "host-b", "blue/blue/vnf3", "vnf3", "10.3.7.10", 100)),
		),
	})
	if len(asg.RDs) != 4 {
		t.Errorf("assignments %v", asg.RDs)
	}
}

// Spokes never reach other spokes except through the hub: every hop of a
// spoke VRF is its own port or a hub's port, in every variant.
func TestSpokesOnlyReachHub(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Model)
	}{
		{"scenario", func(*Model) {}},
		{"more spokes on both hosts", func(m *Model) {
			m.VPNs[0].Bindings = append(m.VPNs[0].Bindings,
				hubBind("vnf4", "host-a", RoleSpoke, "10.3.7.11"),
				hubBind("vnf5", "host-b", RoleSpoke, "10.1.1.12"))
		}},
		{"spoke-owned static route", func(m *Model) {
			m.VPNs[0].StaticRoutes = append(m.VPNs[0].StaticRoutes, StaticRoute{
				Prefix:   netip.MustParsePrefix("192.168.0.0/16"),
				NextHops: []NextHop{{Addr: netip.MustParseAddr("10.1.1.6"), Preference: 100}},
			})
		}},
		{"second hub", func(m *Model) {
			m.VPNs[0].Bindings = append(m.VPNs[0].Bindings, hubBind("vfw2", "host-b", RoleHub, "10.1.1.99"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := hubSpokeModel()
			tc.edit(&m)
			res, _ := Compute(m, Assignments{})
			roles := map[string]Role{}
			for _, hv := range allVRFs(res) {
				roles[hv.VRF.ID] = hv.VRF.Role
			}
			spokes := 0
			for _, hv := range allVRFs(res) {
				v := hv.VRF
				if v.Role != RoleSpoke {
					continue
				}
				spokes++
				if v.Route(netip.MustParsePrefix("0.0.0.0/0")) == nil {
					t.Errorf("spoke %s has no default route via the hub", v.ID)
				}
				for _, r := range v.Routes {
					for _, h := range r.NextHops {
						own := h.Kind == HopLocal && h.VRF == v.ID && h.Interface == v.Ports[0].Interface
						if !own && roles[h.VRF] != RoleHub {
							t.Errorf("spoke %s: route %s via %s (%s), not the hub", v.ID, r.Prefix, h.Interface, roles[h.VRF])
						}
					}
				}
			}
			if spokes == 0 {
				t.Fatal("no spokes")
			}
			// The hub reaches every spoke.
			hubV := res.Hosts["host-a"].VRF("blue/blue/vfw")
			for _, b := range m.VPNs[0].Bindings {
				for _, a := range b.Addrs {
					if hubV.Route(netip.PrefixFrom(a, 32)) == nil {
						t.Errorf("hub has no route to %s (%s)", a, b.Interface)
					}
				}
			}
			if hubV.Route(netip.MustParsePrefix("0.0.0.0/0")) != nil {
				t.Error("the hub's own VRF has the default route back to itself")
			}
		})
	}
}

// Deleting the hub binding removes the hub routes and the static routes
// from every spoke.
func TestHubRemoved(t *testing.T) {
	for _, edit := range []func(*Model){
		func(m *Model) { removeBinding(m, "vfw") },
		func(m *Model) { setAdmin(m, "vfw", false) },
		func(m *Model) { setHost(m, "vfw", "") },
	} {
		m := hubSpokeModel()
		edit(&m)
		res, _ := Compute(m, Assignments{})
		if v := res.Hosts["host-a"].VRF("blue/blue/vfw"); v != nil {
			t.Errorf("hub VRF still present: %+v", v)
		}
		for _, hv := range allVRFs(res) {
			v := hv.VRF
			if len(v.Routes) != 1 || v.Routes[0].NextHops[0].Kind != HopLocal {
				t.Errorf("spoke %s routes: %+v, want only its own host route", v.ID, v.Routes)
			}
		}
		if !hasWarning(res, "VPN blue/blue: static route 0.0.0.0/0 has no resolvable next hop; not installed") {
			t.Errorf("warnings %q", res.Warnings)
		}
	}
}

// A binding without a role in a hub-and-spoke VPN is a spoke.
func TestHubAndSpokeMissingRole(t *testing.T) {
	m := hubSpokeModel()
	m.VPNs[0].Bindings[3].Role = RoleNone
	res, _ := Compute(m, Assignments{})
	v := res.Hosts["host-b"].VRF("blue/blue/vnf3")
	if v == nil || v.Role != RoleSpoke || !slices.Equal(v.ImportRTs, []string{rtHub}) {
		t.Errorf("vnf3 VRF %+v, want a spoke", v)
	}
	if !hasWarning(res, "binding vnf3 has no hub or spoke role") {
		t.Errorf("warnings %q", res.Warnings)
	}
}

func TestDeterminism(t *testing.T) {
	for name, m := range map[string]Model{
		"any-to-any":    anyToAnyModel(),
		"ecmp":          ecmpModel(LoadBalance),
		"hub-and-spoke": hubSpokeModel(),
		"bench":         benchModel(400, 8, 3),
	} {
		t.Run(name, func(t *testing.T) {
			r1, a1 := Compute(m, Assignments{})
			r2, a2 := Compute(m, Assignments{})
			if !reflect.DeepEqual(r1, r2) || !reflect.DeepEqual(a1, a2) {
				t.Fatal("two runs differ")
			}
			// Same model in another order.
			p := permuted(m)
			r3, a3 := Compute(p, Assignments{})
			if !reflect.DeepEqual(r1, r3) || !reflect.DeepEqual(a1, a3) {
				t.Fatal("permuted input gives another result")
			}
			// Recomputing with its own assignments changes nothing.
			r4, a4 := Compute(m, a1)
			if !reflect.DeepEqual(r1, r4) || !reflect.DeepEqual(a1, a4) {
				t.Fatal("recompute with prior assignments differs")
			}
			if d := Diff(r1, r4); len(d) != 0 {
				t.Fatalf("diff of identical results: %v", d)
			}
			// The input is not modified.
			if !reflect.DeepEqual(p, permuted(m)) {
				t.Fatal("Compute modified its input")
			}
		})
	}
}

func TestIPv6AndUnplaced(t *testing.T) {
	m := Model{
		Hosts: twoHosts(),
		VPNs: []VPN{{
			Tenant: "t", Name: "v6", ImportRTs: []string{"1:1"}, ExportRTs: []string{"1:1"},
			Bindings: []Binding{
				bind("a", "host-a", 100, "2001:db8::1", "10.0.0.1"),
				bind("b", "", 100, "2001:db8::2"),           // not placed
				bind("c", "host-z", 100, "2001:db8::3"),     // unknown host
				bind("d", "host-b", 100, "::ffff:10.0.0.4"), // mapped: unmapped to IPv4
			},
		}},
	}
	res, _ := Compute(m, Assignments{})
	v := res.Hosts["host-b"].VRF("t/v6")
	var got []string
	for _, r := range v.Routes {
		got = append(got, r.Prefix.String())
	}
	want := []string{"10.0.0.1/32", "10.0.0.4/32", "2001:db8::1/128"}
	if !slices.Equal(got, want) {
		t.Errorf("routes %v, want %v", got, want)
	}
	if !hasWarning(res, "binding c is on unknown host host-z") || len(res.Warnings) != 1 {
		t.Errorf("warnings %q", res.Warnings)
	}
	if res.Hosts["host-a"].VRF("t/v6").Ports[0].Interface != "a" {
		t.Error("port a missing")
	}
}

// Any-to-any VPN with only import route targets: each host's VRF only has
// its local routes.
func TestAnyToAnyWithoutExport(t *testing.T) {
	m := anyToAnyModel()
	m.VPNs[1].ExportRTs = nil
	res, _ := Compute(m, Assignments{})
	for _, h := range []string{"host-a", "host-b"} {
		for _, r := range res.Hosts[h].VRF("red/red").Routes {
			if r.NextHops[0].Kind != HopLocal {
				t.Errorf("red on %s has non-local route %s", h, r.Prefix)
			}
		}
	}
	if !hasWarning(res, "VPN red/red spans several hosts but has no import or no export route target") {
		t.Errorf("warnings %q", res.Warnings)
	}
	// On one host, its members reach each other without route targets.
	editBinding(&m, "g6", func(b *Binding) { b.Host = "host-a" })
	editBinding(&m, "g5", func(b *Binding) { b.Host = "host-a" })
	if res, _ := Compute(m, Assignments{}); hasWarning(res, "VPN red/red spans several hosts") {
		t.Errorf("one host: warnings %q", res.Warnings)
	}
}

// Test model edits.

func removeBinding(m *Model, iface string) {
	for i := range m.VPNs {
		m.VPNs[i].Bindings = slices.DeleteFunc(m.VPNs[i].Bindings, func(b Binding) bool { return b.Interface == iface })
	}
}

func editBinding(m *Model, iface string, f func(*Binding)) {
	for i := range m.VPNs {
		for j := range m.VPNs[i].Bindings {
			if m.VPNs[i].Bindings[j].Interface == iface {
				f(&m.VPNs[i].Bindings[j])
			}
		}
	}
}

func setAdmin(m *Model, iface string, up bool) {
	editBinding(m, iface, func(b *Binding) { b.AdminUp = up })
}

func setPref(m *Model, iface string, pref uint32) {
	editBinding(m, iface, func(b *Binding) { b.Preference = pref })
}

func setHost(m *Model, iface, host string) {
	editBinding(m, iface, func(b *Binding) { b.Host = host })
}

func ifaces(hops []Hop) []string {
	var out []string
	for _, h := range hops {
		out = append(out, h.Interface)
	}
	return out
}

// permuted returns a deep copy of m with every list in another order.
func permuted(m Model) Model {
	p := Model{Hosts: slices.Clone(m.Hosts)}
	slices.Reverse(p.Hosts)
	for _, v := range m.VPNs {
		v.ImportRTs = slices.Clone(v.ImportRTs)
		v.ExportRTs = slices.Clone(v.ExportRTs)
		slices.Reverse(v.ImportRTs)
		slices.Reverse(v.ExportRTs)
		v.RDs = slices.Clone(v.RDs)
		var srs []StaticRoute
		for _, s := range v.StaticRoutes {
			s.NextHops = slices.Clone(s.NextHops)
			slices.Reverse(s.NextHops)
			srs = append(srs, s)
		}
		slices.Reverse(srs)
		v.StaticRoutes = srs
		var bs []Binding
		for _, b := range v.Bindings {
			b.Addrs = slices.Clone(b.Addrs)
			slices.Reverse(b.Addrs)
			bs = append(bs, b)
		}
		slices.Reverse(bs)
		v.Bindings = bs
		p.VPNs = append(p.VPNs, v)
	}
	slices.Reverse(p.VPNs)
	return p
}

// Without anycast, an address on several bindings is a configuration error
// (the server rejects it); Compute still gives a single active path.
func TestDuplicateAddressWithoutAnycast(t *testing.T) {
	m := anyToAnyModel()
	m.VPNs[0].Bindings = append(m.VPNs[0].Bindings, bind("g7", "host-b", 50, "10.1.1.5"))
	res, _ := Compute(m, Assignments{})
	want := rt("10.1.1.5/32", FailOver,
		hop(HopRemote, "host-b", "blue/blue", "g7", "10.1.1.5", 50),
		hop(HopLocal, "host-a", "blue/blue", "g1", "10.1.1.5", 100))
	if got := shape(res.Hosts["host-a"].VRF("blue/blue").Route(want.Prefix)); got == nil || !reflect.DeepEqual(*got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if !hasWarning(res, "VPN blue/blue: address 10.1.1.5 is on several bindings but anycast is disabled") {
		t.Errorf("warnings %q", res.Warnings)
	}
}
