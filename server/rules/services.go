package rules

import (
	"github.com/netready/netready/server/tree"
)

// forwardingServices are a tenant's services that forward the frames of
// the interfaces bound to them, by list name and the name a refusal uses.
var forwardingServices = [...]struct{ list, entry, kind string }{
	{"vpns", "vpn", "VPN"},
	{"l2-networks", "l2-network", "L2 network"},
}

// oneForwardingService is the rule on tenants: an interface is bound to
// at most one forwarding service (an L3VPN or an L2 network). A frame
// arriving on the interface can go to one of them only, and forwarders
// would each pick differently (one realizes both bindings on two vNICs,
// another lets the second overwrite the first); the service binding
// pattern's answer is one VLAN sub-interface of the port per service. It
// runs once per tenant whose bindings' interfaces changed, reading the
// tenant's bindings once.
func oneForwardingService(_ *tree.Node, chain []*tree.Node) error {
	tenant := chain[len(chain)-1]
	owner := map[string]string{} // interface -> "VPN blue"
	for _, s := range forwardingServices {
		list := child(tenant, s.list, s.entry)
		if list == nil {
			continue
		}
		var err error
		list.Entries(func(svc *tree.Node) bool {
			eachBinding(svc, func(b *tree.Node) bool {
				name := s.kind + " " + svc.Key()
				if prev, taken := owner[b.Key()]; taken {
					at := append(append(append([]*tree.Node(nil), chain...), tenant.ChildByName(s.list), list, svc), bindingList(svc)...)
					err = fail(append(at, b), "interface", "interface %s is already bound to %s; an interface carries one forwarding service: bind a VLAN sub-interface of its port to %s instead", b.Key(), prev, name)
					return false
				}
				owner[b.Key()] = name
				return true
			})
			return err == nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// child returns the list node names under n, or nil.
func child(n *tree.Node, names ...string) *tree.Node {
	for _, name := range names {
		if n == nil {
			return nil
		}
		n = n.ChildByName(name)
	}
	return n
}

// bindingList is the bindings container and binding list of a service
// entry, for error paths.
func bindingList(svc *tree.Node) []*tree.Node {
	c := svc.ChildByName("bindings")
	return []*tree.Node{c, c.ChildByName("binding")}
}
