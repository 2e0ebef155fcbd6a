package desired

import (
	"strings"

	rz "github.com/netready/netready/gen/realization"
	"github.com/netready/netready/server/tree"
)

// VPNIPv6 returns where VPN vpn of tenant t (a tenants/tenant entry) asks
// for IPv6 routes: the path of the first binding with an IPv6 address, or
// of the first static route with an IPv6 prefix, with that address or
// prefix. ok is false when the VPN routes IPv4 only. Every VRF instance of
// such a VPN holds its IPv6 routes, so each host holding one must be on a
// backend whose driver realizes IPv6 (southbound.Capabilities.IPv6).
func VPNIPv6(t *tree.Node, vpn string) (path, value string, ok bool) {
	tn := rz.Tenant{Node: t}
	v, found := tn.VPN(vpn)
	if !found {
		return "", "", false
	}
	base := "/tenants/tenant[name=" + tn.Name() + "]/vpns/vpn[name=" + vpn + "]"
	for b := range v.Bindings() {
		for _, a := range b.IPAddress() {
			// The schema has checked the address: an IPv6 one has a
			// colon, an IPv4 one none (no parse per binding).
			if strings.Contains(a, ":") {
				return base + "/bindings/binding[interface=" + b.Interface() + "]/ip-address", a, true
			}
		}
	}
	for r := range v.Routes() {
		if strings.Contains(r.Prefix(), ":") {
			return base + "/static-routes/route[prefix=" + r.Prefix() + "]", r.Prefix(), true
		}
	}
	return "", "", false
}

// VPNNeeds is Needs for the bindings of VPN vpn of tenant t alone.
func VPNNeeds(t *tree.Node, vpn string) []Need {
	tn := rz.Tenant{Node: t}
	v, found := tn.VPN(vpn)
	if !found {
		return nil
	}
	var refs []BindingRef
	for b := range v.Bindings() {
		refs = append(refs, BindingRef{Tenant: tn.Name(), Owner: vpn, Interface: b.Interface()})
	}
	return NeedsOf(t, refs)
}

// VPNNames lists the names of tenant t's VPNs, in key order.
func VPNNames(t *tree.Node) []string {
	var out []string
	for v := range (rz.Tenant{Node: t}).VPNs() {
		out = append(out, v.Name())
	}
	return out
}

// DriverOf returns the driver kind of backend in root (false when root
// has no such backend).
func DriverOf(root *tree.Node, backend string) (string, bool) {
	if root == nil {
		return "", false
	}
	b, ok := (rz.Root{Node: root}).Backend(backend)
	if !ok {
		return "", false
	}
	return b.Driver(), true
}
