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

// binding is one binding of a forwarding service, as found in a tenant.
type binding struct {
	service string       // "VPN blue"
	chain   []*tree.Node // from the root to the binding entry
	before  bool         // the committed tree holds it too
}

// oneForwardingService is the rule on tenants: an interface is bound to
// at most one forwarding service (an L3VPN or an L2 network). A frame
// arriving on the interface can go to one of them only, and forwarders
// would each pick differently (one realizes both bindings on two vNICs,
// another lets the second overwrite the first); the service binding
// pattern's answer is one VLAN sub-interface of the port per service. It
// is a Guard, run once per tenant whose bindings' interfaces changed, so
// that the refusal names the binding the transaction adds, not the one
// already committed.
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
	eachServiceBinding(is, func(b binding, iface string) bool {
		b.before = hasBinding(committed, b.chain)
		prev, taken := owner[iface]
		if !taken {
			owner[iface] = b
			return true
		}
		at, other := b, prev
		if b.before && !prev.before {
			at, other = prev, b
		}
		err = fail(at.chain, "interface", "interface %s is already bound to %s; an interface carries one forwarding service: bind a VLAN sub-interface of its port to %s instead", iface, other.service, at.service)
		return false
	})
	return err
}

// eachServiceBinding calls fn with every binding of the tenant at the end
// of chain and its interface, until fn returns false.
func eachServiceBinding(chain []*tree.Node, fn func(binding, string) bool) {
	tenant := chain[len(chain)-1]
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
			at := append(append([]*tree.Node(nil), chain...), c, list, svc, bc, bc.ChildByName("binding"))
			eachBinding(svc, func(b *tree.Node) bool {
				more = fn(binding{service: s.kind + " " + svc.Key(), chain: append(at[:len(at):len(at)], b)}, b.Key())
				return more
			})
			return more
		})
		if !more {
			return
		}
	}
}

// hasBinding reports whether the tenant entry committed holds the binding
// at the end of chain (same service, same interface).
func hasBinding(committed *tree.Node, chain []*tree.Node) bool {
	n := committed
	// The six steps below the tenant: services, service list, service,
	// bindings, binding list, binding.
	for _, step := range chain[len(chain)-6:] {
		if n == nil {
			return false
		}
		if step.Key() != "" {
			n = n.Entry(step.Key())
		} else {
			n = n.ChildByName(step.Schema().Name)
		}
	}
	return n != nil
}
