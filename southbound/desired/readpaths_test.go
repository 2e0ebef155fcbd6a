package desired_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	rz "github.com/netready/netready/gen/realization"
	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/desired"
	netreadyyang "github.com/netready/netready/yang"
)

// everything is every scenario merged into one tree, plus what none of
// them sets: what realization reads (backend endpoints and options,
// route distinguishers, route-target directions, next-hop preferences,
// an L2 network's mtu)
// and what it does not (a subnet, descriptions).
func everything(t *testing.T) (*schema.Schema, *tree.Node) {
	t.Helper()
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "scenarios", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("scenarios: %v", err)
	}
	root := tree.NewRoot(sch)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		root = merge(t, root, string(b))
	}
	return sch, merge(t, root, `{
		"netready-infrastructure:backends": {"backend": [{"name": "vendor-a", "description": "d", "endpoint": "10.0.0.9:57400",
			"option": [{"name": "o", "value": "v"}], "reconcile-request": "1"}]},
		"netready-tenants:tenants": {"tenant": [{"name": "blue", "netready-l3vpn:vpns": {"vpn": [{"name": "blue", "route-distinguisher": ["64512:7"],
			"route-target": [{"value": "64512:9", "direction": "import"}],
			"subnet": [{"prefix": "10.9.0.0/16", "description": "d"}],
			"anycast": {"enabled": true, "mode": "fail-over"},
			"static-routes": {"route": [{"prefix": "10.8.0.0/16", "mode": "fail-over",
				"next-hop": [{"address": "10.1.1.1", "preference": 5}]}]},
			"bindings": {"binding": [{"interface": "g1", "preference": 3, "role": "hub"}]}}]}},
			{"name": "acme", "netready-l2network:l2-networks": {"l2-network": [{"name": "mgmt", "mtu": 1450}]}}]}
	}`)
}

// TestReadPathsAreTheFilter checks the declaration against the schema and
// the Filter against the declaration: every path in ReadPaths is a
// configuration leaf, leaf-list or list of the built-in modules, and for
// every configuration node of a tree holding every one of them, a change
// of that node alone is relevant exactly when its path is read (a
// description, an MTU, a subnet are not).
func TestReadPathsAreTheFilter(t *testing.T) {
	sch, root := everything(t)
	read := map[string]bool{}
	for _, p := range rz.ReadPaths() {
		s := sch.Find(p)
		if s == nil || s.Path != p || !s.Config || s.Kind == schema.Container {
			t.Errorf("ReadPaths: %s is not a configuration leaf, leaf-list or list", p)
		}
		read[p] = true
	}
	seen := map[string]bool{}
	f := desired.NewFilter()
	tree.Diff(tree.NewRoot(sch), root, func(chain []*tree.Node, _, n *tree.Node) bool {
		s := n.Schema()
		if !s.Config || s.Kind == schema.Container || seen[s.Path] {
			return true
		}
		seen[s.Path] = true
		chain = slices.Clone(chain)
		old := n // a leaf whose value changed
		if s.Kind == schema.List {
			old = nil // an entry added
		}
		one := func(fn tree.DiffFunc) { fn(chain, old, n) }
		if got := f.Relevant(one); got != read[s.Path] {
			t.Errorf("a change of %s alone: relevant %v, want %v", s.Path, got, read[s.Path])
		}
		return true
	})
	for p := range read {
		if !seen[p] {
			t.Errorf("%s is read but the test tree holds none: extend everything", p)
		}
	}
	for _, p := range []string{
		"/tenants/tenant/description", "/tenants/tenant/ports/port/mtu",
		"/tenants/tenant/vpns/vpn/subnet", "/tenants/tenant/vpns/vpn/description",
	} {
		if !seen[p] {
			t.Errorf("the test tree holds no %s", p)
		}
	}
}

// TestIndexSkipsWhatRealizationDoesNotRead: a transaction that changes
// only nodes outside ReadPaths touches nothing in the routing model, so
// the route computation redoes nothing.
func TestIndexSkipsWhatRealizationDoesNotRead(t *testing.T) {
	_, root := everything(t)
	ix, err := desired.NewIndex(root)
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{
		"subnet": `{"netready-tenants:tenants": {"tenant": [{"name": "blue", "netready-l3vpn:vpns": {"vpn": [{"name": "blue",
			"subnet": [{"prefix": "10.7.0.0/16"}]}]}}]}}`,
		"vpn description": `{"netready-tenants:tenants": {"tenant": [{"name": "blue", "netready-l3vpn:vpns": {"vpn": [{"name": "blue",
			"description": "other"}]}}]}}`,
		"port mtu":         `{"netready-tenants:tenants": {"tenant": [{"name": "blue", "ports": {"port": [{"name": "g1-nic0", "mtu": 1400}]}}]}}`,
		"host description": `{"netready-infrastructure:hosts": {"host": [{"name": "host-a", "description": "other"}]}}`,
	} {
		next := merge(t, root, doc)
		if changeset.Compute(root, next).Empty() {
			t.Fatalf("%s: the edit changes nothing", name)
		}
		touched, err := ix.Update(next)
		if err != nil {
			t.Fatal(err)
		}
		if touched.All || len(touched.VPNs) > 0 || len(touched.Bindings) > 0 {
			t.Errorf("%s: touched %+v, want nothing", name, touched)
		}
		root = next
	}
}
