package bgp

import (
	"fmt"
	"math"
	"net/netip"
	"slices"

	"github.com/osrg/gobgp/v4/pkg/packet/bgp"

	"github.com/netready/netready/southbound/routing"
)

// Route is one VPNv4 or (IPv6 prefix) VPNv6 route the speaker announces.
type Route struct {
	// RD is "<host underlay>:<VRF label>" (type 1): one per VRF instance
	// per host, so the copies of an anycast address on several hosts are
	// distinct routes and all survive path selection.
	RD      string
	Prefix  netip.Prefix
	Label   uint32     // the binding's label: traffic goes straight to its interface
	NextHop netip.Addr // the underlay address of the binding's host; IPv4-mapped for VPNv6 (RFC 4659, 3.2.1.2)
	RTs     []string   // the VRF's export route targets
	MED     uint32     // the binding's preference: lower is preferred, as in BGP
}

// key identifies a route in the VPN tables: an RD and a prefix.
func (r Route) key() string { return r.RD + " " + r.Prefix.String() }

// same reports whether a and b announce the same attributes.
func same(a, b Route) bool {
	return a.RD == b.RD && a.Prefix == b.Prefix && a.Label == b.Label && a.NextHop == b.NextHop && a.MED == b.MED && slices.Equal(a.RTs, b.RTs)
}

// Export returns the routes to announce for res, keyed by RD and prefix:
// every route a VRF instance originates on its host — the host route of
// each binding realized there and each static route resolved through
// such a binding (the routes with a next hop bound to the VRF itself on
// that host) — with the label of the binding behind it, so a receiver's
// traffic reaches that interface directly. Routes a VRF imported are not
// exported again. It also returns what it could not export, for the log.
//
// An IPv6 prefix is exported as VPNv6 (RFC 4659) with the same RD,
// label and communities, its next hop the host's IPv4 underlay address
// mapped into IPv6 (::ffff:a.b.c.d), since the tunnels run over IPv4; a
// VRF instance holds IPv6 routes only on a forwarder that realizes them
// (realize refuses the others), so what is exported is realized. Hosts
// with an IPv6 underlay and VRF labels above 65,535 (the type 1 RD's
// number) are not exported. Routes with the same prefix in one VRF on one host share an
// RD: the preferred next hop is announced (a static route spread over two
// bindings of one host is announced through the first; copies on other
// hosts are routes of their own).
func Export(res routing.Result) (map[string]Route, []string) {
	out := map[string]Route{}
	var skipped []string
	for _, h := range res.Hosts {
		for i := range h.VRFs {
			skipped = exportVRF(out, h, &h.VRFs[i], skipped)
		}
	}
	return out, skipped
}

func exportVRF(out map[string]Route, h *routing.HostView, v *routing.VRF, skipped []string) []string {
	for _, r := range v.Routes {
		for _, hop := range r.NextHops {
			if hop.Kind != routing.HopLocal {
				continue
			}
			rt, err := exportHop(h, v, r.Prefix, hop)
			if err != nil {
				skipped = append(skipped, err.Error())
				continue
			}
			if _, dup := out[rt.key()]; !dup { // hops are in preference order
				out[rt.key()] = rt
			}
		}
	}
	return skipped
}

func exportHop(h *routing.HostView, v *routing.VRF, p netip.Prefix, hop routing.Hop) (Route, error) {
	switch {
	case !h.Addr.Is4():
		return Route{}, fmt.Errorf("%s in %s on %s: the host has no IPv4 underlay address", p, v.ID, h.Host)
	case v.Label > math.MaxUint16 || v.Label == 0:
		return Route{}, fmt.Errorf("%s in %s on %s: VRF label %d does not fit a type 1 route distinguisher", p, v.ID, h.Host, v.Label)
	}
	nh := h.Addr
	if !p.Addr().Is4() {
		nh = netip.AddrFrom16(h.Addr.As16())
	}
	return Route{
		RD:      fmt.Sprintf("%s:%d", h.Addr, v.Label),
		Prefix:  p,
		Label:   hop.Label,
		NextHop: nh,
		RTs:     v.ExportRTs,
		MED:     hop.Preference,
	}, nil
}

// family is the route's address family: VPNv4, or VPNv6 for an IPv6
// prefix.
func (r Route) family() bgp.Family {
	if r.Prefix.Addr().Is4() {
		return bgp.RF_IPv4_VPN
	}
	return bgp.RF_IPv6_VPN
}
