package desired

import (
	"cmp"
	"slices"
	"strings"

	rz "github.com/netready/netready/gen/realization"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/l2"
)

// L2 reads the L2 networks of root and the hosts they may sit on. It
// reads the whole tree; the interfaces are placed only in tenants that
// have L2 networks, so a tree of L3VPNs alone costs a walk of its tenants.
func L2(root *tree.Node) l2.Model {
	var m l2.Model
	for _, h := range readHosts(root) {
		m.Hosts = append(m.Hosts, l2.Host{Name: h.Name, Backend: h.Backend, Addr: h.Addr})
	}
	for t := range (rz.Root{Node: root}).Tenants() {
		m.Networks = append(m.Networks, readTenantL2(t)...)
	}
	return m
}

func readL2Network(tenant string, n rz.L2Network, placed func(string) ifacePlacement) l2.Network {
	net := l2.Network{Tenant: tenant, Name: n.Name()}
	if p, ok := n.L2Provider(); ok {
		net.SegmentID = uint32(p.SegmentationID())
	}
	for b := range n.L2Bindings() {
		pl := placed(b.Interface())
		net.Bindings = append(net.Bindings, l2.Binding{
			Interface: b.Interface(), Host: pl.host, VNIC: pl.vnic, VLAN: pl.vlan,
			AdminUp: pl.up && b.AdminState() != rz.AdminStateDown,
		})
	}
	return net
}

// L2Scope is what a transaction changed of what L2 reads.
type L2Scope struct {
	// Hosts: the hosts changed, so everything is read again.
	Hosts bool
	// Tenants are those whose L2 networks changed, or whose ports or
	// interfaces changed while they have L2 networks (by name).
	Tenants map[string]*TenantL2
}

// TenantL2 is what changed in one tenant's L2 networks: all of them (its
// ports or interfaces changed, or the tenant or its list of networks came
// or went), or the networks named.
type TenantL2 struct {
	All      bool
	Networks map[string]bool
}

// Empty reports whether the transaction changed nothing L2 reads.
func (s L2Scope) Empty() bool { return !s.Hosts && len(s.Tenants) == 0 }

// L2Changes tells what a transaction (walk replays its differences: a
// change set's Walk) may change of what L2 reads: the hosts, or the L2
// networks, ports and interfaces of a tenant that has L2 networks. A Set
// of L3VPNs alone then costs no L2 computation, and one of a tenant's L2
// networks only that tenant's, however many L2 networks the tree holds.
// It may name a tenant whose L2 model did not change (a port's
// description), never leave out one whose did.
func L2Changes(walk func(tree.DiffFunc)) L2Scope {
	var sc L2Scope
	// touch notes a change in tenant t: to network net, or to all ("").
	touch := func(t *tree.Node, net string) {
		if sc.Tenants == nil {
			sc.Tenants = map[string]*TenantL2{}
		}
		tl := sc.Tenants[t.Key()]
		if tl == nil {
			tl = &TenantL2{Networks: map[string]bool{}}
			sc.Tenants[t.Key()] = tl
		}
		if net == "" {
			tl.All = true
		} else {
			tl.Networks[net] = true
		}
	}
	walk(func(chain []*tree.Node, o, n *tree.Node) bool {
		s := chain[len(chain)-1].Schema()
		if sc.Hosts || !s.Config {
			return false
		}
		switch top := chain[0].Schema().Path; {
		case top == "/hosts":
			sc.Hosts = true
			return false
		case top != "/tenants":
			return false
		}
		switch p := s.Path; {
		case p == "/tenants":
			return true
		case p == rz.TenantPath: // created, deleted, or changed below
			withL2 := hasL2(o) || hasL2(n)
			if withL2 && (o == nil || n == nil) {
				touch(chain[len(chain)-1], "")
			}
			return withL2 && o != nil && n != nil // else nothing below is L2's
		case p == "/tenants/tenant/l2-networks": // reported for any change below
			if o != nil && n != nil {
				return true
			}
			touch(tenantOf(chain), "")
		case strings.HasPrefix(p, rz.L2NetworkPath):
			touch(tenantOf(chain), entryOf(chain, rz.L2NetworkPath).Key())
		case strings.HasPrefix(p, "/tenants/tenant/ports"), strings.HasPrefix(p, "/tenants/tenant/interfaces"):
			touch(tenantOf(chain), "")
		}
		return false
	})
	return sc
}

// L2Patch returns L2(root) given prev, the L2 model of a tree that
// differs from root only where tenants says (not in its hosts): the
// networks named are read again, or all of a tenant's; every other
// network is prev's. A network read alone places only its bindings'
// interfaces.
func L2Patch(prev l2.Model, root *tree.Node, tenants map[string]*TenantL2) l2.Model {
	m := l2.Model{Hosts: prev.Hosts}
	for _, n := range prev.Networks {
		if tl := tenants[n.Tenant]; tl == nil || !tl.All && !tl.Networks[n.Name] {
			m.Networks = append(m.Networks, n)
		}
	}
	r := rz.Root{Node: root}
	for name, tl := range tenants {
		t, ok := r.Tenant(name)
		switch {
		case !ok:
		case tl.All:
			m.Networks = append(m.Networks, readTenantL2(t)...)
		default:
			placed := func(i string) ifacePlacement { pl, _ := placeOne(t, i); return pl }
			for net := range tl.Networks {
				if n, ok := t.L2Network(net); ok {
					m.Networks = append(m.Networks, readL2Network(name, n, placed))
				}
			}
		}
	}
	slices.SortFunc(m.Networks, func(a, b l2.Network) int {
		return cmp.Or(strings.Compare(a.Tenant, b.Tenant), strings.Compare(a.Name, b.Name))
	})
	return m
}

// readTenantL2 reads the L2 networks of tenant t.
func readTenantL2(t rz.Tenant) []l2.Network {
	var out []l2.Network
	var placed map[string]ifacePlacement
	for n := range t.L2Networks() {
		if placed == nil {
			placed = portHosts(t)
		}
		out = append(out, readL2Network(t.Name(), n, func(i string) ifacePlacement { return placed[i] }))
	}
	return out
}

// tenantOf returns the tenant entry of a chain below one.
func tenantOf(chain []*tree.Node) *tree.Node { return entryOf(chain, rz.TenantPath) }

// entryOf returns the entry of the list at schema path list in a chain
// below one.
func entryOf(chain []*tree.Node, list string) *tree.Node {
	for i := len(chain) - 1; i >= 0; i-- {
		if chain[i].Schema().Path == list {
			return chain[i] // the entry: the list node comes before it
		}
	}
	return nil
}

// hasL2 reports whether tenant t (nil: none) has an L2 network.
func hasL2(t *tree.Node) bool {
	if t == nil {
		return false
	}
	for range (rz.Tenant{Node: t}).L2Networks() {
		return true
	}
	return false
}
