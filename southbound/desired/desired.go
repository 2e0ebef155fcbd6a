// Package desired reads the desired network out of a committed
// configuration tree: the input of the route computation
// (southbound/routing), which knows nothing of YANG or the tree. It is the
// one place that knows which leaves of the NetReady models matter to
// realization.
package desired

import (
	"fmt"
	"net/netip"

	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/routing"
)

// Model builds the routing model of root.
func Model(root *tree.Node) (routing.Model, error) {
	var m routing.Model
	m.Hosts = readHosts(root)
	var err error
	each(child(root, "tenants"), "tenant", func(t *tree.Node) {
		placement := portHosts(t)
		each(child(t, "vpns"), "vpn", func(v *tree.Node) {
			vpn, verr := readVPN(str(t, "name"), v, placement)
			if verr != nil && err == nil {
				err = verr
			}
			m.VPNs = append(m.VPNs, vpn)
		})
	})
	return m, err
}

func readHost(h *tree.Node) routing.Host {
	addr, _ := netip.ParseAddr(str(h, "address")) // zero when absent; the type guarantees the form
	return routing.Host{Name: str(h, "name"), Backend: str(h, "backend"), Addr: addr}
}

// ifacePlacement says, per interface of a tenant, on which host its port
// is and whether the interface and everything under it is up.
type ifacePlacement struct {
	host string
	up   bool
}

// portHosts places every interface of tenant t: an interface sits on its
// port, or on its parent's port; it is up when it, its parents and the
// port are admin up.
func portHosts(t *tree.Node) map[string]ifacePlacement {
	ports := map[string]ifacePlacement{}
	each(child(t, "ports"), "port", func(p *tree.Node) {
		ports[str(p, "name")] = ifacePlacement{host: str(p, "host"), up: str(p, "admin-state") != "down"}
	})
	ifaces := map[string]*tree.Node{}
	each(child(t, "interfaces"), "interface", func(i *tree.Node) { ifaces[str(i, "name")] = i })
	out := map[string]ifacePlacement{}
	for name := range ifaces {
		up := true
		cur := ifaces[name]
		for hops := 0; cur != nil && hops <= len(ifaces); hops++ { // bounded: cycles are refused by validation anyway
			up = up && str(cur, "admin-state") != "down"
			if port := str(cur, "port"); port != "" {
				p := ports[port]
				out[name] = ifacePlacement{host: p.host, up: up && p.up}
				break
			}
			cur = ifaces[str(cur, "parent")]
		}
	}
	return out
}

func readVPN(tenant string, v *tree.Node, placement map[string]ifacePlacement) (routing.VPN, error) {
	vpn := routing.VPN{Tenant: tenant, Name: str(v, "name"), RDs: strs(v, "route-distinguisher")}
	if str(v, "vrf-policy") == "hub-and-spoke" {
		vpn.Policy = routing.HubAndSpoke
	}
	each(v, "route-target", func(rt *tree.Node) {
		val, dir := str(rt, "value"), str(rt, "direction")
		if dir != "export" {
			vpn.ImportRTs = append(vpn.ImportRTs, val)
		}
		if dir != "import" {
			vpn.ExportRTs = append(vpn.ExportRTs, val)
		}
	})
	if hs := child(v, "hub-and-spoke"); hs != nil {
		vpn.HubRT, vpn.SpokeRT = str(hs, "hub-route-target"), str(hs, "spoke-route-target")
	}
	if ac := child(v, "anycast"); ac != nil {
		vpn.Anycast, _ = leaf(ac, "enabled").(bool)
		vpn.AnycastMode = mode(str(ac, "mode"))
	}
	var err error
	each(child(v, "static-routes"), "route", func(r *tree.Node) {
		sr, rerr := readRoute(r)
		if rerr != nil && err == nil {
			err = fmt.Errorf("vpn %s/%s: %w", tenant, vpn.Name, rerr)
		}
		vpn.StaticRoutes = append(vpn.StaticRoutes, sr)
	})
	each(child(v, "bindings"), "binding", func(b *tree.Node) {
		bd, berr := readBinding(b, placement)
		if berr != nil && err == nil {
			err = fmt.Errorf("vpn %s/%s: %w", tenant, vpn.Name, berr)
		}
		vpn.Bindings = append(vpn.Bindings, bd)
	})
	return vpn, err
}

func readRoute(r *tree.Node) (routing.StaticRoute, error) {
	p, err := netip.ParsePrefix(str(r, "prefix"))
	sr := routing.StaticRoute{Prefix: p, Mode: mode(str(r, "mode"))}
	each(r, "next-hop", func(h *tree.Node) {
		a, aerr := netip.ParseAddr(str(h, "address"))
		if aerr != nil && err == nil {
			err = aerr
		}
		pref, _ := leaf(h, "preference").(uint64)
		sr.NextHops = append(sr.NextHops, routing.NextHop{Addr: a, Preference: uint32(pref)})
	})
	return sr, err
}

func readBinding(b *tree.Node, placement map[string]ifacePlacement) (routing.Binding, error) {
	iface := str(b, "interface")
	pl := placement[iface]
	pref, _ := leaf(b, "preference").(uint64)
	bd := routing.Binding{
		Interface: iface, Host: pl.host, Preference: uint32(pref),
		AdminUp: pl.up && str(b, "admin-state") != "down",
	}
	switch str(b, "role") {
	case "hub":
		bd.Role = routing.RoleHub
	case "spoke":
		bd.Role = routing.RoleSpoke
	}
	for _, s := range strs(b, "ip-address") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return bd, fmt.Errorf("binding %s: %w", iface, err)
		}
		bd.Addrs = append(bd.Addrs, a)
	}
	return bd, nil
}

func mode(s string) routing.Mode {
	if s == "fail-over" {
		return routing.FailOver
	}
	return routing.LoadBalance
}

// child returns the named child of n, or nil (also for a nil n).
func child(n *tree.Node, name string) *tree.Node {
	if n == nil {
		return nil
	}
	return n.ChildByName(name)
}

// each calls fn for every entry of the list called name under n.
func each(n *tree.Node, list string, fn func(*tree.Node)) {
	if l := child(n, list); l != nil {
		l.Entries(func(e *tree.Node) bool { fn(e); return true })
	}
}

func leaf(n *tree.Node, name string) any {
	if c := child(n, name); c != nil {
		return c.Value()
	}
	return nil
}

func str(n *tree.Node, name string) string {
	s, _ := leaf(n, name).(string)
	return s
}

func strs(n *tree.Node, name string) []string {
	c := child(n, name)
	if c == nil {
		return nil
	}
	out := make([]string, 0, len(c.Values()))
	for _, v := range c.Values() {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
