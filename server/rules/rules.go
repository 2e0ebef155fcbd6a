// Package rules holds NetReady's semantic rules: constraints of the
// compiled service models that YANG types cannot express (the kind a `must`
// statement would state). Each rule checks one object and runs whenever the
// object or anything below it changes; see validate.Rule.
//
// The rules are documented in docs/validation.md; keep the two in step.
package rules

import (
	"fmt"
	"net/netip"

	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/server/validate"
)

// All returns every NetReady rule.
func All() []validate.Rule {
	return []validate.Rule{
		{Path: "/tenants/tenant/interfaces/interface", Name: "interface-segmentation", Check: interfaceSegmentation},
		{Path: "/tenants/tenant/interfaces/interface", Name: "interface-hierarchy", Check: interfaceHierarchy},
		{Path: "/tenants/tenant/vpns/vpn", Name: "vpn-policy", Check: vpnPolicy,
			Reads: []string{"vrf-policy", "hub-and-spoke", "route-target", "bindings/binding/role"}},
		{Path: "/tenants/tenant/vpns/vpn", Name: "vpn-addresses", Check: vpnAddresses,
			Reads: []string{"subnet", "anycast/enabled", "bindings/binding/ip-address"}},
		{Path: "/tenants/tenant/vpns/vpn", Name: "vpn-prefixes", Check: vpnPrefixes,
			Reads: []string{"subnet", "static-routes/route/prefix"}},
		{Path: "/tenants/tenant/vpns/vpn", Name: "vpn-static-routes", Check: vpnStaticRoutes,
			Reads: []string{"static-routes/route/prefix", "static-routes/route/next-hop/address"}},
		{Path: "/tenants/tenant/vpns/vpn", Name: "vpn-route-targets", Check: vpnRouteTargetsOwned},
		{Path: "/tenants", Name: "route-distinguisher-owner", Guard: oneVPNPerRD,
			Reads: []string{"tenant/vpns/vpn/route-distinguisher"}},
		{Path: "/route-targets/route-target", Name: "route-target-ownership", Check: ownershipGrants, Guard: ownershipInUse},
		{Path: "/tenants/tenant/l2-networks/l2-network", Name: "provider-segmentation", Check: providerSegmentation},
		{Path: "/connections/connection", Name: "connection-endpoints", Check: connectionEndpoints},
		{Path: "/bgp/neighbors", Name: "bgp-neighbors-once", Check: bgpNeighborsOnce, Reads: []string{"neighbor/address"}},
		{Path: "/hosts", Name: "host-addresses-unique", Check: hostAddressesUnique, Reads: []string{"host/address"}},
		{Path: "/tenants/tenant", Name: "one-forwarding-service", Guard: oneForwardingService,
			Reads: []string{"vpns/vpn/bindings/binding/interface", "l2-networks/l2-network/bindings/binding/interface"}},
	}
}

func fail(chain []*tree.Node, leaf, format string, args ...any) error {
	p := tree.ChainString(chain)
	if leaf != "" {
		p += "/" + leaf
	}
	return &tree.Error{Kind: tree.KindConflict, Path: p, Msg: fmt.Sprintf(format, args...)}
}

// leaf returns the value of the named leaf under n (a slash-separated path
// of containers and a leaf), or nil.
func leaf(n *tree.Node, names ...string) value.Value {
	for _, name := range names {
		if n == nil {
			return nil
		}
		n = n.ChildByName(name)
	}
	if n == nil {
		return nil
	}
	return n.Value()
}

func str(v value.Value) string {
	s, _ := v.(string)
	return s
}

// segmentRanges are the segmentation-id ranges per encapsulation: 802.1Q
// VLAN ids, 24-bit VXLAN VNIs, and MPLS labels above the reserved 0..15.
var segmentRanges = map[string][2]uint64{
	"vlan":  {1, 4094},
	"vxlan": {1, 16777215},
	"mpls":  {16, 1048575},
}

// checkSegment checks a segmentation id against the range of kind; kinds
// without a range (untagged, trunk, flat, none) take no id.
func checkSegment(chain []*tree.Node, leafName, kind string, id value.Value) error {
	r, tagged := segmentRanges[kind]
	switch {
	case !tagged && id != nil:
		return fail(chain, leafName, "%s takes no segmentation id", kind)
	case tagged && id == nil:
		return fail(chain, leafName, "%s needs a segmentation id (%d..%d)", kind, r[0], r[1])
	case tagged:
		v, _ := id.(uint64)
		if v < r[0] || v > r[1] {
			return fail(chain, leafName, "%d is out of range %d..%d for %s", v, r[0], r[1], kind)
		}
	}
	return nil
}

func interfaceSegmentation(_ *tree.Node, chain []*tree.Node) error {
	n := chain[len(chain)-1]
	return checkSegment(chain, "segmentation-id", str(leaf(n, "type")), leaf(n, "segmentation-id"))
}

// interfaceHierarchy refuses cycles in the parent-interface hierarchy.
func interfaceHierarchy(_ *tree.Node, chain []*tree.Node) error {
	n := chain[len(chain)-1]
	list := chain[len(chain)-2]
	seen := map[string]bool{n.Key(): true}
	for cur := n; ; {
		parent := str(leaf(cur, "parent"))
		if parent == "" {
			return nil
		}
		if seen[parent] {
			return fail(chain, "parent", "parent interfaces form a cycle through %s", parent)
		}
		seen[parent] = true
		if cur = list.Entry(parent); cur == nil {
			return nil // a missing parent is the leafref check's to report
		}
	}
}

func providerSegmentation(_ *tree.Node, chain []*tree.Node) error {
	n := chain[len(chain)-1]
	kind := str(leaf(n, "provider", "network-type"))
	id := leaf(n, "provider", "segmentation-id")
	if kind == "" {
		if id != nil {
			return fail(chain, "provider/segmentation-id", "a segmentation id needs a network-type")
		}
		return nil
	}
	return checkSegment(chain, "provider/segmentation-id", kind, id)
}

func connectionEndpoints(_ *tree.Node, chain []*tree.Node) error {
	n := chain[len(chain)-1]
	if l, r := str(leaf(n, "local", "site")), str(leaf(n, "remote", "site")); l != "" && l == r {
		return fail(chain, "remote/site", "local and remote endpoints are both in site %s", l)
	}
	isolation := str(leaf(n, "isolation"))
	if isolation == "none" || isolation == "" {
		isolation = "none"
	}
	return checkSegment(chain, "segmentation-id", isolation, leaf(n, "segmentation-id"))
}

// vpnPolicy checks what the VRF policy needs: hub-and-spoke takes both
// route targets and a role on every binding, and no route-target entries
// (its VRFs' route targets come from the hub and spoke ones: entries would
// be accepted and never used); any-to-any takes no roles.
func vpnPolicy(_ *tree.Node, chain []*tree.Node) error {
	n := chain[len(chain)-1]
	hubSpoke := str(leaf(n, "vrf-policy")) == "hub-and-spoke"
	if hubSpoke {
		for _, rt := range []string{"hub-route-target", "spoke-route-target"} {
			if leaf(n, "hub-and-spoke", rt) == nil {
				return fail(chain, "hub-and-spoke/"+rt, "a hub-and-spoke VPN needs %s", rt)
			}
		}
		if err := noRouteTargetEntries(chain, n); err != nil {
			return err
		}
	}
	var err error
	eachBinding(n, func(b *tree.Node) bool {
		role := leaf(b, "role")
		switch {
		case hubSpoke && role == nil:
			err = fail(append(bindingChain(chain, n), b), "role", "a binding of a hub-and-spoke VPN needs a role (hub or spoke)")
		case !hubSpoke && role != nil:
			err = fail(append(bindingChain(chain, n), b), "role", "roles are only for hub-and-spoke VPNs")
		}
		return err == nil
	})
	return err
}

// noRouteTargetEntries refuses the route-target entries of a hub-and-spoke
// VPN, naming the first.
func noRouteTargetEntries(chain []*tree.Node, vpn *tree.Node) error {
	l := vpn.ChildByName("route-target")
	if l == nil {
		return nil
	}
	var err error
	l.Entries(func(e *tree.Node) bool {
		err = fail(chain, "route-target[value="+e.Key()+"]", "a hub-and-spoke VPN takes its route targets from hub-and-spoke (hub-route-target, spoke-route-target); remove its route-target entries, which only any-to-any VPNs use")
		return false
	})
	return err
}

// vpnAddresses checks binding addresses: each lies in one of the VPN's
// subnets (when it has any), and no two bindings share an address unless
// the VPN allows anycast. Addresses are compared as forwarding sees them:
// an IPv4-mapped IPv6 address (::ffff:10.0.0.1) is its IPv4 address.
func vpnAddresses(_ *tree.Node, chain []*tree.Node) error {
	n := chain[len(chain)-1]
	subnets := vpnSubnets(n)
	anycast, _ := leaf(n, "anycast", "enabled").(bool)
	owner := map[netip.Addr]string{}
	var err error
	eachBinding(n, func(b *tree.Node) bool {
		ips := b.ChildByName("ip-address")
		if ips == nil {
			return true
		}
		for _, v := range ips.Values() {
			a, perr := netip.ParseAddr(str(v))
			if perr != nil {
				err = fail(append(bindingChain(chain, n), b), "ip-address", "%q is not an IP address", str(v))
				return false
			}
			a = a.Unmap()
			if len(subnets) > 0 && !inAny(subnets, a) {
				err = fail(append(bindingChain(chain, n), b), "ip-address", "%s is in none of the VPN's subnets", a)
				return false
			}
			if prev, dup := owner[a]; dup && prev != b.Key() && !anycast {
				err = fail(append(bindingChain(chain, n), b), "ip-address", "%s is already used by binding %s; enable anycast on the VPN to share it", a, prev)
				return false
			}
			owner[a] = b.Key()
		}
		return true
	})
	return err
}

// vpnPrefixes refuses subnet and static-route prefixes with host bits set
// (10.1.1.5/24): they are almost always a typo for an address or a
// prefix, and backends disagree on what they mean. It refuses one subnet
// listed twice, written two ways (2001:db8::/64, 2001:DB8::/64), too.
func vpnPrefixes(_ *tree.Node, chain []*tree.Node) error {
	n := chain[len(chain)-1]
	if err := subnetsOnce(chain, n.ChildByName("subnet")); err != nil {
		return err
	}
	lists := []struct {
		node *tree.Node
		path string
	}{{n.ChildByName("subnet"), "subnet"}}
	if sr := n.ChildByName("static-routes"); sr != nil {
		lists = append(lists, struct {
			node *tree.Node
			path string
		}{sr.ChildByName("route"), "static-routes/route"})
	}
	var err error
	for _, l := range lists {
		if l.node == nil {
			continue
		}
		l.node.Entries(func(e *tree.Node) bool {
			s := str(leaf(e, "prefix"))
			if p, perr := netip.ParsePrefix(s); perr == nil && p != p.Masked() {
				err = fail(chain, l.path+"[prefix="+s+"]/prefix", "%s has host bits set; did you mean %s?", s, p.Masked())
			}
			return err == nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// subnetsOnce refuses one subnet listed twice, written two ways.
func subnetsOnce(chain []*tree.Node, l *tree.Node) error {
	if e, prev := firstDuplicate(l, func(e *tree.Node) (netip.Prefix, bool) {
		p, err := netip.ParsePrefix(e.Key())
		return p, err == nil
	}); e != nil {
		return fail(chain, "subnet[prefix="+e.Key()+"]/prefix", "%s is subnet %s too, written another way; keep one of the two", e.Key(), prev)
	}
	return nil
}

// vpnStaticRoutes refuses two static routes for one prefix, and one next
// hop listed twice in a route, written differently (2001:db8::/32 and
// 2001:DB8::/32; 10.0.0.1 and ::ffff:10.0.0.1): the keys differ, but the
// forwarding tables can hold only one, so the second would be accepted and
// never used.
func vpnStaticRoutes(_ *tree.Node, chain []*tree.Node) error {
	l := descend(chain[len(chain)-1], "static-routes", "route")
	if l == nil {
		return nil
	}
	seen := map[netip.Prefix]string{}
	var err error
	l.Entries(func(r *tree.Node) bool {
		at := "static-routes/route[prefix=" + r.Key() + "]"
		if p, perr := netip.ParsePrefix(r.Key()); perr == nil {
			if prev, dup := seen[p.Masked()]; dup {
				err = fail(chain, at+"/prefix", "%s is the prefix of static route %s too; keep one of the two routes", r.Key(), prev)
				return false
			}
			seen[p.Masked()] = r.Key()
		}
		err = nextHopsOnce(chain, at, r)
		return err == nil
	})
	return err
}

// nextHopsOnce refuses a next-hop address listed twice in static route r.
func nextHopsOnce(chain []*tree.Node, at string, r *tree.Node) error {
	if h, prev := firstDuplicate(r.ChildByName("next-hop"), addrKey); h != nil {
		return fail(chain, at+"/next-hop[address="+h.Key()+"]/address", "%s is next hop %s of the route too; keep one of the two", h.Key(), prev)
	}
	return nil
}

// bgpNeighborsOnce refuses one peer configured twice, its address
// written two ways (2001:db8::2 and 2001:DB8::2, or 192.0.2.1 and
// ::ffff:192.0.2.1): the speaker holds one session per address, so one
// of the two would have no session and no status.
func bgpNeighborsOnce(_ *tree.Node, chain []*tree.Node) error {
	if nb, prev := firstDuplicate(chain[len(chain)-1].ChildByName("neighbor"), addrKey); nb != nil {
		return fail(chain, "neighbor[address="+nb.Key()+"]/address", "%s is neighbor %s too, written another way; keep one of the two", nb.Key(), prev)
	}
	return nil
}

// hostAddressesUnique refuses two hosts with one underlay address
// (however written): it is the tunnel endpoint other hosts send a host's
// traffic to, so the second host's would reach the first.
func hostAddressesUnique(_ *tree.Node, chain []*tree.Node) error {
	l := chain[len(chain)-1].ChildByName("host")
	if h, prev := firstDuplicate(l, func(h *tree.Node) (netip.Addr, bool) {
		a, err := netip.ParseAddr(str(leaf(h, "address"))) // no address: passed over
		return a.Unmap(), err == nil
	}); h != nil {
		return fail(append(chain[:len(chain):len(chain)], l, h), "address", "%s is the underlay address of host %s too; each host needs its own tunnel endpoint", str(leaf(h, "address")), prev)
	}
	return nil
}

// firstDuplicate returns the first entry of list l (nil: none) whose
// identity (keyOf; false passes over the entry, as for a value the type
// refuses) an earlier entry has, and that entry's key.
func firstDuplicate[K comparable](l *tree.Node, keyOf func(*tree.Node) (K, bool)) (dup *tree.Node, prev string) {
	if l == nil {
		return nil, ""
	}
	seen := map[K]string{}
	l.Entries(func(e *tree.Node) bool {
		k, ok := keyOf(e)
		if !ok {
			return true
		}
		if p, found := seen[k]; found {
			dup, prev = e, p
			return false
		}
		seen[k] = e.Key()
		return true
	})
	return dup, prev
}

// addrKey is the address a list entry is keyed by, as forwarding sees it
// (an IPv4-mapped IPv6 address is its IPv4 address).
func addrKey(e *tree.Node) (netip.Addr, bool) {
	a, err := netip.ParseAddr(e.Key())
	return a.Unmap(), err == nil
}

// descend returns the node at the end of names under n, or nil.
func descend(n *tree.Node, names ...string) *tree.Node {
	for _, name := range names {
		if n == nil {
			return nil
		}
		n = n.ChildByName(name)
	}
	return n
}

func vpnSubnets(vpn *tree.Node) []netip.Prefix {
	var out []netip.Prefix
	if l := vpn.ChildByName("subnet"); l != nil {
		l.Entries(func(e *tree.Node) bool {
			if p, err := netip.ParsePrefix(str(leaf(e, "prefix"))); err == nil {
				out = append(out, p.Masked())
			}
			return true
		})
	}
	return out
}

func inAny(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func eachBinding(vpn *tree.Node, fn func(*tree.Node) bool) {
	if c := vpn.ChildByName("bindings"); c != nil {
		if l := c.ChildByName("binding"); l != nil {
			l.Entries(fn)
		}
	}
}

// bindingChain extends a VPN's chain to its binding list, for error paths.
func bindingChain(chain []*tree.Node, vpn *tree.Node) []*tree.Node {
	c := vpn.ChildByName("bindings")
	out := append(append([]*tree.Node(nil), chain...), c)
	return append(out, c.ChildByName("binding"))
}
