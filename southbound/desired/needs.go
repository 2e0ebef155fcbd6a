package desired

import (
	rz "github.com/netready/netready/gen/realization"
	"github.com/netready/netready/server/tree"
)

// Need is what one binding (of an L3VPN or an L2 network) asks of the
// forwarder of its host, so that the realization core can refuse, when
// the change is committed, a binding no backend can realize.
type Need struct {
	BindingRef
	// Host is the host of the interface's port; "" when the port is not
	// placed (such a binding needs nothing from the network yet).
	Host string
	// VNIC is the port at the root of the interface's hierarchy.
	VNIC string
	// Tagged: the interface is a VLAN sub-interface (Capabilities.VLAN).
	Tagged bool
	// NoDriver says why no driver realizes the binding, "" when a driver
	// with the capabilities its kind asks for can.
	NoDriver string
	// MTU is, for an L2 network binding, the network's mtu leaf (0 when
	// unset): the forwarders realize one MTU only (l2.MTU).
	MTU uint64
}

// BindingRef names one binding of a tenant: of the VPN, or (L2) the L2
// network, Owner, on Interface.
type BindingRef struct {
	Tenant, Owner, Interface string
	L2                       bool
}

// Path is the binding's data path (gNMI string form).
func (b BindingRef) Path() string {
	list := "/vpns/vpn[name="
	if b.L2 {
		list = "/l2-networks/l2-network[name="
	}
	return "/tenants/tenant[name=" + b.Tenant + "]" + list + b.Owner + "]/bindings/binding[interface=" + b.Interface + "]"
}

// Needs lists what every binding of tenant t (a tenants/tenant entry)
// needs, VPN bindings first, then L2 network bindings, each in key order.
// Bindings of interfaces that are not on a port are skipped: validation
// refuses them.
func Needs(t *tree.Node) []Need {
	tn := rz.Tenant{Node: t}
	placed := portHosts(tn)
	var out []Need
	add := func(ref BindingRef) {
		if pl, ok := placed[ref.Interface]; ok {
			out = append(out, needOf(tn, ref, pl))
		}
	}
	for v := range tn.VPNs() {
		for b := range v.Bindings() {
			add(BindingRef{Tenant: tn.Name(), Owner: v.Name(), Interface: b.Interface()})
		}
	}
	for n := range tn.L2Networks() {
		for b := range n.L2Bindings() {
			add(BindingRef{Tenant: tn.Name(), Owner: n.Name(), Interface: b.Interface(), L2: true})
		}
	}
	return out
}

// NeedsOf is Needs for the named bindings of tenant t alone (those that
// exist), placing only their interfaces: for a transaction that changed
// a few bindings of a large tenant and none of its ports or interfaces.
func NeedsOf(t *tree.Node, refs []BindingRef) []Need {
	tn := rz.Tenant{Node: t}
	var out []Need
	for _, ref := range refs {
		var ok bool
		if ref.L2 {
			if n, found := tn.L2Network(ref.Owner); found {
				_, ok = n.L2Binding(ref.Interface)
			}
		} else if v, found := tn.VPN(ref.Owner); found {
			_, ok = v.Binding(ref.Interface)
		}
		if !ok {
			continue
		}
		if pl, placed := placeOne(tn, ref.Interface); placed {
			out = append(out, needOf(tn, ref, pl))
		}
	}
	return out
}

func needOf(tn rz.Tenant, ref BindingRef, pl ifacePlacement) Need {
	n := Need{BindingRef: ref, Host: pl.host, VNIC: pl.vnic, Tagged: pl.kind == rz.InterfaceTypeVlan, NoDriver: pl.noDriver}
	if ref.L2 {
		if net, ok := tn.L2Network(ref.Owner); ok {
			n.MTU = net.MTU()
		}
	}
	return n
}
