package realize

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/desired"
	"github.com/netready/netready/southbound/l2"
)

// refuseUnrealizable returns a FailedPrecondition (tree.KindConflict)
// error for the first intent of the candidate tree that the backend it is
// placed on cannot realize, so that nothing is accepted that the network
// will not hold: a host on a backend whose driver does not forward, or a
// binding whose interface the driver of its host's backend cannot
// realize (a VLAN sub-interface without Capabilities.VLAN, an L2 network
// without Capabilities.L2, a kind no driver realizes). Hosts are always
// checked (they are few); bindings in the tenants the transaction
// changed, or in every tenant when a host or backend changed (a placement
// can move under a binding either way). nil when all is realizable.
func (e *Engine) refuseUnrealizable(cs *changeset.Set, cfgs map[string]desired.Backend) error {
	if err := e.refuseDriverSwap(cs, cfgs); err != nil {
		return err
	}
	hostBackend, err := e.refuseHosts(cs.New, cfgs)
	if err != nil {
		return err
	}
	return e.refuseBindings(cs, cfgs, hostBackend)
}

// touchesBackends tells whether a change set changes anything under the
// backends list.
func (e *Engine) touchesBackends(cs *changeset.Set) bool {
	for c := range cs.All() {
		if c.Chain[0].Schema() == e.paths.backends {
			return true
		}
	}
	return false
}

// refuseDriverSwap refuses changing the driver kind of a forwarding
// backend in place while hosts are placed on it (in the running
// configuration): the retiring driver would never be told to remove what
// it holds in the hosts' namespaces (<prefix><host>, shared by every
// forwarder kind), and what it left would stand in the new driver's way
// (e.g. a VXLAN socket on UDP 4789) and keep forwarding. Moving the hosts
// to another backend does remove it (their old backend's driver deletes
// what it holds for them), so that is what the refusal asks for.
func (e *Engine) refuseDriverSwap(cs *changeset.Set, cfgs map[string]desired.Backend) error {
	if cs.Old == nil || !e.touchesBackends(cs) {
		return nil
	}
	was := desired.Backends(cs.Old)
	held := map[string][]string{} // backend -> its hosts in the running configuration
	for _, h := range desired.Hosts(cs.Old) {
		held[h.Backend] = append(held[h.Backend], h.Name)
	}
	for _, b := range slices.Sorted(maps.Keys(held)) {
		old, ok := was[b]
		cur, still := cfgs[b]
		if !ok || !still || old.Driver == cur.Driver || !e.known(old) || !e.reg[old.Driver].Caps.Forwarding {
			continue
		}
		hosts := held[b]
		slices.Sort(hosts)
		return &tree.Error{Kind: tree.KindConflict, Path: backendPath(b) + "/driver", Msg: fmt.Sprintf(
			"backend %s cannot change its driver from %s to %s while hosts are placed on it (host %s): %s would not remove what it holds on them. "+
				"Add a backend with driver %s, move the hosts to it, then change or delete %s",
			b, old.Driver, cur.Driver, strings.Join(hosts, ", host "), old.Driver, cur.Driver, b)}
	}
	return nil
}

// refuseHosts refuses a host placed on a backend whose driver does not
// forward; it returns every host's backend.
func (e *Engine) refuseHosts(root *tree.Node, cfgs map[string]desired.Backend) (map[string]string, error) {
	hostBackend := map[string]string{}
	for _, h := range desired.Hosts(root) {
		hostBackend[h.Name] = h.Backend
		cfg, ok := cfgs[h.Backend]
		if !ok || !e.known(cfg) || e.reg[cfg.Driver].Caps.Forwarding {
			continue // an unknown backend is validation's to refuse, an unknown driver plan's
		}
		path := "/hosts/host[name=" + h.Name + "]/backend"
		if old := e.backends[h.Backend]; old != nil && old.cfg.Driver != cfg.Driver {
			path = backendPath(h.Backend) + "/driver" // the backend changed under the host
		}
		return nil, &tree.Error{Kind: tree.KindConflict, Path: path, Msg: fmt.Sprintf(
			"host %s is placed on backend %s, whose driver %s does not forward (it carries configuration data only): place hosts on a backend whose driver forwards (%s)",
			h.Name, h.Backend, cfg.Driver, strings.Join(e.forwardingKinds(), ", "))}
	}
	return hostBackend, nil
}

// refuseBindings refuses a binding the driver of its host's backend
// cannot realize, among the bindings of the tenants cs changed (all of
// them when it changed a host or backend).
func (e *Engine) refuseBindings(cs *changeset.Set, cfgs map[string]desired.Backend, hostBackend map[string]string) error {
	scopes, all := e.capScopes(cs)
	noV6 := e.hostsWithoutIPv6(cfgs, hostBackend)
	var err error
	each(child1(cs.New, e.paths.tenants), e.paths.tenant, func(tn *tree.Node) {
		sc, touched := scopes[tn.Key()]
		if err != nil || !all && !touched {
			return
		}
		var needs []desired.Need
		if all || sc.placement {
			needs = desired.Needs(tn)
		} else {
			needs = desired.NeedsOf(tn, slices.SortedFunc(maps.Keys(sc.bindings), func(a, b desired.BindingRef) int {
				return strings.Compare(a.Path(), b.Path())
			}))
		}
		for _, n := range needs {
			if n.Host == "" {
				continue
			}
			cfg, ok := cfgs[hostBackend[n.Host]]
			if !ok || !e.known(cfg) {
				continue
			}
			if why := e.cannot(n, cfg.Driver); why != "" {
				err = &tree.Error{Kind: tree.KindConflict, Path: n.Path(), Msg: fmt.Sprintf(
					"interface %s (on port %s, host %s) cannot be realized by backend %s (driver %s): %s",
					n.Interface, n.VNIC, n.Host, cfg.Name, cfg.Driver, why)}
				return
			}
			if err = refuseL2MTU(n, cfg); err != nil {
				return
			}
		}
		if len(noV6) > 0 {
			err = e.refuseIPv6(tn, ipv6Scope(tn, sc, all), noV6)
		}
	})
	return err
}

// refuseL2MTU refuses an L2 network's mtu other than l2.MTU, the one MTU
// every forwarder realizes (never applied otherwise), once a binding of
// the network is placed on one of their hosts.
func refuseL2MTU(n desired.Need, cfg desired.Backend) error {
	if n.L2 && n.MTU != 0 && n.MTU != l2.MTU {
		return &tree.Error{Kind: tree.KindConflict, Path: "/tenants/tenant[name=" + n.Tenant + "]/l2-networks/l2-network[name=" + n.Owner + "]/mtu", Msg: fmt.Sprintf(
			"L2 network %s has mtu %d, but backend %s (driver %s, host %s) realizes L2 networks with MTU %d only (a 1500-octet underlay less 50 of VXLAN): leave mtu unset or set it to %d",
			n.Owner, n.MTU, cfg.Name, cfg.Driver, n.Host, l2.MTU, l2.MTU)}
	}
	return nil
}

// hostsWithoutIPv6 returns the hosts placed on a forwarding backend whose
// driver does not realize IPv6, with that backend.
func (e *Engine) hostsWithoutIPv6(cfgs map[string]desired.Backend, hostBackend map[string]string) map[string]desired.Backend {
	out := map[string]desired.Backend{}
	for h, b := range hostBackend {
		cfg, ok := cfgs[b]
		if ok && e.known(cfg) && e.reg[cfg.Driver].Caps.Forwarding && !e.reg[cfg.Driver].Caps.IPv6 {
			out[h] = cfg
		}
	}
	return out
}

// ipv6Scope names the VPNs of tenant tn whose IPv6 placement a
// transaction may have changed: those it changed anything in, or every
// one when it moved a placement.
func ipv6Scope(tn *tree.Node, sc *capScope, all bool) []string {
	if !all && sc != nil && !sc.placement {
		return slices.Sorted(maps.Keys(sc.vpns))
	}
	return desired.VPNNames(tn)
}

// refuseIPv6 refuses a VPN that routes IPv6 (desired.VPNIPv6) with a
// binding on a host in noV6: every VRF instance of the VPN holds its
// IPv6 routes, which that host's driver cannot realize (it would fail at
// apply time, or hold the VPN's IPv4 routes only). The path is the
// binding on that host; the message names the IPv6 address or prefix.
// Cost: one walk over each named VPN's bindings.
func (e *Engine) refuseIPv6(tn *tree.Node, vpns []string, noV6 map[string]desired.Backend) error {
	for _, vpn := range vpns {
		at, value, ok := desired.VPNIPv6(tn, vpn)
		if !ok {
			continue
		}
		for _, n := range desired.VPNNeeds(tn, vpn) {
			cfg, lacks := noV6[n.Host]
			if !lacks {
				continue
			}
			return &tree.Error{Kind: tree.KindConflict, Path: n.Path(), Msg: fmt.Sprintf(
				"VPN %s routes IPv6 (%s at %s), so its VRF on host %s would hold IPv6 routes, and backend %s (driver %s) does not realize IPv6 (%s)",
				vpn, value, at, n.Host, cfg.Name, cfg.Driver, e.kindsWith(func(c southbound.Capabilities) bool { return c.IPv6 }))}
		}
	}
	return nil
}

// known reports whether a backend's driver kind is registered: an
// unknown one is refused by plan (when the backend is up) with its own
// message, not as lacking capabilities.
func (e *Engine) known(cfg desired.Backend) bool {
	_, ok := e.reg[cfg.Driver]
	return ok
}

// cannot says why driver kind cannot realize need n, "" when it can.
func (e *Engine) cannot(n desired.Need, kind string) string {
	caps := e.reg[kind].Caps
	switch {
	case n.NoDriver != "":
		return n.NoDriver
	case n.Tagged && !caps.VLAN:
		return "the driver does not realize VLAN sub-interfaces (" + e.kindsWith(func(c southbound.Capabilities) bool { return c.VLAN }) + ")"
	case n.L2 && !caps.L2:
		return "the driver does not realize L2 networks (" + e.kindsWith(func(c southbound.Capabilities) bool { return c.L2 }) + ")"
	}
	return ""
}

// kindsWith names the registered driver kinds with a capability, for the
// refusal's message.
func (e *Engine) kindsWith(has func(southbound.Capabilities) bool) string {
	var out []string
	for _, k := range e.reg.Kinds() {
		if has(e.reg[k].Caps) {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return "no driver of this server does"
	}
	return "drivers that do: " + strings.Join(out, ", ")
}

// forwardingKinds lists the registered driver kinds that forward.
func (e *Engine) forwardingKinds() []string {
	var out []string
	for _, k := range e.reg.Kinds() {
		if e.reg[k].Caps.Forwarding {
			out = append(out, k)
		}
	}
	return out
}

// capScope is what a transaction changed in one tenant, for the
// capability check: its placement (a port or interface: every binding is
// checked) or only some bindings.
type capScope struct {
	placement bool
	bindings  map[desired.BindingRef]bool
	vpns      map[string]bool // VPNs with any change (IPv6 check)
}

// capScopes reads, from a transaction's changes, what changed in each
// tenant (by name); all is set when it changed a host or backend, which
// may move any tenant's placement.
func (e *Engine) capScopes(cs *changeset.Set) (map[string]*capScope, bool) {
	out := map[string]*capScope{}
	for c := range cs.All() {
		switch top := c.Chain[0].Schema(); {
		case top == e.paths.hosts || top == e.paths.backends:
			if c.Chain[len(c.Chain)-1].Schema().Config {
				return nil, true
			}
		case top == e.paths.tenants:
			e.capScope(out, c)
		}
	}
	return out, false
}

// capScope records one change under /tenants in out.
func (e *Engine) capScope(out map[string]*capScope, c changeset.Change) {
	var sc *capScope
	var tenant, owner string
	l2net := false
	for i, n := range c.Chain {
		if i == 0 || c.Chain[i-1].Schema() != n.Schema() || !n.Schema().Config {
			continue // not a list entry
		}
		switch n.Schema() {
		case e.paths.tenant:
			tenant = n.Key()
			if sc = out[tenant]; sc == nil {
				sc = &capScope{bindings: map[desired.BindingRef]bool{}, vpns: map[string]bool{}}
				out[tenant] = sc
			}
		case e.paths.port, e.paths.iface:
			sc.placement = true
			return
		case e.paths.vpn:
			owner = n.Key()
			sc.vpns[owner] = true
		case e.paths.l2net:
			owner = n.Key()
			// The network's own leaf (its mtu), not a container of it.
			l2net = n.Schema() == e.paths.l2net && i == len(c.Chain)-2 && !c.Chain[i+1].Schema().IsDir()
		case e.paths.binding, e.paths.l2bind:
			sc.bindings[desired.BindingRef{Tenant: tenant, Owner: owner, Interface: n.Key(), L2: n.Schema() == e.paths.l2bind}] = true
			return
		}
	}
	// A change of an L2 network's own leaves (its mtu) judges the
	// tenant's bindings again.
	if l2net && sc != nil {
		sc.placement = true
	}
}
