// Package desired reads the desired network out of a committed
// configuration tree: the input of the route computation
// (southbound/routing), which knows nothing of YANG or the tree. It is the
// one place that knows which leaves of the NetReady models matter to
// realization: it reads them through the typed accessors generated from
// its declaration (gen/realization), so a renamed or misspelt leaf does
// not compile, and Filter and Index judge a transaction by the paths the
// same declaration lists (realization.ReadPaths).
package desired

import (
	"fmt"
	"net/netip"

	rz "github.com/netready/netready/gen/realization"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/routing"
)

// Model builds the routing model of root.
func Model(root *tree.Node) (routing.Model, error) {
	var m routing.Model
	m.Hosts = readHosts(root)
	var err error
	for t := range (rz.Root{Node: root}).Tenants() {
		placement := portHosts(t)
		for v := range t.VPNs() {
			vpn, verr := readVPN(t.Name(), v, placement)
			if verr != nil && err == nil {
				err = verr
			}
			m.VPNs = append(m.VPNs, vpn)
		}
	}
	return m, err
}

func readHost(h rz.Host) routing.Host {
	addr, _ := netip.ParseAddr(h.Address()) // zero when absent; the type guarantees the form
	return routing.Host{Name: h.Name(), Backend: h.Backend(), Addr: addr}
}

// ifacePlacement says, per interface of a tenant, on which host its port
// is, whether the interface and everything under it is up, and how its
// frames are told apart on the port (its attachment).
type ifacePlacement struct {
	host string
	up   bool
	attachment
}

// attachment is how an interface reaches its port: the port (vNIC) at the
// root of its hierarchy, the interface's type, the 802.1Q id selecting it
// and, when no driver can realize a binding of it, why.
type attachment struct {
	vnic string
	kind rz.InterfaceType
	vlan uint16
	// noDriver says why no driver realizes a binding of the interface
	// (a VXLAN or MPLS sub-interface, a bound trunk, more than one tag);
	// "" when a driver with the right capabilities can.
	noDriver string
}

// portHosts places every interface of tenant t: an interface sits on its
// port, or on its parent's port; it is up when it, its parents and the
// port are admin up.
func portHosts(t rz.Tenant) map[string]ifacePlacement {
	ports := map[string]ifacePlacement{}
	for p := range t.Ports() {
		ports[p.Name()] = ifacePlacement{host: p.Host(), up: p.AdminState() != rz.AdminStateDown}
	}
	ifaces := map[string]rz.Interface{}
	for i := range t.Interfaces() {
		ifaces[i.Name()] = i
	}
	iface := func(n string) rz.Interface { return ifaces[n] }
	port := func(n string) ifacePlacement { return ports[n] }
	out := map[string]ifacePlacement{}
	for name, i := range ifaces {
		if pl, ok := place(i, iface, port); ok {
			out[name] = pl
		}
	}
	return out
}

// placeOne places one interface of tenant t (false: no such interface, or
// not on a port), looking up only its hierarchy.
func placeOne(t rz.Tenant, name string) (ifacePlacement, bool) {
	i, ok := t.Interface(name)
	if !ok {
		return ifacePlacement{}, false
	}
	return place(i,
		func(n string) rz.Interface { p, _ := t.Interface(n); return p },
		func(n string) ifacePlacement {
			p, _ := t.Port(n)
			return ifacePlacement{host: p.Host(), up: p.Node != nil && p.AdminState() != rz.AdminStateDown}
		})
}

// maxHops bounds the walk up an interface hierarchy (validation refuses
// cycles; this only keeps a walk finite whatever the tree holds).
const maxHops = 4096

// place walks from interface i up its parents to its port: it sits on
// that port's host, is up when it, its parents and the port are, and
// carries the attachment of i.
func place(i rz.Interface, iface func(string) rz.Interface, port func(string) ifacePlacement) (ifacePlacement, bool) {
	up, tags := true, 0
	for cur, hops := i, 0; cur.Node != nil && hops <= maxHops; hops++ {
		up = up && cur.AdminState() != rz.AdminStateDown
		if k := cur.Type(); k != rz.InterfaceTypeUntagged && k != rz.InterfaceTypeTrunk {
			tags++
		}
		if name := cur.Port(); name != "" {
			p := port(name)
			return ifacePlacement{host: p.host, up: up && p.up, attachment: attach(i, name, tags)}, true
		}
		cur = iface(cur.Parent())
	}
	return ifacePlacement{}, false
}

// attach is the attachment of interface i on port, under tags tagged
// interfaces (i included).
func attach(i rz.Interface, port string, tags int) attachment {
	a := attachment{vnic: port, kind: i.Type()}
	switch {
	case a.kind == rz.InterfaceTypeVxlan || a.kind == rz.InterfaceTypeMpls:
		a.noDriver = fmt.Sprintf("interface %s is a %s sub-interface: no driver realizes %s sub-interfaces yet", i.Name(), a.kind, a.kind)
	case a.kind == rz.InterfaceTypeTrunk:
		a.noDriver = fmt.Sprintf("interface %s is a trunk: no driver realizes a bound trunk yet; bind its vlan sub-interfaces, or an untagged interface", i.Name())
	case tags > 1:
		a.noDriver = fmt.Sprintf("interface %s sits under %d tags (QinQ): no driver realizes more than one tag yet", i.Name(), tags)
	case a.kind == rz.InterfaceTypeVlan:
		a.vlan = uint16(i.SegmentationID()) // 1..4094, enforced by validation
	}
	return a
}

func readVPN(tenant string, v rz.VPN, placement map[string]ifacePlacement) (routing.VPN, error) {
	vpn := routing.VPN{Tenant: tenant, Name: v.Name(), RDs: v.RouteDistinguisher()}
	if v.VRFPolicy() == rz.VPNVRFPolicyHubAndSpoke {
		vpn.Policy = routing.HubAndSpoke
	}
	for rt := range v.RouteTargets() {
		val, dir := rt.Value(), rt.Direction()
		if dir != rz.RouteTargetDirectionExport {
			vpn.ImportRTs = append(vpn.ImportRTs, val)
		}
		if dir != rz.RouteTargetDirectionImport {
			vpn.ExportRTs = append(vpn.ExportRTs, val)
		}
	}
	if hs, ok := v.HubAndSpoke(); ok {
		vpn.HubRT, vpn.SpokeRT = hs.HubRouteTarget(), hs.SpokeRouteTarget()
	}
	if ac, ok := v.Anycast(); ok {
		vpn.Anycast, vpn.AnycastMode = ac.Enabled(), mode(ac.Mode())
	}
	var err error
	for r := range v.Routes() {
		sr, rerr := readRoute(r)
		if rerr != nil && err == nil {
			err = fmt.Errorf("vpn %s/%s: %w", tenant, vpn.Name, rerr)
		}
		vpn.StaticRoutes = append(vpn.StaticRoutes, sr)
	}
	for b := range v.Bindings() {
		bd, berr := readBinding(b, placement)
		if berr != nil && err == nil {
			err = fmt.Errorf("vpn %s/%s: %w", tenant, vpn.Name, berr)
		}
		vpn.Bindings = append(vpn.Bindings, bd)
	}
	return vpn, err
}

func readRoute(r rz.Route) (routing.StaticRoute, error) {
	p, err := netip.ParsePrefix(r.Prefix())
	sr := routing.StaticRoute{Prefix: p, Mode: mode(r.Mode())}
	for h := range r.NextHops() {
		a, aerr := netip.ParseAddr(h.Address())
		if aerr != nil && err == nil {
			err = aerr
		}
		sr.NextHops = append(sr.NextHops, routing.NextHop{Addr: a, Preference: uint32(h.Preference())})
	}
	return sr, err
}

func readBinding(b rz.Binding, placement map[string]ifacePlacement) (routing.Binding, error) {
	iface := b.Interface()
	pl := placement[iface]
	bd := routing.Binding{
		Interface: iface, Host: pl.host, Preference: uint32(b.Preference()),
		AdminUp: pl.up && b.AdminState() != rz.AdminStateDown,
		VNIC:    pl.vnic, VLAN: pl.vlan,
	}
	switch b.Role() {
	case rz.BindingRoleHub:
		bd.Role = routing.RoleHub
	case rz.BindingRoleSpoke:
		bd.Role = routing.RoleSpoke
	}
	for _, s := range b.IPAddress() {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return bd, fmt.Errorf("binding %s: %w", iface, err)
		}
		bd.Addrs = append(bd.Addrs, a)
	}
	return bd, nil
}

func mode(m rz.MultipathMode) routing.Mode {
	if m == rz.MultipathModeFailOver {
		return routing.FailOver
	}
	return routing.LoadBalance
}
