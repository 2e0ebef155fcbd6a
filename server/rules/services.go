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

// binding is one binding of a forwarding service, as found in a tenant:
// the nodes from the tenant's service container down to the binding
// entry, so that its path is built only for a refusal.
type binding struct {
	service string // "VPN blue"
	nodes   [6]*tree.Node
}

// chain is the binding's chain from the root, under tenant's chain.
func (b binding) chain(tenant []*tree.Node) []*tree.Node {
	return append(append([]*tree.Node(nil), tenant...), b.nodes[:]...)
}

// in reports whether the tenant entry committed holds the binding (same
// service, same interface).
func (b binding) in(committed *tree.Node) bool {
	return walkLike(committed, b.nodes[:]) != nil
}

// walkLike follows, from n, the steps that nodes (a chain of another
// tree) took: the same entries by key, the same children by name; nil
// when n has no such node.
func walkLike(n *tree.Node, nodes []*tree.Node) *tree.Node {
	for _, step := range nodes {
		if n == nil {
			return nil
		}
		if step.Key() != "" {
			n = n.Entry(step.Key())
		} else {
			n = n.ChildByName(step.Schema().Name)
		}
	}
	return n
}

// oneForwardingService is the rule on tenants: an interface is bound to
// at most one forwarding service (an L3VPN or an L2 network). A frame
// arriving on the interface can go to one of them only, and forwarders
// would each pick differently (one realizes both bindings on two vNICs,
// another lets the second overwrite the first); the service binding
// pattern's answer is one VLAN sub-interface of the port per service. It
// is a Guard, run once per tenant whose bindings' interfaces changed, so
// that the refusal names the binding the transaction adds, not the one
// already committed. Cost: one pass over the tenant's bindings, a map
// entry each.
func oneForwardingService(_, _ *tree.Node, was, is []*tree.Node) error {
	if is == nil {
		return nil
	}
	var committed *tree.Node
	if was != nil {
		committed = was[len(was)-1]
	}
	owner := map[string]binding{} // by interface
	var err error
	eachServiceBinding(is[len(is)-1], func(b binding) bool {
		iface := b.nodes[5].Key()
		prev, taken := owner[iface]
		if !taken {
			owner[iface] = b
			return true
		}
		at, other := b, prev
		if b.in(committed) && !prev.in(committed) {
			at, other = prev, b
		}
		err = fail(at.chain(is), "interface", "interface %s is already bound to %s; an interface carries one forwarding service: bind a VLAN sub-interface of its port to %s instead", iface, other.service, at.service)
		return false
	})
	return err
}

// eachServiceBinding calls fn with every binding of tenant until fn
// returns false.
func eachServiceBinding(tenant *tree.Node, fn func(binding) bool) {
	for _, s := range forwardingServices {
		c := tenant.ChildByName(s.list)
		if c == nil {
			continue
		}
		list := c.ChildByName(s.entry)
		if list == nil {
			continue
		}
		more := true
		list.Entries(func(svc *tree.Node) bool {
			bc := svc.ChildByName("bindings")
			if bc == nil {
				return true
			}
			bl := bc.ChildByName("binding")
			name := s.kind + " " + svc.Key()
			eachBinding(svc, func(b *tree.Node) bool {
				more = fn(binding{service: name, nodes: [6]*tree.Node{c, list, svc, bc, bl, b}})
				return more
			})
			return more
		})
		if !more {
			return
		}
	}
}
