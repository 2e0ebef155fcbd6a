package routing

import (
	"fmt"
	"net/netip"
)

// Model is the input of Compute: the hosts and the L3VPNs of every tenant,
// flattened from the data tree (netready-infrastructure, netready-tenants,
// netready-l3vpn). It is plain data: Compute never modifies it, and the
// order of its slices does not matter (Compute sorts everything).
type Model struct {
	Hosts []Host
	VPNs  []VPN
}

// Host is one compute host (/hosts/host) and the backend that programs
// its forwarder.
type Host struct {
	Name    string
	Backend string
	// Addr is the host's underlay address, where other hosts tunnel
	// traffic for its VRFs to (zero when not configured).
	Addr netip.Addr
}

// VPN is one L3VPN (/tenants/tenant/vpns/vpn) of a tenant.
type VPN struct {
	Tenant string
	Name   string
	Policy Policy

	// ImportRTs and ExportRTs are the route targets of an any-to-any VPN,
	// from its route-target entries by direction: "import" goes to
	// ImportRTs, "export" to ExportRTs, "both" to both lists. Ignored for
	// hub-and-spoke VPNs (HubRT and SpokeRT apply).
	ImportRTs []string
	ExportRTs []string

	// HubRT and SpokeRT are the route targets of a hub-and-spoke VPN
	// (hub-and-spoke/hub-route-target and spoke-route-target).
	HubRT   string
	SpokeRT string

	// RDs are the explicit route distinguishers (route-distinguisher);
	// empty means auto-assigned. See Options for how they are used.
	RDs []string

	// Anycast allows several bindings to share an address (anycast/enabled);
	// AnycastMode says how traffic to a shared address is spread
	// (anycast/mode).
	Anycast     bool
	AnycastMode Mode

	StaticRoutes []StaticRoute
	Bindings     []Binding
}

// Key returns "tenant/vpn", the identifier of the VPN and of its per-VPN
// VRF.
func (v *VPN) Key() string { return v.Tenant + "/" + v.Name }

// StaticRoute is one static route of a VPN (static-routes/route).
type StaticRoute struct {
	Prefix   netip.Prefix
	Mode     Mode
	NextHops []NextHop
}

// NextHop is one next hop of a static route: normally a member address of
// the VPN. Lower Preference is preferred in fail-over mode.
type NextHop struct {
	Addr       netip.Addr
	Preference uint32
}

// Binding attaches one tenant interface to a VPN (bindings/binding).
type Binding struct {
	// Interface is the tenant's interface (the binding's key).
	Interface string
	// Host is the host of the port under the interface; "" when the port
	// is not placed yet (the binding then has no effect).
	Host string
	// Role is the binding's role in a hub-and-spoke VPN; ignored for
	// any-to-any VPNs.
	Role Role
	// Addrs are the instance's addresses on this binding (ip-address).
	Addrs []netip.Addr
	// Preference ranks the bindings sharing an anycast address: lower is
	// preferred in fail-over mode.
	Preference uint32
	// AdminUp is admin-state == up; a binding that is down has no effect.
	AdminUp bool
	// VNIC and VLAN locate the interface on its host (Port.VNIC and
	// Port.VLAN): the port at the root of its hierarchy, and the 802.1Q
	// id selecting it (0 untagged).
	VNIC string
	VLAN uint16
	// Unreachable says the instance behind the binding does not answer
	// (VNF liveness: set by the realization core from its forwarders'
	// probes, never configuration). Its port stays, so it can be seen to
	// answer again, but its addresses are the next hop of no route: it
	// leaves every ECMP and fail-over set until it answers.
	Unreachable bool
}

// Policy is the route import/export policy of a VPN (vrf-policy).
type Policy uint8

// VRF policies.
const (
	AnyToAny Policy = iota
	HubAndSpoke
)

func (p Policy) String() string {
	switch p {
	case AnyToAny:
		return "any-to-any"
	case HubAndSpoke:
		return "hub-and-spoke"
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// Mode is how traffic is spread over several next hops (multipath-mode).
type Mode uint8

// Multipath modes.
const (
	// LoadBalance splits traffic over all next hops (ECMP).
	LoadBalance Mode = iota
	// FailOver sends traffic to the first next hop only; the others are
	// standbys in order (see Route).
	FailOver
)

func (m Mode) String() string {
	switch m {
	case LoadBalance:
		return "load-balance"
	case FailOver:
		return "fail-over"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// Role is the role of a binding in a hub-and-spoke VPN.
type Role uint8

// Binding roles.
const (
	RoleNone Role = iota
	RoleHub
	RoleSpoke
)

func (r Role) String() string {
	switch r {
	case RoleNone:
		return "none"
	case RoleHub:
		return "hub"
	case RoleSpoke:
		return "spoke"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}
