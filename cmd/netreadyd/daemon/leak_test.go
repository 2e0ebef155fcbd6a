package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/server/auth"
)

// defaultPolicyServer runs a server with the built-in policy file
// (testdata/policy/default.json), one user per role, loaded with the
// any-to-any scenario: tenants blue and red, their ports on host-a and
// host-b, route targets owned by each.
func defaultPolicyServer(t *testing.T) *testServer {
	t.Helper()
	return policyServer(t, filepath.Join("..", "..", "..", "testdata", "policy", "default.json"))
}

// testUser is a user of a policyServer: its password is name + "-secret".
type testUser struct {
	name, role string
	tenants    []string
}

// policyServer is defaultPolicyServer with another policy file and more
// users (of roles that policy defines).
func policyServer(t *testing.T, policyFile string, more ...testUser) *testServer {
	t.Helper()
	dir := t.TempDir()
	users := auth.NewUsers()
	users.Cost = 4
	for _, u := range append([]testUser{
		{"admin", "admin", nil}, {"net", "network-admin", nil}, {"alice", "tenant-admin", []string{"blue"}},
	}, more...) {
		if err := users.Add(u.name, u.name+"-secret", []string{u.role}, u.tenants); err != nil {
			t.Fatal(err)
		}
	}
	usersFile := filepath.Join(dir, "users.json")
	if err := users.Save(usersFile); err != nil {
		t.Fatal(err)
	}
	ts := startWithCreds(t, daemon.Config{DataDir: dir, UsersFile: usersFile, InitEmptyStore: true,
		PolicyFile: policyFile}, password{"admin", "admin-secret"})
	ts.setRoot(t, scenario(t, "any-to-any"))
	return ts
}

// deleteAs sends one Set deleting paths as user and returns its error.
func (ts *testServer) deleteAs(t *testing.T, user string, paths ...string) error {
	t.Helper()
	req := &gpb.SetRequest{}
	for _, p := range paths {
		req.Delete = append(req.Delete, path(t, p))
	}
	_, err := ts.as(t, user).Set(ctx(t), req)
	return err
}

// wantMessage checks the code and the exact message of err.
func wantMessage(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code || st.Message() != msg {
		t.Errorf("got %v %q,\nwant %v %q", st.Code(), st.Message(), code, msg)
	}
}

// exists reports whether the admin sees data at p.
func (ts *testServer) exists(t *testing.T, p string) bool {
	t.Helper()
	_, err := ts.get(t, p, gpb.GetRequest_CONFIG)
	if err != nil && status.Code(err) != codes.NotFound {
		t.Fatalf("get %s: %v", p, err)
	}
	return err == nil
}

// TestWildcardDeleteExpandsOverReadable: a wildcard delete by a tenant
// administrator matches only what she may read, so it deletes her own
// instances, succeeds, and never names or touches another tenant's.
func TestWildcardDeleteExpandsOverReadable(t *testing.T) {
	ts := defaultPolicyServer(t)
	if err := ts.deleteAs(t, "alice", "/tenants/tenant[name=*]/description"); err != nil {
		t.Fatalf("alice's wildcard delete: %v", err)
	}
	if ts.exists(t, "/tenants/tenant[name=blue]/description") {
		t.Error("blue's description survived alice's wildcard delete")
	}
	if !ts.exists(t, "/tenants/tenant[name=red]/description") {
		t.Error("alice's wildcard delete removed red's description")
	}
}

// TestWildcardDeleteIsNoExistenceOracle: naming another tenant's port by
// name under a tenant wildcard answers exactly as a port that exists
// nowhere does.
func TestWildcardDeleteIsNoExistenceOracle(t *testing.T) {
	ts := defaultPolicyServer(t)
	for _, port := range []string{"g5-nic0", "no-such-port"} {
		if err := ts.deleteAs(t, "alice", "/tenants/tenant[name=*]/ports/port[name="+port+"]/description"); err != nil {
			t.Errorf("port %s: %v", port, err)
		}
	}
	if !ts.exists(t, "/tenants/tenant[name=red]/ports/port[name=g5-nic0]/description") {
		t.Error("alice's wildcard delete removed red's port description")
	}
}

// TestWildcardDeleteErrorNamesOnlyOwnData: deleting every tenant's
// interfaces is refused because blue's VPN still uses blue's interfaces;
// the message names blue's data only, not red's interface g5.
func TestWildcardDeleteErrorNamesOnlyOwnData(t *testing.T) {
	ts := defaultPolicyServer(t)
	err := ts.deleteAs(t, "alice", "/tenants/tenant[name=*]/interfaces")
	wantMessage(t, err, codes.FailedPrecondition, "set: /tenants/tenant[name=blue]/interfaces/interface[name=g1]: cannot delete: still referenced 1 time(s) from /tenants/tenant/interfaces/interface/parent, /tenants/tenant/l2-networks/l2-network/bindings/binding/interface, /tenants/tenant/vpns/vpn/bindings/binding/interface")
	if !ts.exists(t, "/tenants/tenant[name=red]/interfaces/interface[name=g5]") {
		t.Error("red's interface g5 is gone")
	}
}

// TestExplicitDeleteNamesRequestPath: a delete of an explicit path that
// would remove what the caller may neither read nor write is refused
// naming the path as given, whatever exists below it.
func TestExplicitDeleteNamesRequestPath(t *testing.T) {
	ts := defaultPolicyServer(t)
	wantMessage(t, ts.deleteAs(t, "net", "/"), codes.PermissionDenied,
		"set: /: permission denied: user net may not delete or replace all that is there")
	wantMessage(t, ts.deleteAs(t, "alice", "/tenants"), codes.PermissionDenied,
		"set: /tenants: permission denied: user alice may not delete or replace all that is there")
	// The answer is the same with no other tenant there.
	ts.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, "/route-targets/route-target[value=64512:200]"), path(t, "/tenants/tenant[name=red]")}})
	wantMessage(t, ts.deleteAs(t, "alice", "/tenants"), codes.PermissionDenied,
		"set: /tenants: permission denied: user alice may not delete or replace all that is there")
	// Another tenant's path, as given, is refused as before.
	wantMessage(t, ts.deleteAs(t, "alice", "/tenants/tenant[name=red]/description"), codes.PermissionDenied,
		"set: /tenants/tenant[name=red]/description: permission denied")
}

// TestReferenceCountsOnlyWhenReadable: "still referenced N time(s)"
// counts and names references only for a caller who may read every
// object that could hold one; the administrator's message is unchanged.
func TestReferenceCountsOnlyWhenReadable(t *testing.T) {
	ts := defaultPolicyServer(t)
	const host = "/hosts/host[name=host-a]"
	// host-a is used by two ports of blue and one of red, which the
	// network administrator may not read.
	wantMessage(t, ts.deleteAs(t, "net", host), codes.FailedPrecondition,
		"set: "+host+": cannot delete: still referenced")
	wantMessage(t, ts.deleteAs(t, "admin", host), codes.FailedPrecondition,
		"set: "+host+": cannot delete: still referenced 3 time(s) from /tenants/tenant/ports/port/host")
	// blue is owned route targets alice may not read.
	wantMessage(t, ts.deleteAs(t, "alice", "/tenants/tenant[name=blue]"), codes.FailedPrecondition,
		"set: /tenants/tenant[name=blue]: cannot delete: still referenced")
	// References inside her own tenant are counted for her.
	wantMessage(t, ts.deleteAs(t, "alice", "/tenants/tenant[name=blue]/ports/port[name=g1-nic0]"), codes.FailedPrecondition,
		"set: /tenants/tenant[name=blue]/ports/port[name=g1-nic0]: cannot delete: still referenced 1 time(s) from /tenants/tenant/interfaces/interface/port")
}

// TestUpdatePayloadIsNoValueOracle: an update at a path the caller may
// partly write, whose payload names another tenant's data, is refused
// the same way whether it would change that data or not, naming the
// payload's path.
func TestUpdatePayloadIsNoValueOracle(t *testing.T) {
	ts := defaultPolicyServer(t)
	v, err := ts.get(t, "/tenants/tenant[name=red]/description", gpb.GetRequest_CONFIG)
	if err != nil {
		t.Fatal(err)
	}
	for _, desc := range []string{v.(string), "a guess"} {
		_, err := ts.as(t, "alice").Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{{Path: &gpb.Path{},
			Val: jsonIETF(`{"netready-tenants:tenants": {"tenant": [{"name": "red", "description": "` + desc + `"}]}}`)}}})
		wantMessage(t, err, codes.PermissionDenied, "set: /tenants/tenant[name=red]: permission denied")
	}
	// Her own tenant, through the same path, is fine.
	if _, err := ts.as(t, "alice").Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{{Path: &gpb.Path{},
		Val: jsonIETF(`{"netready-tenants:tenants": {"tenant": [{"name": "blue", "description": "mine"}]}}`)}}}); err != nil {
		t.Fatal(err)
	}
}

// customPolicy writes the default policy with roles added (JSON
// objects, each followed by a comma) and more roles in provider-network.
func customPolicy(t *testing.T, roles, providerRoles string) string {
	t.Helper()
	def, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "policy", "default.json"))
	if err != nil {
		t.Fatal(err)
	}
	js := strings.Replace(string(def), `"role": [`, `"role": [`+roles, 1)
	js = strings.Replace(js, `"role": ["admin", "tenant-admin"`, `"role": ["admin", "tenant-admin"`+providerRoles, 1)
	policy := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policy, []byte(js), 0o600); err != nil {
		t.Fatal(err)
	}
	return policy
}

// TestRuleMessageHidesUnreadablePaths: a role that administers route
// targets but may not read tenants is told that a tenant still uses the
// route target it deletes, but not where; the administrator is told where.
func TestRuleMessageHidesUnreadablePaths(t *testing.T) {
	const rtAdmin = `{"name": "rt-admin", "rule": [{"sequence": 10, "path": "/route-targets", "operation": ["read", "write"], "action": "permit"}]},`
	ts := policyServer(t, customPolicy(t, rtAdmin, ""), testUser{"rt", "rt-admin", nil})
	const rt = "/route-targets/route-target[value=64512:200]"
	wantMessage(t, ts.deleteAs(t, "rt", rt+"/description"), codes.OK, "")
	wantMessage(t, ts.deleteAs(t, "rt", rt), codes.FailedPrecondition,
		"set: "+rt+": tenant red still uses route target 64512:200 (both) at (a path you may not read); remove it there first")
	wantMessage(t, ts.deleteAs(t, "admin", rt), codes.FailedPrecondition,
		"set: "+rt+": tenant red still uses route target 64512:200 (both) at /tenants/tenant[name=red]/vpns/vpn[name=red]/route-target[value=64512:200]; remove it there first")
}

// TestPayloadKeysAreTheEntrys: a role that may write only the provider
// attributes of its tenant's L2 networks updates them through the
// network's entry; the entry's key in the payload is no write of its own.
func TestPayloadKeysAreTheEntrys(t *testing.T) {
	const provAdmin = `{"name": "provider-admin", "rule": [
		{"sequence": 10, "path": "/tenants/tenant[name={tenant}]", "operation": ["read"], "action": "permit"},
		{"sequence": 20, "path": "/tenants/tenant[name={tenant}]/l2-networks/l2-network/provider", "operation": ["write"], "action": "permit"}]},`
	ts := policyServer(t, customPolicy(t, provAdmin, `, "provider-admin"`), testUser{"prov", "provider-admin", []string{"blue"}})
	const n1 = "/tenants/tenant[name=blue]/l2-networks/l2-network[name=n1]"
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, n1, `{"provider": {"physical-network": "physnet1", "network-type": "vlan", "segmentation-id": 100}}`)}})
	if _, err := ts.as(t, "prov").Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, n1,
		`{"name": "n1", "provider": {"segmentation-id": 102}}`)}}); err != nil {
		t.Fatal(err)
	}
	if v, err := ts.get(t, n1+"/provider/segmentation-id", gpb.GetRequest_CONFIG); err != nil || v != float64(102) {
		t.Errorf("segmentation-id %v, %v; want 102", v, err)
	}
	// Anything else in the payload is refused, changed or not.
	_, err := ts.as(t, "prov").Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, n1, `{"name": "n1", "description": "x"}`)}})
	wantMessage(t, err, codes.PermissionDenied, "set: "+n1+"/description: permission denied")
}
