package authz

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	netreadyyang "github.com/netready/netready/yang"
)

const policyDir = "../../testdata/policy"

func policyFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(policyDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found %d policy files, want default.json and vnf-manager.json at least", len(files))
	}
	return files
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDefaultFile checks that testdata/policy/default.json is the built-in
// policy, member for member.
func TestDefaultFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(policyDir, "default.json"))
	if err != nil {
		t.Fatal(err)
	}
	def, err := DefaultPolicy().JSON()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := decodeJSON(t, b), decodeJSON(t, def); !reflect.DeepEqual(got, want) {
		t.Errorf("default.json differs from DefaultPolicy():\n%s\nwant\n%s", b, def)
	}
	p, err := LoadPolicy(filepath.Join(policyDir, "default.json"))
	if err != nil {
		t.Fatal(err)
	}
	if p.String() != DefaultPolicy().String() {
		t.Errorf("default.json compiles to\n%s\nDefaultPolicy() is\n%s", p, DefaultPolicy())
	}
	if got := DefaultPolicy().Roles(); !reflect.DeepEqual(got, []string{"admin", "network-admin", "tenant-admin", "viewer"}) {
		t.Errorf("roles %v", got)
	}
	if got := DefaultPolicy().ProviderNetworkRoles(); !reflect.DeepEqual(got, []string{"admin", "tenant-admin"}) {
		t.Errorf("provider-network %v", got)
	}
}

// TestFilesRoundTrip checks that every example file parses, and that JSON
// gives back an equivalent document that parses to the same policy.
func TestFilesRoundTrip(t *testing.T) {
	for _, f := range policyFiles(t) {
		p, err := LoadPolicy(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		out, err := p.JSON()
		if err != nil {
			t.Fatal(err)
		}
		in, _ := os.ReadFile(f)
		if got, want := decodeJSON(t, out), decodeJSON(t, in); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: JSON() gives\n%s", f, out)
		}
		q, err := ParsePolicy(out)
		if err != nil {
			t.Fatalf("%s: JSON() does not parse: %v", f, err)
		}
		if q.String() != p.String() {
			t.Errorf("%s: round trip changed the policy", f)
		}
	}
}

// TestFilesConformToTheSchema decodes every example file (and a policy
// with users) against the built-in modules (netready-access) as the
// server does when it publishes the policy it enforces: a file the
// decoder refuses could not be published. A bad action is refused.
func TestFilesConformToTheSchema(t *testing.T) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{"with users": withUsers(t)}
	for _, f := range policyFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs[filepath.Base(f)] = b
	}
	for name, b := range docs {
		p, err := tree.DecodeStateJSON(sch.Root, b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if roles := p.ChildByName("access").ChildByName("role"); roles == nil || roles.Len() == 0 {
			t.Errorf("%s: no roles decoded", name)
		}
	}
	bad := bytes.Replace(docs["default.json"], []byte(`"action": "permit"`), []byte(`"action": "allow"`), 1)
	if _, err := tree.DecodeStateJSON(sch.Root, bad); err == nil {
		t.Error("action allow is accepted")
	}
}

func withUsers(t *testing.T) []byte {
	t.Helper()
	p, err := DefaultPolicy().WithUsers([]User{
		{Name: "bob", Roles: []string{"tenant-admin"}, Tenants: []string{"blue", "acme"}},
		{Name: "alice@example.net", Roles: []string{"admin"}},
		{Name: "eve", Roles: []string{"viewer", "tenant-admin"}, Tenants: []string{"blue"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestYanglint validates the example files, and a published policy with
// users, with yanglint against yang/*.yang.
func TestYanglint(t *testing.T) {
	if _, err := exec.LookPath("yanglint"); err != nil {
		t.Skip("yanglint is not installed (make deps)")
	}
	mods, err := filepath.Glob("../../yang/*.yang")
	if err != nil || len(mods) == 0 {
		t.Fatalf("no modules: %v", err)
	}
	lint := func(file string) (string, error) {
		args := append([]string{"-p", "../../yang", "-t", "data"}, mods...)
		out, err := exec.Command("yanglint", append(args, file)...).CombinedOutput()
		return string(out), err
	}
	files := policyFiles(t)
	dir := t.TempDir()
	users := filepath.Join(dir, "with-users.json")
	if err := os.WriteFile(users, withUsers(t), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range append(files, users) {
		if out, err := lint(f); err != nil || out != "" {
			t.Errorf("yanglint %s: %v\n%s", f, err, out)
		}
	}
	// yanglint really checks these files: a bad action is refused.
	b, _ := os.ReadFile(filepath.Join(policyDir, "default.json"))
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, bytes.Replace(b, []byte(`"action": "permit"`), []byte(`"action": "allow"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := lint(bad); err == nil && out == "" {
		t.Error("yanglint accepts action allow")
	}
}

func TestUsers(t *testing.T) {
	p := policy(t, `{
	  "role": [{"name": "admin"}, {"name": "viewer"}],
	  "user": [
	    {"name": "zed", "role": ["viewer"]},
	    {"name": "amy", "role": ["admin", "viewer"], "tenant": ["blue"]}
	  ]
	}`)
	want := []User{{Name: "amy", Roles: []string{"admin", "viewer"}, Tenants: []string{"blue"}}, {Name: "zed", Roles: []string{"viewer"}}}
	if got := p.Users(); !reflect.DeepEqual(got, want) {
		t.Errorf("Users() = %+v", got)
	}
	q, err := p.WithUsers([]User{{Name: "x", Roles: []string{"viewer"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Users(); len(got) != 1 || got[0].Name != "x" {
		t.Errorf("WithUsers: %+v", got)
	}
	if len(p.Users()) != 2 {
		t.Error("WithUsers changed the original")
	}
	if _, err := p.WithUsers([]User{{Name: "x", Roles: []string{"root"}}}); err == nil || !strings.Contains(err.Error(), `"root"`) {
		t.Errorf("WithUsers with an unknown role: %v", err)
	}
	if !p.HasRole("viewer") || p.HasRole("tenant-admin") {
		t.Error("HasRole")
	}
	// Neither admin nor tenant-admin lists: the default applies to those
	// defined.
	if got := p.ProviderNetworkRoles(); !reflect.DeepEqual(got, []string{"admin"}) {
		t.Errorf("provider-network default: %v", got)
	}
}

func TestProviderNetworkDefault(t *testing.T) {
	p := policy(t, `{"role": [
	  {"name": "tenant-admin", "rule": [{"sequence": 1, "path": "/tenants/tenant[name={tenant}]", "operation": ["write"], "action": "permit"}]},
	  {"name": "admin"}
	]}`)
	if got := p.ProviderNetworkRoles(); !reflect.DeepEqual(got, []string{"admin", "tenant-admin"}) {
		t.Errorf("provider-network default: %v", got)
	}
	if !p.ProviderNetworkAllowed(&Subject{Roles: []string{"tenant-admin"}, Tenants: []string{"t"}}, "t") {
		t.Error("default provider-network does not let the owner in")
	}
}

func TestParseErrors(t *testing.T) {
	role := func(rules string) string {
		return `{"netready-access:access": {"role": [{"name": "ops", "rule": [` + rules + `]}]}}`
	}
	rule := func(path, ops, action string) string {
		return role(`{"sequence": 7, "path": "` + path + `", "operation": ` + ops + `, "action": "` + action + `"}`)
	}
	rws := `["read", "write"]`
	for _, tc := range []struct {
		name, doc string
		want      []string // substrings of the error
	}{
		{"not JSON", `{`, []string{"policy"}},
		{"empty document", `{}`, []string{"netready-access:access"}},
		{"other top member", `{"netready-access:access": {}, "netready-tenants:tenants": {}}`, []string{"netready-tenants:tenants"}},
		{"unqualified top member", `{"access": {}}`, []string{"access"}},
		{"trailing data", `{"netready-access:access": {}} {}`, []string{"after"}},
		{"unknown member", `{"netready-access:access": {"roles": []}}`, []string{"roles"}},
		{"unknown rule member", role(`{"sequence": 1, "path": "/", "operation": ["read"], "action": "permit", "order": 1}`), []string{"order"}},
		{"bad role name", `{"netready-access:access": {"role": [{"name": "-ops"}]}}`, []string{`"-ops"`}},
		{"empty role name", `{"netready-access:access": {"role": [{"name": ""}]}}`, []string{`role ""`}},
		{"duplicate role", `{"netready-access:access": {"role": [{"name": "ops"}, {"name": "ops"}]}}`, []string{`"ops"`, "twice"}},
		{"no sequence", role(`{"path": "/", "operation": ["read"], "action": "permit"}`), []string{`"ops"`, "#1", "sequence"}},
		{"negative sequence", role(`{"sequence": -1, "path": "/", "operation": ["read"], "action": "permit"}`), []string{"sequence"}},
		{"sequence too large", role(`{"sequence": 4294967296, "path": "/", "operation": ["read"], "action": "permit"}`), []string{"sequence"}},
		{"duplicate sequence", role(`{"sequence": 5, "path": "/", "operation": ["read"], "action": "permit"}, {"sequence": 5, "path": "/hosts", "operation": ["read"], "action": "deny"}`), []string{`"ops"`, "rule 5", "twice"}},
		{"no path", rule("", rws, "permit"), []string{`"ops"`, "rule 7", "path"}},
		{"relative path", rule("tenants", rws, "permit"), []string{`"ops"`, "rule 7", `"tenants"`}},
		{"empty element", rule("/tenants//tenant", rws, "permit"), []string{`"ops"`, "rule 7", "empty"}},
		{"trailing slash", rule("/tenants/", rws, "permit"), []string{`"ops"`, "rule 7"}},
		{"unterminated key", rule("/tenants/tenant[name=blue", rws, "permit"), []string{`"ops"`, "rule 7"}},
		{"empty key value", rule("/tenants/tenant[name=]", rws, "permit"), []string{`"ops"`, "rule 7"}},
		{"bad name", rule("/tenants/ten ant", rws, "permit"), []string{`"ops"`, "rule 7", "ten ant"}},
		{"keys on ...", rule("/tenants/...[name=x]", rws, "permit"), []string{`"ops"`, "rule 7", "..."}},
		{"unknown placeholder", rule("/tenants/tenant[name={owner}]", rws, "permit"), []string{`"ops"`, "rule 7", "{owner}"}},
		{"placeholder inside a value", rule("/tenants/tenant[name=x-{tenant}]", rws, "permit"), []string{`"ops"`, "rule 7", "{tenant}"}},
		{"placeholder as a name", rule("/tenants/{tenant}", rws, "permit"), []string{`"ops"`, "rule 7", "{tenant}"}},
		{"no operation", rule("/", `[]`, "permit"), []string{`"ops"`, "rule 7", "operation"}},
		{"bad operation", rule("/", `["delete"]`, "permit"), []string{`"ops"`, "rule 7", `"delete"`}},
		{"duplicate operation", rule("/", `["read", "read"]`, "permit"), []string{`"ops"`, "rule 7", "twice"}},
		{"bad action", rule("/", rws, "allow"), []string{`"ops"`, "rule 7", `"allow"`}},
		{"no action", rule("/", rws, ""), []string{`"ops"`, "rule 7", "action"}},
		{"provider-network unknown role", `{"netready-access:access": {"role": [{"name": "admin"}], "provider-network": {"role": ["admin", "vnf-manager"]}}}`, []string{"provider-network", `"vnf-manager"`}},
		{"provider-network duplicate", `{"netready-access:access": {"role": [{"name": "admin"}], "provider-network": {"role": ["admin", "admin"]}}}`, []string{"provider-network", `"admin"`, "twice"}},
		{"user unknown role", `{"netready-access:access": {"role": [{"name": "admin"}], "user": [{"name": "bob", "role": ["root"]}]}}`, []string{`user "bob"`, `"root"`}},
		{"user duplicate", `{"netready-access:access": {"user": [{"name": "bob"}, {"name": "bob"}]}}`, []string{`"bob"`, "twice"}},
		{"user bad tenant", `{"netready-access:access": {"user": [{"name": "bob", "tenant": ["a b"]}]}}`, []string{`"bob"`, `"a b"`}},
	} {
		_, err := ParsePolicy([]byte(tc.doc))
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %s", tc.name, err, w)
			}
		}
	}

	if _, err := LoadPolicy(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("LoadPolicy of a missing file: no error")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(rule("/", `["read"]`, "allow")), 0o644)
	if _, err := LoadPolicy(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("LoadPolicy error does not name the file: %v", err)
	}
}

// TestParseAccepts checks pattern forms that are valid.
func TestParseAccepts(t *testing.T) {
	for _, path := range []string{
		"/",
		"/tenants",
		"/netready-tenants:tenants/tenant[name={tenant}]/netready-l2network:l2-networks",
		"/tenants/tenant[name=*]/ports/port",
		"/*/host[name=host-a]",
		"/.../status",
		"/tenants/.../bindings/binding[interface=g1]",
		"/tenants/tenant[name={tenant}]/vpns/vpn[name=blue]/subnet[prefix=10.1.1.0/24]",
		`/tenants/tenant[name=x\]y]`,
	} {
		doc := `{"netready-access:access": {"role": [{"name": "r", "rule": [{"sequence": 1, "path": ` + mustJSON(t, path) + `, "operation": ["read"], "action": "permit"}]}]}}`
		if _, err := ParsePolicy([]byte(doc)); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
