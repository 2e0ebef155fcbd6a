package desired

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	rz "github.com/netready/netready/gen/realization"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/routing"
)

// Index is the routing model of a configuration tree, kept between
// transactions so that reading the next tree costs what the transaction
// changed: the tree is persistent, so Update finds the changed tenants,
// VPNs and bindings by walking only the subtrees the new root does not
// share with the one read before (tree.Diff), and re-reads only those. It
// also says what changed, in the form routing.Incremental takes.
//
// The Models it returns are never modified afterwards (a changed VPN is
// copied). It is not safe for concurrent use.
type Index struct {
	root    *tree.Node // nil until a read succeeds: the next Update reads everything
	hosts   []routing.Host
	tenants map[string]*tenantIndex
}

// tenantIndex is what the Index keeps of one tenant.
type tenantIndex struct {
	placement map[string]ifacePlacement
	vpns      map[string]*routing.VPN // by VPN name; bindings sorted by interface
	// users lists, per interface, the VPNs (names) with a binding on it:
	// whose bindings a placement change touches.
	users map[string][]string
}

// NewIndex reads root in full.
func NewIndex(root *tree.Node) (*Index, error) {
	ix := &Index{}
	if _, err := ix.Update(root); err != nil {
		return nil, err
	}
	return ix, nil
}

// Root returns the tree last read (nil before the first read succeeds).
func (ix *Index) Root() *tree.Node { return ix.root }

// Model returns the routing model of the tree last read, as Model(root)
// would (VPNs by tenant, then name).
func (ix *Index) Model() routing.Model {
	m := routing.Model{Hosts: ix.hosts}
	for _, tn := range slices.Sorted(maps.Keys(ix.tenants)) {
		t := ix.tenants[tn]
		for _, vn := range slices.Sorted(maps.Keys(t.vpns)) {
			m.VPNs = append(m.VPNs, *t.vpns[vn])
		}
	}
	return m
}

// Update reads root, re-reading only what differs from the tree read
// before, and returns what changed in the model. After an error the Index
// reads the next tree in full (and reports All).
func (ix *Index) Update(root *tree.Node) (routing.Touched, error) {
	var t routing.Touched
	if ix.root == nil {
		t.All = true
		ix.hosts, ix.tenants = readHosts(root), map[string]*tenantIndex{}
		var err error
		for tn := range (rz.Root{Node: root}).Tenants() {
			if err = ix.updateTenant(&t, tn.Name(), nil, tn.Node); err != nil {
				break
			}
		}
		return t, ix.done(root, err)
	}
	var err error
	tree.Diff(ix.root, root, func(chain []*tree.Node, o, n *tree.Node) bool {
		last := chain[len(chain)-1]
		switch p := last.Schema().Path; {
		case !last.Schema().Config || err != nil:
		case p == rz.TenantPath:
			err = ix.updateTenant(&t, last.Key(), o, n)
		case under(p, rz.HostPath):
			if !inContent(chain, o, n) {
				return true
			}
			t.All = t.All || rz.IsRead(p)
		case above(p, rz.TenantPath), above(p, rz.HostPath):
			return true
		}
		return false
	})
	if t.All {
		ix.hosts = readHosts(root)
	}
	return t, ix.done(root, err)
}

// done records root as read, or forgets the state after an error.
func (ix *Index) done(root *tree.Node, err error) error {
	if err != nil {
		ix.root = nil
		return err
	}
	ix.root = root
	return nil
}

func readHosts(root *tree.Node) []routing.Host {
	var hosts []routing.Host
	for h := range (rz.Root{Node: root}).Hosts() {
		hosts = append(hosts, readHost(h))
	}
	return hosts
}

// updateTenant moves tenant name from entry o to entry n (either nil when
// the tenant is added or removed) and records what changed in t.
func (ix *Index) updateTenant(t *routing.Touched, name string, o, n *tree.Node) error {
	old := ix.tenants[name]
	if old == nil || n == nil {
		if old != nil {
			for vn := range old.vpns {
				t.VPNs = append(t.VPNs, name+"/"+vn)
			}
			delete(ix.tenants, name)
		}
		if n == nil {
			return nil
		}
		tn := rz.Tenant{Node: n}
		ti := &tenantIndex{placement: portHosts(tn), vpns: map[string]*routing.VPN{}, users: map[string][]string{}}
		ix.tenants[name] = ti
		for v := range tn.VPNs() {
			t.VPNs = append(t.VPNs, name+"/"+v.Name())
			if err := ti.readVPN(name, v.Name(), v); err != nil {
				return err
			}
		}
		return nil
	}
	c := diffTenant(o, n)
	if c.placement {
		ix.replace(name, n, c)
	}
	return old.apply(t, name, n, c)
}

// tenantChange is what changed inside one tenant entry.
type tenantChange struct {
	placement bool                       // a port or interface was added, removed, moved or set down
	vpns      map[string]bool            // VPNs added, removed or changed beyond their bindings
	bindings  map[string]map[string]bool // VPN name → interfaces of changed bindings
}

// diffTenant finds what changed between two versions of a tenant entry.
// Only what realization reads counts (realization.ReadPaths).
func diffTenant(o, n *tree.Node) tenantChange {
	c := tenantChange{vpns: map[string]bool{}, bindings: map[string]map[string]bool{}}
	tree.Diff(o, n, func(chain []*tree.Node, ob, nb *tree.Node) bool {
		switch p := chain[len(chain)-1].Schema().Path; {
		case !chain[len(chain)-1].Schema().Config:
			return false // status the server writes
		case under(p, rz.PortPath), under(p, rz.InterfacePath):
			if inContent(chain, ob, nb) && rz.IsRead(p) {
				c.placement = true
			}
			return !c.placement
		case under(p, rz.VPNPath):
			return c.vpnChange(chain, ob, nb)
		case above(p, rz.PortPath), above(p, rz.InterfacePath), above(p, rz.VPNPath):
			return true
		}
		return false
	})
	return c
}

// under reports whether schema path p is path or below it.
func under(p, path string) bool {
	return p == path || strings.HasPrefix(p, path) && p[len(path)] == '/'
}

// above reports whether schema path p is an ancestor of path.
func above(p, path string) bool { return under(path, p) && p != path }

// keyOf returns the key of the last entry of list path in chain.
func keyOf(chain []*tree.Node, path string) string {
	for i := len(chain) - 1; i >= 0; i-- {
		if chain[i].Schema().Path == path {
			return chain[i].Key()
		}
	}
	return ""
}

// inContent reports whether a difference Diff reports is one in content: a
// leaf, or a list entry that comes or goes. A container or an entry on
// both sides is judged by what is below it (a transaction may copy one
// without changing anything in it).
func inContent(chain []*tree.Node, o, n *tree.Node) bool {
	switch chain[len(chain)-1].Schema().Kind {
	case schema.Leaf, schema.LeafList:
		return true
	case schema.List:
		return o == nil || n == nil
	}
	return false
}

// vpnChange records one difference under a tenant's VPNs and says
// whether to look further down: a binding is re-read alone when only
// what realization reads of it changed, the VPN whole otherwise.
func (c *tenantChange) vpnChange(chain []*tree.Node, o, n *tree.Node) bool {
	p := chain[len(chain)-1].Schema().Path
	vpn := keyOf(chain, rz.VPNPath)
	switch {
	case c.vpns[vpn]:
		return false
	case !inContent(chain, o, n):
		return true
	case !rz.IsRead(p):
	case under(p, rz.BindingPath):
		iface := keyOf(chain, rz.BindingPath)
		if c.bindings[vpn] == nil {
			c.bindings[vpn] = map[string]bool{}
		}
		c.bindings[vpn][iface] = true
	default:
		c.vpns[vpn] = true
	}
	return false
}

// replace recomputes the placement of tenant name's interfaces from entry
// n and adds the bindings of every interface whose placement changed to c.
func (ix *Index) replace(name string, n *tree.Node, c tenantChange) {
	ti := ix.tenants[name]
	now := portHosts(rz.Tenant{Node: n})
	for iface := range ti.placement {
		if _, ok := now[iface]; !ok {
			c.touchUsers(ti, iface)
		}
	}
	for iface, pl := range now {
		if old, ok := ti.placement[iface]; !ok || old != pl {
			c.touchUsers(ti, iface)
		}
	}
	ti.placement = now
}

// touchUsers marks the bindings on iface changed.
func (c *tenantChange) touchUsers(ti *tenantIndex, iface string) {
	for _, vpn := range ti.users[iface] {
		if c.bindings[vpn] == nil {
			c.bindings[vpn] = map[string]bool{}
		}
		c.bindings[vpn][iface] = true
	}
}

// apply re-reads what c names from tenant entry n and records it in t.
func (ti *tenantIndex) apply(t *routing.Touched, tenant string, n *tree.Node, c tenantChange) error {
	tn := rz.Tenant{Node: n}
	for _, vn := range slices.Sorted(maps.Keys(c.vpns)) {
		t.VPNs = append(t.VPNs, tenant+"/"+vn)
		ti.dropVPN(vn)
		if v, ok := tn.VPN(vn); ok {
			if err := ti.readVPN(tenant, vn, v); err != nil {
				return err
			}
		}
	}
	for _, vn := range slices.Sorted(maps.Keys(c.bindings)) {
		old := ti.vpns[vn]
		if c.vpns[vn] || old == nil {
			continue
		}
		v, _ := tn.VPN(vn)
		cp := *old
		cp.Bindings = slices.Clone(old.Bindings)
		for _, iface := range slices.Sorted(maps.Keys(c.bindings[vn])) {
			t.Bindings = append(t.Bindings, routing.BindingRef{VPN: tenant + "/" + vn, Interface: iface})
			b, _ := v.Binding(iface)
			if err := ti.rebind(&cp, vn, iface, b); err != nil {
				return err
			}
		}
		ti.vpns[vn] = &cp
	}
	return nil
}

// readVPN reads VPN name from entry v and indexes it.
func (ti *tenantIndex) readVPN(tenant, name string, v rz.VPN) error {
	vpn, err := readVPN(tenant, v, ti.placement)
	if err != nil {
		return err
	}
	for _, b := range vpn.Bindings {
		ti.users[b.Interface] = append(ti.users[b.Interface], name)
	}
	ti.vpns[name] = &vpn
	return nil
}

// dropVPN forgets VPN name.
func (ti *tenantIndex) dropVPN(name string) {
	v := ti.vpns[name]
	if v == nil {
		return
	}
	for _, b := range v.Bindings {
		ti.unuse(b.Interface, name)
	}
	delete(ti.vpns, name)
}

func (ti *tenantIndex) unuse(iface, vpn string) {
	us := slices.DeleteFunc(ti.users[iface], func(u string) bool { return u == vpn })
	if len(us) == 0 {
		delete(ti.users, iface)
	} else {
		ti.users[iface] = us
	}
}

// rebind replaces, in vpn (named name), the binding on iface with entry b
// (b.Node nil when there is none now), keeping the bindings sorted.
func (ti *tenantIndex) rebind(vpn *routing.VPN, name, iface string, b rz.Binding) error {
	i, had := slices.BinarySearchFunc(vpn.Bindings, iface, byInterface)
	if had {
		ti.unuse(iface, name)
		if vpn.Bindings = slices.Delete(vpn.Bindings, i, i+1); len(vpn.Bindings) == 0 {
			vpn.Bindings = nil // as readVPN leaves it
		}
	}
	if b.Node == nil {
		return nil
	}
	bd, err := readBinding(b, ti.placement)
	if err != nil {
		return fmt.Errorf("vpn %s/%s: %w", vpn.Tenant, name, err)
	}
	vpn.Bindings = slices.Insert(vpn.Bindings, i, bd)
	ti.users[iface] = append(ti.users[iface], name)
	return nil
}

func byInterface(b routing.Binding, iface string) int { return cmp.Compare(b.Interface, iface) }
