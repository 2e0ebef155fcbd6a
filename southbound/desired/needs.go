package desired

import (
	rz "github.com/netready/netready/gen/realization"
	"github.com/netready/netready/server/tree"
)

// Need is what one binding (of an L3VPN or an L2 network) asks of the
// forwarder of its host, so that the realization core can refuse, when
// the change is committed, a binding no backend can realize.
type Need struct {
	// Path is the binding's data path (gNMI string form).
	Path      string
	Interface string
	// Host is the host of the interface's port; "" when the port is not
	// placed (such a binding needs nothing from the network yet).
	Host string
	// VNIC is the port at the root of the interface's hierarchy.
	VNIC string
	// Tagged: the interface is a VLAN sub-interface (Capabilities.VLAN).
	Tagged bool
	// L2: the binding is one of an L2 network (Capabilities.L2).
	L2 bool
	// NoDriver says why no driver realizes the binding, "" when a driver
	// with the capabilities above can.
	NoDriver string
}

// Needs lists what every binding of tenant t (a tenants/tenant entry)
// needs, VPN bindings first, then L2 network bindings, each in key order.
// Bindings of interfaces that do not exist are skipped: validation refuses
// them.
func Needs(t *tree.Node) []Need {
	tn := rz.Tenant{Node: t}
	placed := portHosts(tn)
	tpath := "/tenants/tenant[name=" + tn.Name() + "]"
	var out []Need
	need := func(path, iface string, l2 bool) {
		pl, ok := placed[iface]
		if !ok {
			return
		}
		out = append(out, Need{
			Path: path, Interface: iface, Host: pl.host, VNIC: pl.vnic, L2: l2,
			Tagged: pl.kind == rz.InterfaceTypeVlan, NoDriver: pl.noDriver,
		})
	}
	for v := range tn.VPNs() {
		for b := range v.Bindings() {
			need(tpath+"/vpns/vpn[name="+v.Name()+"]/bindings/binding[interface="+b.Interface()+"]", b.Interface(), false)
		}
	}
	for n := range tn.L2Networks() {
		for b := range n.L2Bindings() {
			need(tpath+"/l2-networks/l2-network[name="+n.Name()+"]/bindings/binding[interface="+b.Interface()+"]", b.Interface(), true)
		}
	}
	return out
}
