package desired

import (
	"strings"
	"time"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound"
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
	each(child(root, "backends"), "backend", func(b *tree.Node) {
		cfg := Backend{
			Backend: southbound.Backend{
				Name: str(b, "name"), Driver: str(b, "driver"), Endpoint: str(b, "endpoint"),
				Options: map[string]string{},
			},
			AdminUp: str(b, "admin-state") != "down",
		}
		each(b, "option", func(o *tree.Node) { cfg.Options[str(o, "name")] = str(o, "value") })
		ms, _ := leaf(b, "timeout").(uint64)
		cfg.Timeout = time.Duration(ms) * time.Millisecond
		cfg.ReconcileRequest, _ = leaf(b, "reconcile-request").(uint64)
		out[cfg.Name] = cfg
	})
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
	tenant := str(t, "name")
	each(child(t, "ports"), "port", func(p *tree.Node) {
		out = append(out, Placement{Tenant: tenant, Name: str(p, "name"), Host: str(p, "host"), Up: str(p, "admin-state") != "down"})
	})
	return out
}

// Interfaces lists the placement of every interface of tenant t, through
// its parent chain to its port (see Model).
func Interfaces(t *tree.Node) []Placement {
	var out []Placement
	tenant := str(t, "name")
	placed := portHosts(t)
	each(child(t, "interfaces"), "interface", func(i *tree.Node) {
		name := str(i, "name")
		pl := placed[name]
		out = append(out, Placement{Tenant: tenant, Name: name, Host: pl.host, Up: pl.up})
	})
	return out
}

// Filter tells whether a transaction changes anything realization reads,
// so the server can skip the route computation for every other Set (a
// description, an MTU, a georedundancy site). It is not safe for
// concurrent use.
type Filter struct {
	memo map[*schema.Node]bool
}

// NewFilter returns an empty filter.
func NewFilter() *Filter { return &Filter{memo: map[*schema.Node]bool{}} }

// Relevant reports whether a transaction changes any node realization
// reads: the backends, the hosts, and the tenants' ports, interfaces and
// VPNs (their configuration, not descriptions or state). walk replays the
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
		// A list entry counts when it comes or goes; a changed entry or
		// container is judged by its leaves.
		counts := s.Kind == schema.Leaf || s.Kind == schema.LeafList || s.Kind == schema.List && (o == nil || n == nil)
		if counts && f.reads(s) {
			found = true
			return false
		}
		return true
	})
	return found
}

func (f *Filter) reads(s *schema.Node) bool {
	r, ok := f.memo[s]
	if !ok {
		r = reads(s)
		f.memo[s] = r
	}
	return r
}

// reads is the list of what Model, Backends, Ports and Interfaces read.
func reads(s *schema.Node) bool {
	if s.Name == "description" {
		return false
	}
	p := s.Path
	under := func(prefix string) bool { return p == prefix || strings.HasPrefix(p, prefix+"/") }
	switch {
	case under("/backends/backend"), under("/tenants/tenant/vpns"):
		return true
	case p == "/hosts/host", p == "/tenants/tenant", p == "/tenants/tenant/name":
		return true
	}
	leafOf := func(entry string, names ...string) bool {
		if p == entry {
			return true
		}
		for _, n := range names {
			if p == entry+"/"+n {
				return true
			}
		}
		return false
	}
	return leafOf("/hosts/host", "name", "backend", "address") ||
		leafOf("/tenants/tenant/ports/port", "name", "host", "admin-state") ||
		leafOf("/tenants/tenant/interfaces/interface", "name", "port", "parent", "admin-state")
}
