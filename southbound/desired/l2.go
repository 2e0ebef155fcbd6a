package desired

import (
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
