package routing

import (
	"net/netip"
	"slices"
)

// StaticStatus says where the static route of VPN vpn ("tenant/vpn")
// for prefix is in the current Result: hosts (sorted) are those with a
// VRF instance of the VPN routing prefix through one of the route's
// next-hop addresses. Whether those hosts' forwarders hold it is the
// caller's to say. why lists the warnings of the route (next hops that are not
// the address of an active binding, a member address shadowing it), so an
// operator sees why a route is missing or runs on fewer next hops than
// configured. ok is false when the VPN has no such static route.
//
// It exists because a static route is accepted whatever its next hops
// are (a next hop may be a binding that comes later or is admin down),
// and status must say whether the network holds it.
func (x *Incremental) StaticStatus(vpn string, prefix netip.Prefix) (hosts, why []string, ok bool) {
	rec := x.vpns[vpn]
	if rec == nil {
		return nil, nil, false
	}
	i, found := slices.BinarySearchFunc(rec.v.statics, prefix, func(s staticState, p netip.Prefix) int { return s.prefix.Compare(p) })
	if !found {
		return nil, nil, false
	}
	s := &rec.v.statics[i]
	why = slices.Clone(rec.staticWarn[i])
	for _, inst := range rec.insts {
		why = append(why, inst.warned[prefix]...)
		if routesVia(x.res.Hosts[inst.host], inst.id, prefix, s.hops) {
			hosts = append(hosts, inst.host)
		}
	}
	slices.Sort(hosts)
	slices.Sort(why)
	return slices.Compact(hosts), slices.Compact(why), true
}

// routesVia reports whether VRF id on host h has a route for prefix with
// a hop through one of hops' addresses.
func routesVia(h *HostView, id string, prefix netip.Prefix, hops []NextHop) bool {
	if h == nil {
		return false
	}
	v := h.VRF(id)
	if v == nil {
		return false
	}
	j, found := slices.BinarySearchFunc(v.Routes, prefix, func(r Route, p netip.Prefix) int { return r.Prefix.Compare(p) })
	if !found {
		return false
	}
	return slices.ContainsFunc(v.Routes[j].NextHops, func(hop Hop) bool {
		return slices.ContainsFunc(hops, func(nh NextHop) bool { return nh.Addr == hop.Addr })
	})
}
