package routing

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The three L3VPN use cases of the requirements, mirroring
// testdata/scenarios/{any-to-any,ecmp,hub-and-spoke}.json.

func twoHosts() []Host {
	return []Host{{Name: "host-a", Backend: "vendor-a"}, {Name: "host-b", Backend: "vendor-b"}}
}

func bind(iface, host string, pref uint32, addrs ...string) Binding {
	b := Binding{Interface: iface, Host: host, Preference: pref, AdminUp: true}
	for _, a := range addrs {
		b.Addrs = append(b.Addrs, netip.MustParseAddr(a))
	}
	return b
}

func hubBind(iface, host string, role Role, addrs ...string) Binding {
	b := bind(iface, host, 100, addrs...)
	b.Role = role
	return b
}

// anyToAnyModel: tenants blue and red, each with an any-to-any VPN, and
// overlapping 10.1.1.0/24 address spaces.
func anyToAnyModel() Model {
	return Model{
		Hosts: twoHosts(),
		VPNs: []VPN{
			{
				Tenant: "blue", Name: "blue", Policy: AnyToAny,
				ImportRTs: []string{"64512:100"}, ExportRTs: []string{"64512:100"},
				Bindings: []Binding{
					bind("g1", "host-a", 100, "10.1.1.5"),
					bind("g2", "host-a", 100, "10.3.7.9"),
					bind("g3", "host-b", 100, "10.1.1.6"),
					bind("g4", "host-b", 100, "10.3.7.10"),
				},
			},
			{
				Tenant: "red", Name: "red", Policy: AnyToAny,
				ImportRTs: []string{"64512:200"}, ExportRTs: []string{"64512:200"},
				Bindings: []Binding{
					bind("g5", "host-a", 100, "10.1.1.5"),
					bind("g6", "host-b", 100, "10.1.1.6"),
				},
			},
		},
	}
}

// ecmpModel: anycast 10.1.1.5 on vnf1-1, vnf1-2 (host-a) and vnf1-3
// (host-b), static route 10.1.2.0/24 via 10.1.1.6 and 10.1.1.3, client g5.
func ecmpModel(mode Mode) Model {
	return Model{
		Hosts: twoHosts(),
		VPNs: []VPN{{
			Tenant: "blue", Name: "blue", Policy: AnyToAny,
			ImportRTs: []string{"64512:100"}, ExportRTs: []string{"64512:100"},
			Anycast: true, AnycastMode: mode,
			StaticRoutes: []StaticRoute{{
				Prefix: netip.MustParsePrefix("10.1.2.0/24"), Mode: LoadBalance,
				NextHops: []NextHop{
					{Addr: netip.MustParseAddr("10.1.1.6"), Preference: 100},
					{Addr: netip.MustParseAddr("10.1.1.3"), Preference: 100},
				},
			}},
			Bindings: []Binding{
				bind("vnf1-1", "host-a", 10, "10.1.1.5"),
				bind("vnf1-2", "host-a", 20, "10.1.1.5"),
				bind("vnf1-3", "host-b", 30, "10.1.1.5"),
				bind("vnf2", "host-a", 100, "10.1.1.6"),
				bind("vnf3", "host-b", 100, "10.1.1.3"),
				bind("g5", "host-b", 100, "10.1.1.7"),
			},
		}},
	}
}

// hubSpokeModel: hub vfw 10.1.1.5 on host-a, spokes vnf1 (host-a), vnf2 and
// vnf3 (host-b), static route 0.0.0.0/0 via the hub.
func hubSpokeModel() Model {
	return Model{
		Hosts: twoHosts(),
		VPNs: []VPN{{
			Tenant: "blue", Name: "blue", Policy: HubAndSpoke,
			HubRT: "64512:101", SpokeRT: "64512:102",
			StaticRoutes: []StaticRoute{{
				Prefix:   netip.MustParsePrefix("0.0.0.0/0"),
				NextHops: []NextHop{{Addr: netip.MustParseAddr("10.1.1.5"), Preference: 100}},
			}},
			Bindings: []Binding{
				hubBind("vfw", "host-a", RoleHub, "10.1.1.5"),
				hubBind("vnf1", "host-a", RoleSpoke, "10.3.7.9"),
				hubBind("vnf2", "host-b", RoleSpoke, "10.1.1.6"),
				hubBind("vnf3", "host-b", RoleSpoke, "10.3.7.10"),
			},
		}},
	}
}

// Expected-value helpers.

func hop(kind HopKind, host, vrf, iface, addr string, pref uint32) Hop {
	return Hop{Kind: kind, Host: host, VRF: vrf, Interface: iface, Addr: netip.MustParseAddr(addr), Preference: pref}
}

func rt(prefix string, mode Mode, hops ...Hop) Route {
	return Route{Prefix: netip.MustParsePrefix(prefix), Mode: mode, NextHops: hops}
}

// checkHost compares a host view with the expected VRFs exactly.
func checkHost(t *testing.T, res Result, host, backend string, want []VRF) {
	t.Helper()
	got := res.Hosts[host]
	if got == nil {
		t.Fatalf("no view for host %s", host)
	}
	got = withoutLabels(got)
	wantView := &HostView{Host: host, Backend: backend, VRFs: want}
	if !reflect.DeepEqual(got, wantView) {
		t.Errorf("host %s:\ngot:\n%s\nwant:\n%s", host, dumpHost(got), dumpHost(wantView))
	}
}

// withoutLabels returns a copy of h without labels, port addresses and
// underlay addresses, which TestLabels checks: the other tests compare the
// routing shape only.
func withoutLabels(h *HostView) *HostView {
	out := &HostView{Host: h.Host, Backend: h.Backend}
	for _, v := range h.VRFs {
		v.Label = 0
		v.Ports = slices.Clone(v.Ports)
		for i := range v.Ports {
			v.Ports[i] = Port{Interface: v.Ports[i].Interface}
		}
		v.Routes = slices.Clone(v.Routes)
		for i := range v.Routes {
			v.Routes[i] = *shape(&v.Routes[i])
		}
		out.VRFs = append(out.VRFs, v)
	}
	return out
}

// portsOf returns ports with the given interfaces (no label or address).
func portsOf(ifaces ...string) []Port {
	var out []Port
	for _, i := range ifaces {
		out = append(out, Port{Interface: i})
	}
	return out
}

func dumpHost(h *HostView) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s)\n", h.Host, h.Backend)
	for _, v := range h.VRFs {
		fmt.Fprintf(&b, "  vrf %s tenant=%s vpn=%s role=%s rd=%q import=%v export=%v ports=%v\n",
			v.ID, v.Tenant, v.VPN, v.Role, v.RD, v.ImportRTs, v.ExportRTs, v.Ports)
		for _, r := range v.Routes {
			fmt.Fprintf(&b, "    %s %s\n", r.Prefix, r.Mode)
			for _, h := range r.NextHops {
				fmt.Fprintf(&b, "      %s\n", h)
			}
		}
	}
	return b.String()
}

func hasWarning(res Result, substr string) bool {
	return slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, substr) })
}

// allVRFs returns every VRF instance of a result with its host.
func allVRFs(res Result) []struct {
	Host string
	VRF  *VRF
} {
	var out []struct {
		Host string
		VRF  *VRF
	}
	for _, h := range res.Hosts {
		for i := range h.VRFs {
			out = append(out, struct {
				Host string
				VRF  *VRF
			}{h.Host, &h.VRFs[i]})
		}
	}
	return out
}

// shape returns a copy of r without labels and underlay addresses (nil for
// nil), for tests that compare the routing shape only.
func shape(r *Route) *Route {
	if r == nil {
		return nil
	}
	out := *r
	out.NextHops = slices.Clone(r.NextHops)
	for i := range out.NextHops {
		out.NextHops[i].Label, out.NextHops[i].Underlay = 0, netip.Addr{}
	}
	return &out
}

// flat returns res with every VRF's learnt routes merged into its Routes
// and Learnt empty: two placements that route alike compare equal,
// whatever the shape of the trees their learnt routes are kept in.
func flat(res Result) Result {
	out := Result{Hosts: map[string]*HostView{}, Warnings: res.Warnings}
	for name, h := range res.Hosts {
		nh := *h
		nh.VRFs = make([]VRF, len(h.VRFs))
		for i := range h.VRFs {
			nh.VRFs[i] = h.VRFs[i]
			nh.VRFs[i].Routes, nh.VRFs[i].Learnt = h.VRFs[i].routeList(), LearntRoutes{}
		}
		out.Hosts[name] = &nh
	}
	return out
}
