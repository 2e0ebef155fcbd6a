package rules

import (
	"slices"

	"github.com/netready/netready/server/tree"
)

// oneVPNPerRD is the rule that a route distinguisher is configured on one
// VPN only, across tenants: two VRFs of different VPNs with one RD make
// their VPN routes indistinguishable in BGP, and the route computation
// could only keep one of the claims (it used to warn and share the RD).
// It is a Guard on /tenants, run once per transaction that changes a
// route-distinguisher leaf-list anywhere: it finds the RDs the
// transaction adds (tree.Diff: the cost of the change), then looks for
// them in one pass over every VPN's RDs, without building an index of
// them. The refusal names a VPN whose claim the transaction adds (one not
// holding the RD as committed), not the one already committed.
func oneVPNPerRD(_, _ *tree.Node, was, is []*tree.Node) error {
	if is == nil {
		return nil
	}
	var committed *tree.Node
	if was != nil {
		committed = was[len(was)-1]
	}
	added := addedRDs(committed, is[len(is)-1])
	if len(added) == 0 {
		return nil
	}
	owner := map[string]vpnRef{} // added RD → first VPN claiming it
	var err error
	eachVPN(is[len(is)-1], func(v vpnRef) bool {
		rds := v.vpn.ChildByName("route-distinguisher")
		if rds == nil {
			return true
		}
		for _, val := range rds.Values() {
			rd := str(val)
			if !added[rd] {
				continue
			}
			prev, taken := owner[rd]
			if !taken {
				owner[rd] = v
				continue
			}
			at, other := v, prev
			if v.holds(committed, rd) && !prev.holds(committed, rd) {
				at, other = prev, v
			}
			err = fail(at.chain(is), "route-distinguisher", "route distinguisher %s is already configured on %s; give each VPN its own (or none: the server assigns unique ones)", rd, holderName(at, other))
			return false
		}
		return true
	})
	return err
}

// holderName names the VPN other that holds an RD to the tenant of at:
// another tenant's VPN is not named, as another tenant's objects are not
// shown to a tenant anywhere else.
func holderName(at, other vpnRef) string {
	if at.tenant.Key() == other.tenant.Key() {
		return "VPN " + other.vpn.Key()
	}
	return "a VPN of another tenant"
}

// addedRDs returns the RDs that route-distinguisher leaf-lists under cur
// hold and did not hold under committed (nil: nothing committed).
func addedRDs(committed, cur *tree.Node) map[string]bool {
	added := map[string]bool{}
	tree.Diff(committed, cur, func(_ []*tree.Node, old, n *tree.Node) bool {
		if n == nil {
			return false
		}
		if name := n.Schema().Name; name != "route-distinguisher" {
			return name == "tenant" || name == "vpns" || name == "vpn" // skip ports, bindings, ...
		}
		var had []string
		if old != nil {
			had = valuesOf(old)
		}
		for _, rd := range valuesOf(n) {
			if !slices.Contains(had, rd) {
				added[rd] = true
			}
		}
		return true
	})
	return added
}

func valuesOf(n *tree.Node) []string {
	var out []string
	for _, v := range n.Values() {
		out = append(out, str(v))
	}
	return out
}

// vpnRef is one VPN as found under /tenants: the nodes from the tenant
// list down to the VPN entry, so that its path is built only for a
// refusal.
type vpnRef struct {
	tenant, vpn *tree.Node
	nodes       [5]*tree.Node // tenant list, tenant, vpns, vpn list, vpn
}

// chain is the VPN's chain from the root, under the chain of /tenants.
func (v vpnRef) chain(tenants []*tree.Node) []*tree.Node {
	return append(append([]*tree.Node(nil), tenants...), v.nodes[:]...)
}

// holds reports whether the committed /tenants has the VPN with rd.
func (v vpnRef) holds(committed *tree.Node, rd string) bool {
	n := walkLike(committed, v.nodes[:])
	if n == nil {
		return false
	}
	if n = n.ChildByName("route-distinguisher"); n == nil {
		return false
	}
	return slices.Contains(valuesOf(n), rd)
}

// eachVPN calls fn with every VPN of every tenant under tenants until fn
// returns false.
func eachVPN(tenants *tree.Node, fn func(vpnRef) bool) {
	tl := tenants.ChildByName("tenant")
	if tl == nil {
		return
	}
	tl.Entries(func(t *tree.Node) bool {
		vc := t.ChildByName("vpns")
		if vc == nil {
			return true
		}
		vl := vc.ChildByName("vpn")
		if vl == nil {
			return true
		}
		more := true
		vl.Entries(func(v *tree.Node) bool {
			more = fn(vpnRef{tenant: t, vpn: v, nodes: [5]*tree.Node{tl, t, vc, vl, v}})
			return more
		})
		return more
	})
}
