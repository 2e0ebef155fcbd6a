package desired

import (
	"time"

	rz "github.com/netready/netready/gen/realization"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/routing"
)

// Backend is a backend entry's configuration and whether it is in use.
type Backend struct {
	southbound.Backend
	// AdminUp is admin-state == up: when false the server sends the
	// backend nothing.
	AdminUp bool
	// ReconcileRequest is the reconcile-request leaf (0 when unset): a
	// new value asks for a reconciliation.
	ReconcileRequest uint64
}

// Backends reads the backend entries of root, by name.
func Backends(root *tree.Node) map[string]Backend {
	out := map[string]Backend{}
	for b := range (rz.Root{Node: root}).Backends() {
		cfg := Backend{
			Backend: southbound.Backend{
				Name: b.Name(), Driver: b.Driver(), Endpoint: b.Endpoint(),
				Options: map[string]string{},
				Timeout: time.Duration(b.Timeout()) * time.Millisecond,
			},
			AdminUp:          b.AdminState() != rz.AdminStateDown,
			ReconcileRequest: b.ReconcileRequest(),
		}
		for o := range b.Options() {
			cfg.Options[o.Name()] = o.Value()
		}
		out[cfg.Name] = cfg
	}
	return out
}

// Placement is where a tenant's port or interface is realized.
type Placement struct {
	Tenant, Name string
	// Host is the host the object sits on, "" when not placed.
	Host string
	// Up is false when the object, or anything it sits on, is admin down.
	Up bool
}

// Ports lists the placement of every port of tenant t (a tenants/tenant
// entry).
func Ports(t *tree.Node) []Placement {
	var out []Placement
	tn := rz.Tenant{Node: t}
	tenant := tn.Name()
	for p := range tn.Ports() {
		out = append(out, Placement{Tenant: tenant, Name: p.Name(), Host: p.Host(), Up: p.AdminState() != rz.AdminStateDown})
	}
	return out
}

// Interfaces lists the placement of every interface of tenant t, through
// its parent chain to its port (see Model).
func Interfaces(t *tree.Node) []Placement {
	var out []Placement
	tn := rz.Tenant{Node: t}
	tenant := tn.Name()
	placed := portHosts(tn)
	for i := range tn.Interfaces() {
		name := i.Name()
		pl := placed[name]
		out = append(out, Placement{Tenant: tenant, Name: name, Host: pl.host, Up: pl.up})
	}
	return out
}

// Filter tells whether a transaction changes anything realization reads,
// so the server can skip the route computation for every other Set (a
// description, an MTU, a subnet, a georedundancy site). What realization
// reads is what its accessors read (realization.IsRead), so a Filter
// holds no state.
type Filter struct{}

// NewFilter returns a filter.
func NewFilter() *Filter { return &Filter{} }

// Relevant reports whether a transaction changes any node realization
// reads: a leaf or leaf-list it reads, or an entry of a list it visits
// that comes or goes (configuration, not state). walk replays the
// transaction's differences (a change set, or tree.Diff).
func (f *Filter) Relevant(walk func(tree.DiffFunc)) bool {
	found := false
	walk(func(chain []*tree.Node, o, n *tree.Node) bool {
		if found {
			return false
		}
		s := chain[len(chain)-1].Schema()
		if !s.Config {
			return false
		}
		if inContent(chain, o, n) && rz.IsRead(s.Path) {
			found = true
			return false
		}
		return true
	})
	return found
}

// Hosts reads the host entries of root.
func Hosts(root *tree.Node) []routing.Host { return readHosts(root) }
