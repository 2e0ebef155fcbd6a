package rules

import (
	"fmt"

	"github.com/netready/netready/server/tree"
)

// Route-target ownership (docs/security.md, "Route-target ownership").
// Route targets decide which VRFs import which routes, so a VPN naming
// another tenant's route target joins that tenant's VPN. /route-targets
// (admin-written) gives each route target one owner and optional grants;
// a VPN may use only what its tenant owns or was granted, and what a VPN
// uses cannot be taken away from under it.

// rtAccess is what a tenant may do with one route target, or what a VPN
// does with it: import, export or both.
type rtAccess uint8

const (
	rtImport rtAccess = 1 << iota
	rtExport
	rtBoth = rtImport | rtExport
)

// accessOf maps a direction enum (import, export, both; absent is the
// default both) to an access.
func accessOf(direction string) rtAccess {
	switch direction {
	case "import":
		return rtImport
	case "export":
		return rtExport
	}
	return rtBoth
}

func (a rtAccess) String() string {
	switch a {
	case rtImport:
		return "import"
	case rtExport:
		return "export"
	case rtBoth:
		return "both"
	}
	return "none"
}

// rtUse is one route target a VPN names: its value, what the VPN does
// with it, and which hub-and-spoke leaf names it ("" for a route-target
// entry).
type rtUse struct {
	value string
	need  rtAccess
	hub   string
}

// at is the path of the naming node below the VPN, for errors (built only
// then: the rule runs on every VPN change).
func (u rtUse) at() string {
	if u.hub != "" {
		return "hub-and-spoke/" + u.hub
	}
	return "route-target[value=" + u.value + "]"
}

var hubLeaves = [...]string{"hub-route-target", "spoke-route-target"}

// eachUse calls fn for every route target vpn names, whatever its
// vrf-policy (a policy change re-runs the rule, but a named route target
// is a claim either way), until fn returns false: its route-target entries
// with their directions, and its hub and spoke route targets, which
// hub-and-spoke VPNs use in both directions.
func eachUse(vpn *tree.Node, fn func(rtUse) bool) {
	more := true
	if l := vpn.ChildByName("route-target"); l != nil {
		l.Entries(func(e *tree.Node) bool {
			more = fn(rtUse{str(leaf(e, "value")), accessOf(str(leaf(e, "direction"))), ""})
			return more
		})
	}
	hs := vpn.ChildByName("hub-and-spoke")
	for _, name := range hubLeaves {
		if !more || hs == nil {
			return
		}
		if v := str(leaf(hs, name)); v != "" {
			more = fn(rtUse{v, rtBoth, name})
		}
	}
}

// vpnUse returns how vpn uses route target value (what it needs of it and
// where), or ok false if it does not name it. It looks the route-target
// entry up by key rather than listing them.
func vpnUse(vpn *tree.Node, value string) (u rtUse, ok bool) {
	if l := vpn.ChildByName("route-target"); l != nil {
		if e := l.Entry(value); e != nil {
			u, ok = rtUse{value, accessOf(str(leaf(e, "direction"))), ""}, true
		}
	}
	for _, name := range hubLeaves {
		if str(leaf(vpn, "hub-and-spoke", name)) == value {
			if !ok {
				u.hub = name
			}
			u.value, u.need, ok = value, rtBoth, true
		}
	}
	return u, ok
}

// ownershipList returns the /route-targets/route-target list of root, or
// nil.
func ownershipList(root *tree.Node) *tree.Node {
	if c := root.ChildByName("route-targets"); c != nil {
		return c.ChildByName("route-target")
	}
	return nil
}

// tenantAccess is what ownership entry e lets tenant do with its route
// target: everything for the owner, what its grant says for a grantee,
// nothing otherwise (or when e is nil).
func tenantAccess(e *tree.Node, tenant string) rtAccess {
	if e == nil {
		return 0
	}
	if str(leaf(e, "owner")) == tenant {
		return rtBoth
	}
	if g := grantOf(e, tenant); g != nil {
		return accessOf(str(leaf(g, "direction")))
	}
	return 0
}

func grantOf(e *tree.Node, tenant string) *tree.Node {
	if l := e.ChildByName("grant"); l != nil {
		return l.Entry(tenant)
	}
	return nil
}

// vpnRouteTargetsOwned is the rule on VPNs: every route target the VPN
// names is owned by or granted to its tenant, for what the VPN does with
// it. The refusal reads the same whether the route target is free or
// another tenant's, so it tells a tenant nothing about the others.
func vpnRouteTargetsOwned(root *tree.Node, chain []*tree.Node) error {
	vpn := chain[len(chain)-1]
	tenant := chain[len(chain)-4].Key() // tenants, tenant, entry, vpns, vpn, entry
	owned := ownershipList(root)
	var err error
	eachUse(vpn, func(u rtUse) bool {
		err = checkUse(owned, chain, tenant, u)
		return err == nil
	})
	return err
}

func checkUse(owned *tree.Node, chain []*tree.Node, tenant string, u rtUse) error {
	var e *tree.Node
	if owned != nil {
		e = owned.Entry(u.value)
	}
	has := tenantAccess(e, tenant)
	switch {
	case has == 0:
		return fail(chain, u.at(), "route target %s is not owned by or granted to tenant %s; an administrator allocates route targets under /route-targets", u.value, tenant)
	case has&u.need != u.need:
		return fail(chain, u.at(), "route target %s is granted to tenant %s for %s only, and this use needs %s", u.value, tenant, has, u.need)
	}
	return nil
}

// ownershipGrants is the Check of /route-targets entries: the owner needs
// no grant, and one would only make revoking it confusing.
func ownershipGrants(_ *tree.Node, chain []*tree.Node) error {
	e := chain[len(chain)-1]
	owner := str(leaf(e, "owner"))
	if grantOf(e, owner) != nil {
		return fail(chain, "grant[tenant="+owner+"]", "tenant %s owns route target %s and needs no grant", owner, e.Key())
	}
	return nil
}

// ownershipInUse is the Guard of /route-targets entries: a change that
// takes from a tenant (a new owner, a removed or narrowed grant, the entry
// deleted) is refused while one of that tenant's VPNs still uses what was
// taken, as deleting a leafref's target is. Only the tenants that lose
// something are scanned, and only their VPNs: creating an entry or adding
// a grant costs nothing more.
func ownershipInUse(_, root *tree.Node, was, is []*tree.Node) error {
	if was == nil {
		return nil // created: it only gives
	}
	before := was[len(was)-1]
	var after *tree.Node
	if is != nil {
		after = is[len(is)-1]
	}
	value := before.Key()
	for _, l := range losers(before, after) {
		if vpnPath, need, ok := usedBy(root, l.tenant, value, l.left); ok {
			return fail(was, l.at, "tenant %s still uses route target %s (%s) at %s; remove it there first", l.tenant, value, need, vpnPath)
		}
	}
	return nil
}

// loss is a tenant that a change of an ownership entry takes access from:
// what it keeps, and the node at fault below the entry.
type loss struct {
	tenant string
	left   rtAccess
	at     string
}

// losers lists the tenants that had more access through before than they
// have through after (nil: deleted). Only the grants the transaction
// touched are compared (tree.Diff skips the entries both versions share),
// so a change to a route target shared with thousands of tenants costs
// what it changes.
func losers(before, after *tree.Node) []loss {
	var out []loss
	owner := str(leaf(before, "owner"))
	lost := func(t, at string) {
		if left := tenantAccess(after, t); tenantAccess(before, t)&^left != 0 {
			if after == nil {
				at = "" // the entry itself is at fault
			}
			out = append(out, loss{t, left, at})
		}
	}
	lost(owner, "owner")
	var touched []string
	tree.Diff(before, after, func(chain []*tree.Node, _, _ *tree.Node) bool {
		if len(chain) >= 2 && chain[0].Schema().Name == "grant" {
			touched = append(touched, chain[1].Key())
		}
		return false // an entry's key is all that is needed
	})
	for _, t := range touched {
		if t != owner {
			lost(t, "grant[tenant="+t+"]")
		}
	}
	return out
}

// usedBy finds a VPN of tenant in root that uses route target value for
// more than left allows, and returns its path and what it needs.
func usedBy(root *tree.Node, tenant, value string, left rtAccess) (string, rtAccess, bool) {
	chain := tenantVPNs(root, tenant)
	if chain == nil {
		return "", 0, false // the tenant is gone (the leafref check speaks for it)
	}
	var path string
	var need rtAccess
	chain[len(chain)-1].Entries(func(vpn *tree.Node) bool {
		if u, ok := vpnUse(vpn, value); ok && u.need&^left != 0 {
			path, need = tree.ChainString(append(chain, vpn))+"/"+u.at(), u.need
		}
		return path == ""
	})
	return path, need, path != ""
}

// tenantVPNs returns the chain from /tenants to the VPN list of tenant,
// or nil when it has none.
func tenantVPNs(root *tree.Node, tenant string) []*tree.Node {
	chain := make([]*tree.Node, 0, 6)
	cur := root
	for _, step := range []struct{ name, key string }{{"tenants", ""}, {"tenant", tenant}, {"vpns", ""}, {"vpn", ""}} {
		if cur = cur.ChildByName(step.name); cur == nil {
			return nil
		}
		chain = append(chain, cur)
		if step.key != "" {
			if cur = cur.Entry(step.key); cur == nil {
				return nil
			}
			chain = append(chain, cur)
		}
	}
	return chain
}

// RouteTargetViolations lists every VPN in root that uses a route target
// its tenant neither owns nor was granted (one line per VPN: path and
// reason). Validation keeps committed data free of them; a store written
// before ownership existed, or by hand, may hold some, and the server
// checks at start-up (docs/security.md).
func RouteTargetViolations(root *tree.Node) []string {
	var out []string
	tenants := root.ChildByName("tenants")
	if tenants == nil || tenants.ChildByName("tenant") == nil {
		return nil
	}
	tenants.ChildByName("tenant").Entries(func(t *tree.Node) bool {
		chain := tenantVPNs(root, t.Key())
		if chain == nil {
			return true
		}
		chain[len(chain)-1].Entries(func(vpn *tree.Node) bool {
			if err := vpnRouteTargetsOwned(root, append(chain, vpn)); err != nil {
				out = append(out, errorLine(err))
			}
			return true
		})
		return true
	})
	return out
}

func errorLine(err error) string {
	if te, ok := err.(*tree.Error); ok {
		return fmt.Sprintf("%s: %s", te.Path, te.Msg)
	}
	return err.Error()
}
