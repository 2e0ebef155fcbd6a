package authz

import (
	"strings"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/ygot/ygot"
)

// elems parses a data path ("/a/b[k=v]"); "/" is the root.
func elems(t testing.TB, s string) []*gpb.PathElem {
	t.Helper()
	if s == "/" {
		return nil
	}
	p, err := ygot.StringToStructuredPath(s)
	if err != nil {
		t.Fatalf("path %q: %v", s, err)
	}
	return p.GetElem()
}

// decisions renders the decisions for read, write and subscribe as three
// letters: P permit, D deny, ~ partial.
func decisions(p *Policy, s *Subject, path []*gpb.PathElem) string {
	var b strings.Builder
	for _, op := range []Op{Read, Write, Subscribe} {
		b.WriteByte("DP~"[p.Decide(s, op, path)])
	}
	return b.String()
}

var (
	admin        = &Subject{User: "root", Roles: []string{"admin"}}
	netAdmin     = &Subject{User: "noc", Roles: []string{"network-admin"}}
	tenantAdmin  = &Subject{User: "bob", Roles: []string{"tenant-admin"}, Tenants: []string{"blue", "acme"}}
	viewer       = &Subject{User: "eve", Roles: []string{"viewer"}}
	noTenants    = &Subject{User: "tom", Roles: []string{"tenant-admin"}}
	unknownRole  = &Subject{User: "x", Roles: []string{"no-such-role"}, Tenants: []string{"blue"}}
	viewerTenant = &Subject{User: "vt", Roles: []string{"viewer", "tenant-admin"}, Tenants: []string{"blue"}}
)

const (
	deepOwn       = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/static-routes/route[prefix=0.0.0.0/0]/next-hop[address=10.1.1.5]"
	ownL2         = "/tenants/tenant[name=blue]/l2-networks/l2-network[name=mgmt]"
	ownProvider   = ownL2 + "/provider"
	otherProvider = "/tenants/tenant[name=red]/l2-networks/l2-network[name=mgmt]/provider"
)

// TestDecideDefault checks every built-in role on every class of path,
// for read, write and subscribe (in that order: P permit, D deny, ~
// partial).
func TestDecideDefault(t *testing.T) {
	p := DefaultPolicy()
	subjects := []struct {
		name string
		s    *Subject
	}{{"admin", admin}, {"network-admin", netAdmin}, {"tenant-admin", tenantAdmin}, {"viewer", viewer}}
	for _, tc := range []struct {
		class, path string
		want        [4]string // admin, network-admin, tenant-admin, viewer
	}{
		{"root", "/", [4]string{"PPP", "~~~", "~~~", "~D~"}},
		{"all tenants", "/tenants", [4]string{"PPP", "DDD", "~~~", "PDP"}},
		{"every tenant entry", "/tenants/tenant", [4]string{"PPP", "DDD", "~~~", "PDP"}},
		{"every tenant entry (* key)", "/tenants/tenant[name=*]/ports", [4]string{"PPP", "DDD", "~~~", "PDP"}},
		{"own tenant", "/tenants/tenant[name=blue]", [4]string{"PPP", "DDD", "PPP", "PDP"}},
		{"own tenant, second one", "/tenants/tenant[name=acme]/ports/port[name=p1]", [4]string{"PPP", "DDD", "PPP", "PDP"}},
		{"own tenant, deep", deepOwn, [4]string{"PPP", "DDD", "PPP", "PDP"}},
		{"own tenant, leaf", "/tenants/tenant[name=blue]/interfaces/interface[name=g1]/segmentation-id", [4]string{"PPP", "DDD", "PPP", "PDP"}},
		{"own tenant, status", "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/bindings/binding[interface=g1]/status/sync-state", [4]string{"PPP", "DDD", "PPP", "PDP"}},
		{"other tenant", "/tenants/tenant[name=red]", [4]string{"PPP", "DDD", "DDD", "PDP"}},
		{"other tenant, leaf", "/tenants/tenant[name=red]/ports/port[name=p1]/mtu", [4]string{"PPP", "DDD", "DDD", "PDP"}},
		{"tenant name is a prefix of an own one", "/tenants/tenant[name=blu]", [4]string{"PPP", "DDD", "DDD", "PDP"}},
		{"backends", "/backends", [4]string{"PPP", "PPP", "DDD", "PDP"}},
		{"backend leaf", "/backends/backend[name=vendor-a]/timeout", [4]string{"PPP", "PPP", "DDD", "PDP"}},
		{"backend status", "/backends/backend[name=vendor-a]/status/backend[name=vendor-a]/sync-state", [4]string{"PPP", "PPP", "DDD", "PDP"}},
		{"host site", "/hosts/host[name=host-a]/site", [4]string{"PPP", "PPP", "DDD", "PDP"}},
		{"sites", "/sites/site[name=dc-b]", [4]string{"PPP", "PPP", "DDD", "PDP"}},
		{"connection", "/connections/connection[name=dc-b-to-dc-d]/remote/address", [4]string{"PPP", "PPP", "DDD", "PDP"}},
		{"system", "/system", [4]string{"PPP", "PDP", "DDD", "PDP"}},
		{"system state", "/system/state/uptime", [4]string{"PPP", "PDP", "DDD", "PDP"}},
		{"access", "/access", [4]string{"PPP", "DDD", "DDD", "DDD"}},
		{"access role", "/access/role[name=admin]/rule[sequence=10]/path", [4]string{"PPP", "DDD", "DDD", "DDD"}},
		{"access users", "/access/user[name=bob]/tenant", [4]string{"PPP", "DDD", "DDD", "DDD"}},
		{"audit", "/audit", [4]string{"PPP", "DDD", "DDD", "DDD"}},
		{"audit entry", "/audit/entry[id=7]/user", [4]string{"PPP", "DDD", "DDD", "DDD"}},
		{"unknown top-level", "/something-new", [4]string{"PPP", "DDD", "DDD", "DDD"}},
		{"own L2 network", ownL2, [4]string{"PPP", "DDD", "PPP", "PDP"}},
		{"own provider", ownProvider, [4]string{"PPP", "DDD", "PPP", "PDP"}},
		{"own provider leaf", ownProvider + "/segmentation-id", [4]string{"PPP", "DDD", "PPP", "PDP"}},
		{"other provider", otherProvider, [4]string{"PPP", "DDD", "DDD", "PDP"}},
		{"other provider leaf", otherProvider + "/network-type", [4]string{"PPP", "DDD", "DDD", "PDP"}},
		{"qualified names", "/netready-tenants:tenants/tenant[name=blue]/netready-l2network:l2-networks", [4]string{"PPP", "DDD", "PPP", "PDP"}},
	} {
		for i, sub := range subjects {
			if got := decisions(p, sub.s, elems(t, tc.path)); got != tc.want[i] {
				t.Errorf("%s %s (%s): read/write/subscribe = %s, want %s", sub.name, tc.path, tc.class, got, tc.want[i])
			}
		}
	}
}

func TestDecideEdgeSubjects(t *testing.T) {
	p := DefaultPolicy()
	for _, tc := range []struct {
		name string
		s    *Subject
		path string
		want string
	}{
		{"tenant-admin without tenants: root", noTenants, "/", "DDD"},
		{"tenant-admin without tenants: /tenants", noTenants, "/tenants", "DDD"},
		{"tenant-admin without tenants: a tenant", noTenants, "/tenants/tenant[name=blue]", "DDD"},
		{"unknown role", unknownRole, "/tenants/tenant[name=blue]", "DDD"},
		{"unknown role: root", unknownRole, "/", "DDD"},
		{"no roles", &Subject{User: "x", Tenants: []string{"blue"}}, "/", "DDD"},
		{"viewer + tenant-admin: own tenant", viewerTenant, "/tenants/tenant[name=blue]", "PPP"},
		{"viewer + tenant-admin: other tenant", viewerTenant, "/tenants/tenant[name=red]", "PDP"},
		{"viewer + tenant-admin: /tenants", viewerTenant, "/tenants", "P~P"},
		{"viewer + tenant-admin: access", viewerTenant, "/access", "DDD"},
		{"admin + viewer: access", &Subject{Roles: []string{"viewer", "admin"}}, "/access", "PPP"},
		{"duplicate roles", &Subject{Roles: []string{"viewer", "viewer"}}, "/hosts", "PDP"},
	} {
		if got := decisions(p, tc.s, elems(t, tc.path)); got != tc.want {
			t.Errorf("%s: %s = %s, want %s", tc.name, tc.path, got, tc.want)
		}
	}
	if got := p.Decide(nil, Read, nil); got != Deny {
		t.Errorf("nil subject: %v", got)
	}
	if got := p.Decide(admin, Op(7), nil); got != Deny {
		t.Errorf("unknown op: %v", got)
	}
	var np *Policy
	if got := np.Decide(admin, Read, nil); got != Deny {
		t.Errorf("nil policy: %v", got)
	}
}

// policy builds a policy from the JSON of its access member.
func policy(t testing.TB, access string) *Policy {
	t.Helper()
	p, err := ParsePolicy([]byte(`{"netready-access:access": ` + access + `}`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDecideDenyOverrides(t *testing.T) {
	p := policy(t, `{
	  "role": [
	    {"name": "ops", "rule": [
	      {"sequence": 30, "path": "/", "operation": ["read", "write", "subscribe"], "action": "permit"},
	      {"sequence": 10, "path": "/tenants/tenant[name=secret]", "operation": ["read", "write", "subscribe"], "action": "deny"},
	      {"sequence": 20, "path": "/tenants/tenant/l2-networks", "operation": ["write"], "action": "deny"}
	    ]},
	    {"name": "narrow", "rule": [
	      {"sequence": 10, "path": "/tenants", "operation": ["read"], "action": "deny"},
	      {"sequence": 20, "path": "/tenants/tenant[name=blue]", "operation": ["read"], "action": "permit"},
	      {"sequence": 30, "path": "/hosts", "operation": ["read"], "action": "permit"}
	    ]},
	    {"name": "no-hosts", "rule": [
	      {"sequence": 10, "path": "/hosts", "operation": ["read", "write", "subscribe"], "action": "deny"}
	    ]},
	    {"name": "status-hidden", "rule": [
	      {"sequence": 10, "path": "/", "operation": ["read"], "action": "permit"},
	      {"sequence": 20, "path": "/.../status", "operation": ["read"], "action": "deny"}
	    ]},
	    {"name": "admin", "rule": [
	      {"sequence": 10, "path": "/", "operation": ["read", "write", "subscribe"], "action": "permit"}
	    ]}
	  ]
	}`)
	ops := &Subject{Roles: []string{"ops"}}
	narrow := &Subject{Roles: []string{"narrow"}}
	adminNoHosts := &Subject{Roles: []string{"admin", "no-hosts"}}
	status := &Subject{Roles: []string{"status-hidden"}}
	for _, tc := range []struct {
		s          *Subject
		path, want string
	}{
		// A deny inside a permitted subtree.
		{ops, "/", "~~~"},
		{ops, "/tenants", "~~~"},
		{ops, "/tenants/tenant[name=secret]", "DDD"},
		{ops, "/tenants/tenant[name=secret]/ports/port[name=p]/mtu", "DDD"},
		{ops, "/tenants/tenant[name=blue]", "P~P"},
		{ops, "/tenants/tenant[name=blue]/ports", "PPP"},
		{ops, "/tenants/tenant[name=blue]/l2-networks/l2-network[name=x]", "PDP"},
		{ops, "/backends", "PPP"},
		// A deny covering a more specific permit wins (order does not
		// matter).
		{narrow, "/tenants/tenant[name=blue]", "DDD"},
		{narrow, "/tenants", "DDD"},
		{narrow, "/hosts/host[name=h]", "PDD"},
		{narrow, "/", "~DD"},
		// A deny of one role overrides the permits of another.
		{adminNoHosts, "/hosts/host[name=h]/site", "DDD"},
		{adminNoHosts, "/", "~~~"},
		{adminNoHosts, "/tenants", "PPP"},
		// '...': deny every status container, at any depth.
		{status, "/tenants/tenant[name=blue]/ports/port[name=p]/status/oper-status", "DDD"},
		{status, "/backends/backend[name=b]/status", "DDD"},
		{status, "/tenants/tenant[name=blue]/ports/port[name=p]", "~DD"},
		// Without the schema, a node below any path might be a status
		// container: Partial, which at a leaf means deny.
		{status, "/tenants/tenant[name=blue]/ports/port[name=p]/mtu", "~DD"},
	} {
		if got := decisions(p, tc.s, elems(t, tc.path)); got != tc.want {
			t.Errorf("%v %s = %s, want %s", tc.s.Roles, tc.path, got, tc.want)
		}
	}
}

func TestDecidePatterns(t *testing.T) {
	p := policy(t, `{
	  "role": [
	    {"name": "wild", "rule": [
	      {"sequence": 10, "path": "/*/host[name=host-a]", "operation": ["read"], "action": "permit"},
	      {"sequence": 20, "path": "/tenants/tenant/ports", "operation": ["read"], "action": "permit"},
	      {"sequence": 30, "path": "/tenants/tenant[name=*]/interfaces/interface[name=g1]", "operation": ["read"], "action": "permit"},
	      {"sequence": 40, "path": "/netready-infrastructure:backends/backend[netready-infrastructure:name=b1]", "operation": ["read"], "action": "permit"}
	    ]},
	    {"name": "rest", "rule": [
	      {"sequence": 10, "path": "/.../sync-state", "operation": ["subscribe"], "action": "permit"},
	      {"sequence": 20, "path": "/sites/...", "operation": ["subscribe"], "action": "permit"},
	      {"sequence": 30, "path": "/tenants/tenant[name={tenant}]/vpns/.../bindings/*[interface=g1]", "operation": ["write"], "action": "permit"}
	    ]}
	  ]
	}`)
	wild := &Subject{Roles: []string{"wild"}, Tenants: []string{"blue"}}
	rest := &Subject{Roles: []string{"rest"}, Tenants: []string{"blue"}}
	for _, tc := range []struct {
		s          *Subject
		path, want string
	}{
		// '*' names, keyless list elements, '*' keys, qualified names.
		{wild, "/hosts/host[name=host-a]/site", "PDD"},
		{wild, "/hosts/host[name=host-b]", "DDD"},
		{wild, "/hosts", "~DD"},
		{wild, "/hosts/host", "~DD"},
		{wild, "/sites", "~DD"}, // '*' could be sites, without the schema
		{wild, "/sites/site[name=dc-a]", "DDD"},
		{wild, "/tenants/tenant[name=red]/ports/port[name=p]", "PDD"},
		{wild, "/tenants/tenant[name=red]", "~DD"},
		{wild, "/tenants/tenant[name=red]/interfaces/interface[name=g1]/type", "PDD"},
		{wild, "/tenants/tenant[name=red]/interfaces/interface[name=g2]", "DDD"},
		{wild, "/tenants/tenant[name=red]/interfaces", "~DD"},
		{wild, "/backends/backend[name=b1]/endpoint", "PDD"},
		{wild, "/backends/backend[name=b2]/endpoint", "DDD"},
		{wild, "/", "~DD"},
		// '...' in the middle, at the start and at the end.
		{rest, "/backends/backend[name=b2]/status/sync-state", "DDP"},
		{rest, "/backends/backend[name=b2]/status/backend[name=b2]/sync-state", "DDP"},
		{rest, "/backends/backend[name=b2]/status", "DD~"},
		{rest, "/sites", "DDP"},
		{rest, "/sites/site[name=dc-a]/identifiers", "DDP"},
		{rest, "/tenants/tenant[name=blue]/vpns/vpn[name=v]/bindings/binding[interface=g1]/admin-state", "DP~"},
		{rest, "/tenants/tenant[name=blue]/vpns/vpn[name=v]/bindings/binding[interface=g1]", "DP~"},
		{rest, "/tenants/tenant[name=blue]/vpns/bindings/binding[interface=g1]", "DP~"},
		{rest, "/tenants/tenant[name=blue]/vpns/vpn[name=v]/bindings/binding[interface=g2]", "D~~"},
		{rest, "/tenants/tenant[name=red]/vpns/vpn[name=v]/bindings/binding[interface=g1]", "DD~"},
		{rest, "/tenants/tenant[name=blue]/ports", "DD~"},
		{rest, "/", "D~~"},
	} {
		if got := decisions(p, tc.s, elems(t, tc.path)); got != tc.want {
			t.Errorf("%v %s = %s, want %s", tc.s.Roles, tc.path, got, tc.want)
		}
	}
}

// TestDecideProviderGate checks that the provider-network entry governs
// writes of provider attributes on top of the rules.
func TestDecideProviderGate(t *testing.T) {
	p := policy(t, `{
	  "role": [
	    {"name": "admin", "rule": [{"sequence": 10, "path": "/", "operation": ["read", "write", "subscribe"], "action": "permit"}]},
	    {"name": "tenant-admin", "rule": [{"sequence": 10, "path": "/tenants/tenant[name={tenant}]", "operation": ["read", "write", "subscribe"], "action": "permit"}]},
	    {"name": "provider-admin", "rule": [{"sequence": 10, "path": "/tenants", "operation": ["read", "write"], "action": "permit"}]}
	  ],
	  "provider-network": {"role": ["admin", "provider-admin"]}
	}`)
	ta := &Subject{Roles: []string{"tenant-admin"}, Tenants: []string{"blue"}}
	pa := &Subject{Roles: []string{"provider-admin"}}
	for _, tc := range []struct {
		s          *Subject
		path, want string
	}{
		{ta, "/", "~~~"},
		{ta, "/tenants", "~~~"},
		{ta, "/tenants/tenant[name=blue]", "P~P"},
		{ta, "/tenants/tenant[name=blue]/ports", "PPP"},
		{ta, "/tenants/tenant[name=blue]/l2-networks", "P~P"},
		{ta, "/tenants/tenant[name=blue]/l2-networks/l2-network", "P~P"},
		{ta, ownL2, "P~P"},
		{ta, ownL2 + "/mtu", "PPP"},
		{ta, ownL2 + "/bindings/binding[interface=g1]", "PPP"},
		{ta, ownProvider, "PDP"},
		{ta, ownProvider + "/segmentation-id", "PDP"},
		{ta, otherProvider, "DDD"},
		{pa, ownProvider, "PPD"},
		{pa, otherProvider + "/physical-network", "PPD"},
		{pa, "/tenants", "PPD"},
		{admin, ownProvider, "PPP"},
	} {
		if got := decisions(p, tc.s, elems(t, tc.path)); got != tc.want {
			t.Errorf("%v %s = %s, want %s", tc.s.Roles, tc.path, got, tc.want)
		}
	}
}

func TestProviderNetworkAllowed(t *testing.T) {
	def := DefaultPolicy()
	vnf, err := LoadPolicy("../../testdata/policy/vnf-manager.json")
	if err != nil {
		t.Fatal(err)
	}
	vnfm := &Subject{User: "vnfm", Roles: []string{"vnf-manager"}, Tenants: []string{"acme"}}
	for _, tc := range []struct {
		name   string
		p      *Policy
		s      *Subject
		tenant string
		want   bool
	}{
		{"admin", def, admin, "blue", true},
		{"admin, any tenant", def, admin, "red", true},
		{"admin without tenants", def, &Subject{Roles: []string{"admin"}}, "x", true},
		{"tenant-admin, own tenant", def, tenantAdmin, "blue", true},
		{"tenant-admin, second own tenant", def, tenantAdmin, "acme", true},
		{"tenant-admin, other tenant", def, tenantAdmin, "red", false},
		{"tenant-admin without tenants", def, noTenants, "blue", false},
		{"network-admin", def, netAdmin, "blue", false},
		{"viewer", def, viewer, "blue", false},
		{"viewer + tenant-admin, own", def, viewerTenant, "blue", true},
		{"unknown role", def, unknownRole, "blue", false},
		{"nil subject", def, nil, "blue", false},
		{"vnf-manager in default policy", def, vnfm, "acme", false},
		{"vnf-manager, own tenant", vnf, vnfm, "acme", true},
		{"vnf-manager, other tenant", vnf, vnfm, "blue", false},
		{"tenant-admin in vnf-manager policy", vnf, tenantAdmin, "blue", true},
		{"viewer in vnf-manager policy", vnf, viewer, "blue", false},
	} {
		if got := tc.p.ProviderNetworkAllowed(tc.s, tc.tenant); got != tc.want {
			t.Errorf("%s: ProviderNetworkAllowed(%s) = %v, want %v", tc.name, tc.tenant, got, tc.want)
		}
	}

	// The VNF manager's decisions: provider attributes of its tenants'
	// L2 networks without being an administrator.
	for _, tc := range []struct {
		path, want string
	}{
		{"/tenants/tenant[name=acme]", "P~P"},
		{"/tenants/tenant[name=acme]/l2-networks/l2-network[name=vnf-net]", "PPP"},
		{"/tenants/tenant[name=acme]/l2-networks/l2-network[name=vnf-net]/provider", "PPP"},
		{"/tenants/tenant[name=acme]/l2-networks/l2-network[name=vnf-net]/provider/segmentation-id", "PPP"},
		{"/tenants/tenant[name=acme]/ports/port[name=vnf-nic0]", "PPP"},
		{"/tenants/tenant[name=acme]/interfaces/interface[name=vnf-vlan100]", "PPP"},
		{"/tenants/tenant[name=acme]/vpns/vpn[name=v]", "PDP"},
		{"/tenants/tenant[name=acme]/description", "PDP"},
		{"/tenants/tenant[name=blue]/l2-networks/l2-network[name=x]/provider", "DDD"},
		{"/hosts", "DDD"},
		{"/access", "DDD"},
		{"/", "~~~"},
	} {
		if got := decisions(vnf, vnfm, elems(t, tc.path)); got != tc.want {
			t.Errorf("vnf-manager %s = %s, want %s", tc.path, got, tc.want)
		}
	}
	// Without the provider-network entry the same rules do not reach the
	// provider attributes.
	if got := decisions(def, &Subject{Roles: []string{"tenant-admin"}, Tenants: []string{"acme"}}, elems(t, "/tenants/tenant[name=acme]/l2-networks/l2-network[name=x]/provider")); got != "PPP" {
		t.Errorf("default tenant-admin provider: %s", got)
	}
}

// TestDecideConsistent checks, on every prefix of a set of data paths and
// for every subject, that Permit and Deny are inherited: below a Permit
// everything is Permit, below a Deny everything is Deny.
func TestDecideConsistent(t *testing.T) {
	vnf, err := LoadPolicy("../../testdata/policy/vnf-manager.json")
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{
		deepOwn, ownProvider + "/segmentation-id", otherProvider + "/network-type",
		"/tenants/tenant[name=acme]/l2-networks/l2-network[name=n]/provider/physical-network",
		"/tenants/tenant[name=red]/ports/port[name=p1]/status/backend[name=b]/last-attempt",
		"/backends/backend[name=vendor-a]/option[name=x]/value",
		"/hosts/host[name=host-a]/site", "/system/state/uptime",
		"/access/role[name=admin]/rule[sequence=10]/operation", "/audit/entry[id=1]/user",
	}
	subjects := []*Subject{admin, netAdmin, tenantAdmin, viewer, noTenants, unknownRole, viewerTenant,
		{Roles: []string{"vnf-manager"}, Tenants: []string{"acme"}}}
	for _, p := range []*Policy{DefaultPolicy(), vnf} {
		for _, s := range subjects {
			for _, ps := range paths {
				full := elems(t, ps)
				for op := Read; op < numOps; op++ {
					prev := Partial
					for i := 0; i <= len(full); i++ {
						d := p.Decide(s, op, full[:i])
						if prev != Partial && d != prev {
							t.Errorf("%v %v %s: %v at depth %d, then %v at depth %d", s.Roles, op, ps, prev, i-1, d, i)
						}
						prev = d
					}
				}
			}
		}
	}
}

func TestDecideNoAllocs(t *testing.T) {
	p := DefaultPolicy()
	for _, tc := range []struct {
		s    *Subject
		op   Op
		path string
	}{
		{tenantAdmin, Write, deepOwn},
		{tenantAdmin, Write, ownProvider},
		{admin, Read, deepOwn},
		{tenantAdmin, Read, "/tenants"},
		{viewer, Subscribe, "/access"},
	} {
		path := elems(t, tc.path)
		if n := testing.AllocsPerRun(100, func() { p.Decide(tc.s, tc.op, path) }); n != 0 {
			t.Errorf("%v %v %s: %v allocations", tc.s.Roles, tc.op, tc.path, n)
		}
	}
}

func TestStrings(t *testing.T) {
	if Read.String() != "read" || Write.String() != "write" || Subscribe.String() != "subscribe" || Op(9).String() != "op(9)" {
		t.Error("Op.String")
	}
	if Deny.String() != "deny" || Permit.String() != "permit" || Partial.String() != "partial" {
		t.Error("Decision.String")
	}
}
