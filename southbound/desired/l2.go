package desired

import (
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
		var placed map[string]ifacePlacement
		for n := range t.L2Networks() {
			if placed == nil {
				placed = portHosts(t)
			}
			m.Networks = append(m.Networks, readL2Network(t.Name(), n, placed))
		}
	}
	return m
}

func readL2Network(tenant string, n rz.L2Network, placed map[string]ifacePlacement) l2.Network {
	net := l2.Network{Tenant: tenant, Name: n.Name()}
	if p, ok := n.L2Provider(); ok {
		net.SegmentID = uint32(p.SegmentationID())
	}
	for b := range n.L2Bindings() {
		pl := placed[b.Interface()]
		net.Bindings = append(net.Bindings, l2.Binding{
			Interface: b.Interface(), Host: pl.host, VNIC: pl.vnic, VLAN: pl.vlan,
			AdminUp: pl.up && b.AdminState() != rz.AdminStateDown,
		})
	}
	return net
}

// L2Relevant reports whether a transaction (walk replays its
// differences: a change set's Walk) may change what L2 reads: the hosts,
// or the L2 networks, ports and interfaces of a tenant that has L2
// networks. A Set of L3VPNs alone then costs no L2 computation, however
// many L2 networks the tree holds. It may say yes where L2 reads nothing
// that changed (a host's description), never no where it does.
func L2Relevant(walk func(tree.DiffFunc)) bool {
	found := false
	walk(func(chain []*tree.Node, o, n *tree.Node) bool {
		s := chain[len(chain)-1].Schema()
		if found || !s.Config {
			return false
		}
		switch top := chain[0].Schema().Path; {
		case top == "/hosts":
			found = true
			return false
		case top != "/tenants":
			return false
		}
		switch p := s.Path; {
		case p == "/tenants":
			return true
		case p == rz.TenantPath: // created, deleted, or changed below
			if o == nil || n == nil {
				found = hasL2(o) || hasL2(n)
				return false
			}
			return true
		case strings.HasPrefix(p, "/tenants/tenant/l2-networks"):
			found = true
		case strings.HasPrefix(p, "/tenants/tenant/ports"), strings.HasPrefix(p, "/tenants/tenant/interfaces"):
			// If only the other side has L2 networks, they changed too.
			found = hasL2(tenantOf(chain))
		}
		return false
	})
	return found
}

// tenantOf returns the tenant entry of a chain below one.
func tenantOf(chain []*tree.Node) *tree.Node {
	for i := len(chain) - 1; i >= 0; i-- {
		if chain[i].Schema().Path == rz.TenantPath {
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
