package routing

import (
	"fmt"
	"net/netip"
)

// Result is the computed forwarding state: what every host's forwarder
// must hold. Every slice in it is sorted, so two Results of the same Model
// and prior Assignments are deep-equal.
type Result struct {
	// Hosts has one view per host of the Model, including hosts without
	// VRFs, keyed by host name.
	Hosts map[string]*HostView
	// Warnings are the problems found in the Model that Compute worked
	// around (unresolvable next hops, duplicate addresses, exhausted RD
	// range...), sorted and without duplicates. An Incremental leaves
	// them to its Warnings method: a network can carry tens of thousands,
	// and listing them on every run would cost more than the run.
	Warnings []string
}

// HostView is the forwarding state of one host.
type HostView struct {
	Host    string
	Backend string
	// Addr is the host's underlay address (Model's Host.Addr).
	Addr netip.Addr
	// VRFs are sorted by ID; IDs are unique within a host.
	VRFs []VRF
}

// VRF returns the VRF with the given ID, or nil.
func (h *HostView) VRF(id string) *VRF {
	for i := range h.VRFs {
		if h.VRFs[i].ID == id {
			return &h.VRFs[i]
		}
	}
	return nil
}

// VRF is one VRF instance on a host.
type VRF struct {
	// ID identifies the VRF: "tenant/vpn" for the per-VPN VRF of an
	// any-to-any VPN (the same ID on every host where the VPN is
	// instantiated), "tenant/vpn/interface" for the per-port VRF of a
	// hub-and-spoke binding (which exists on one host only).
	ID     string
	Tenant string
	VPN    string
	// Role is the role of a per-port VRF's binding (RoleHub or RoleSpoke);
	// RoleNone for per-VPN VRFs.
	Role Role
	// RD is the VRF's route distinguisher; "" only when none could be
	// assigned (see Result.Warnings).
	RD string
	// Label is the VRF's forwarding label (see Labels), the same on every
	// host where the VRF ID is instantiated.
	Label uint32
	// ImportRTs and ExportRTs are sorted and without duplicates.
	ImportRTs []string
	ExportRTs []string
	// Ports are the bound interfaces attached to this VRF on this host,
	// sorted by interface.
	Ports []Port
	// Routes are sorted by prefix (netip.Prefix.Compare), unique: the
	// computed routes (the VPN's own bindings, statics and anycast).
	Routes []Route
	// Learnt are the learnt routes placed in the instance (LearntTable),
	// none for a prefix of Routes; empty in computed Results. AllRoutes
	// yields both, merged: what the forwarder holds.
	Learnt LearntRoutes
}

// Port is a bound interface attached to a VRF.
type Port struct {
	// Interface is the interface's name in the namespace of the VRF's
	// tenant.
	Interface string
	// VNIC is the tenant port (vNIC) the interface is a view of, at the
	// root of its interface hierarchy; "" from producers that do not fill
	// it, in which case the interface is its own untagged vNIC.
	VNIC string
	// VLAN is the 802.1Q VLAN id selecting the interface's frames on the
	// vNIC (interface type vlan); 0 for untagged interfaces.
	VLAN uint16
	// Label identifies the binding in forwarding: hops that name this
	// interface carry it (see Labels).
	Label uint32
	// Addr is the binding's lowest address, the one traffic delivered to
	// the port is sent to when its destination is not the port's own
	// (a hub forwarding for its spokes); zero when the binding has none.
	Addr netip.Addr
}

// Route returns the route for prefix p, computed or learnt, or nil.
func (v *VRF) Route(p netip.Prefix) *Route {
	for i := range v.Routes {
		if v.Routes[i].Prefix == p {
			return &v.Routes[i]
		}
	}
	if r, ok := v.Learnt.Get(p); ok {
		return &r
	}
	return nil
}

// Route is one entry of a VRF's routing table.
//
// NextHops is never empty and is ordered by preference: by Hop.Preference,
// then (for static routes) by the preference of the binding that owns the
// next-hop address, then by host, VRF, interface and address. The order does
// not depend on which host the table is for, so every host agrees on it. In
// LoadBalance mode traffic is split over all hops (ECMP); in FailOver mode
// only NextHops[0] is active and NextHops[1:] are standbys, in the order in
// which they take over. Active returns the hops in use.
type Route struct {
	Prefix   netip.Prefix
	NextHops []Hop
	Mode     Mode
}

// Active returns the hops traffic uses: all hops in LoadBalance mode, the
// first in FailOver mode.
func (r *Route) Active() []Hop {
	if r.Mode == FailOver && len(r.NextHops) > 1 {
		return r.NextHops[:1]
	}
	return r.NextHops
}

// Hop is one next hop of a route. Every hop names the bound interface that
// finally receives the traffic, so a driver can deliver it to that
// interface directly (a per-interface label or tunnel key) instead of doing
// a second lookup in the remote VRF: this is what keeps hub-and-spoke
// traffic going through the hub.
type Hop struct {
	Kind HopKind
	// Host and VRF locate the bound interface: for HopLocal this host and
	// VRF, for HopPort this host and the interface's VRF, for HopRemote
	// the other host and its VRF (whose RD identifies it in BGP).
	Host string
	VRF  string
	// Interface is the bound interface behind the hop, a name in the
	// namespace of the tenant that owns VRF (VRF IDs start with
	// "tenant/").
	Interface string
	// Addr is the address of the next hop: the member address itself for
	// a host route, the static route's next-hop address for a static
	// route.
	Addr netip.Addr
	// Preference is the binding's preference for a host route, the
	// next hop's preference for a static route; lower is preferred.
	Preference uint32
	// Label is the label of the binding behind the hop (its Port.Label),
	// so a forwarder can deliver to that interface directly.
	Label uint32
	// Underlay is the underlay address of Host, the tunnel endpoint for
	// HopRemote (zero when the host has none).
	Underlay netip.Addr
}

// HopKind says where a next hop is relative to the VRF holding the route.
type HopKind uint8

// Hop kinds.
const (
	// HopLocal is a port bound to this VRF on this host.
	HopLocal HopKind = iota
	// HopRemote is a port bound to a VRF on another host; the traffic is
	// tunnelled to that host.
	HopRemote
	// HopPort is a port on this host bound to another VRF (route leaking
	// between VRFs of the same host, e.g. a spoke VRF reaching the hub's
	// port): the traffic leaves through that named interface.
	HopPort
	// HopLearnt is a tunnel endpoint outside the controller's hosts,
	// learnt from a BGP peer (see Learnt): the traffic is tunnelled to
	// Underlay (= Addr) with Label, the route's label, as VNI. Host, VRF
	// and Interface are empty.
	HopLearnt
)

func (k HopKind) String() string {
	switch k {
	case HopLocal:
		return "local"
	case HopRemote:
		return "remote"
	case HopPort:
		return "port"
	case HopLearnt:
		return "learnt"
	}
	return fmt.Sprintf("HopKind(%d)", uint8(k))
}

func (h Hop) String() string {
	return fmt.Sprintf("%s %s@%s/%s %s pref %d label %d", h.Kind, h.Interface, h.Host, h.VRF, h.Addr, h.Preference, h.Label)
}
