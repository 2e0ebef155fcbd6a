package desired_test

import (
	"github.com/netready/netready/server/changeset"
	"testing"
	"time"

	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/desired"
)

// merge applies a JSON_IETF root document on top of root.
func merge(t *testing.T, root *tree.Node, doc string) *tree.Node {
	t.Helper()
	p, err := tree.DecodeRootJSON(root.Schema(), []byte(doc), true)
	if err != nil {
		t.Fatal(err)
	}
	txn := tree.Begin(root)
	if err := txn.Merge(nil, p); err != nil {
		t.Fatal(err)
	}
	return txn.Root()
}

func TestBackends(t *testing.T) {
	root := load(t, "any-to-any", `{"netready-infrastructure:backends": {"backend": [
		{"name": "vendor-b", "admin-state": "down", "timeout": 2500, "endpoint": "10.0.0.9:57400",
		 "option": [{"name": "netns-prefix", "value": "vb-"}], "reconcile-request": "7"}]}}`)
	bs := desired.Backends(root)
	a, b := bs["vendor-a"], bs["vendor-b"]
	if len(bs) != 2 || a.Driver != "linux-vforwarder" || !a.AdminUp || a.Timeout != 10*time.Second || len(a.Options) != 0 {
		t.Errorf("vendor-a: %+v", a)
	}
	if b.AdminUp || b.Timeout != 2500*time.Millisecond || b.Endpoint != "10.0.0.9:57400" ||
		b.Options["netns-prefix"] != "vb-" || b.ReconcileRequest != 7 {
		t.Errorf("vendor-b: %+v", b)
	}
}

func TestPlacements(t *testing.T) {
	root := load(t, "any-to-any", `{"netready-tenants:tenants": {"tenant": [{"name": "blue", "ports": {"port": [
		{"name": "g2-nic0", "admin-state": "down"}]}}]}}`)
	ports := map[string]desired.Placement{}
	ifaces := map[string]desired.Placement{}
	root.ChildByName("tenants").ChildByName("tenant").Entries(func(tn *tree.Node) bool {
		for _, p := range desired.Ports(tn) {
			ports[p.Tenant+"/"+p.Name] = p
		}
		for _, p := range desired.Interfaces(tn) {
			ifaces[p.Tenant+"/"+p.Name] = p
		}
		return true
	})
	if p := ports["blue/g1-nic0"]; p.Host != "host-a" || !p.Up {
		t.Errorf("g1-nic0: %+v", p)
	}
	if p := ports["blue/g2-nic0"]; p.Up {
		t.Errorf("g2-nic0 is admin down: %+v", p)
	}
	if p := ifaces["red/g6"]; p.Host != "host-b" || !p.Up {
		t.Errorf("red/g6: %+v", p)
	}
	if p := ifaces["blue/g2"]; p.Host != "host-a" || p.Up {
		t.Errorf("blue/g2 sits on a down port: %+v", p)
	}
}

func TestFilterRelevant(t *testing.T) {
	base := load(t, "any-to-any")
	f := desired.NewFilter()
	for _, c := range []struct {
		name, doc string
		want      bool
	}{
		{"tenant description", `{"netready-tenants:tenants": {"tenant": [{"name": "blue", "description": "x"}]}}`, false},
		{"port mtu", `{"netready-tenants:tenants": {"tenant": [{"name": "blue", "ports": {"port": [{"name": "g1-nic0", "mtu": 9000}]}}]}}`, false},
		{"vpn description", `{"netready-tenants:tenants": {"tenant": [{"name": "blue", "netready-l3vpn:vpns": {"vpn": [{"name": "blue", "description": "x"}]}}]}}`, false},
		{"site", `{"netready-georedundancy:sites": {"site": [{"name": "s1"}]}}`, false},
		{"port host", `{"netready-tenants:tenants": {"tenant": [{"name": "blue", "ports": {"port": [{"name": "g1-nic0", "host": "host-b"}]}}]}}`, true},
		{"new port", `{"netready-tenants:tenants": {"tenant": [{"name": "blue", "ports": {"port": [{"name": "new"}]}}]}}`, true},
		{"interface admin", `{"netready-tenants:tenants": {"tenant": [{"name": "blue", "interfaces": {"interface": [{"name": "g1", "admin-state": "down"}]}}]}}`, true},
		{"binding address", `{"netready-tenants:tenants": {"tenant": [{"name": "blue", "netready-l3vpn:vpns": {"vpn": [{"name": "blue", "bindings": {"binding": [{"interface": "g1", "ip-address": ["10.1.1.9"]}]}}]}}]}}`, true},
		{"host address", `{"netready-infrastructure:hosts": {"host": [{"name": "host-a", "address": "192.0.2.9"}]}}`, true},
		{"host description", `{"netready-infrastructure:hosts": {"host": [{"name": "host-a", "description": "x"}]}}`, false},
		{"backend timeout", `{"netready-infrastructure:backends": {"backend": [{"name": "vendor-a", "timeout": 5}]}}`, true},
		{"new tenant", `{"netready-tenants:tenants": {"tenant": [{"name": "green"}]}}`, true},
	} {
		if got := f.Relevant(changeset.Compute(base, merge(t, base, c.doc)).Walk); got != c.want {
			t.Errorf("%s: relevant %v, want %v", c.name, got, c.want)
		}
	}
	if f.Relevant(changeset.Compute(base, base).Walk) {
		t.Error("no change is relevant")
	}
}
