package daemon_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/ygot/ygot"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/server/auth"
)

// accessServer runs a server with a users file holding one user per role
// and the example policy that adds a vnf-manager role, loaded with the
// any-to-any scenario and an L2 network with provider attributes in blue.
func accessServer(t *testing.T) *testServer {
	t.Helper()
	dir := t.TempDir()
	users := auth.NewUsers()
	users.Cost = 4
	for _, u := range []struct {
		name, role string
		tenants    []string
	}{
		{"admin", "admin", nil}, {"net", "network-admin", nil},
		{"alice", "tenant-admin", []string{"blue"}}, {"bob", "tenant-admin", []string{"red"}},
		{"vic", "viewer", nil}, {"vnf", "vnf-manager", []string{"blue"}},
	} {
		if err := users.Add(u.name, u.name+"-secret", []string{u.role}, u.tenants); err != nil {
			t.Fatal(err)
		}
	}
	usersFile := filepath.Join(dir, "users.json")
	if err := users.Save(usersFile); err != nil {
		t.Fatal(err)
	}
	ts := startWithCreds(t, daemon.Config{DataDir: dir, UsersFile: usersFile, InitEmptyStore: true,
		PolicyFile: filepath.Join("..", "..", "..", "testdata", "policy", "vnf-manager.json")}, password{"admin", "admin-secret"})
	ts.setRoot(t, scenario(t, "any-to-any"))
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=blue]/l2-networks/l2-network[name=n1]",
		`{"provider": {"physical-network": "physnet1", "network-type": "vlan", "segmentation-id": 100}}`)}})
	return ts
}

// as returns a client of ts authenticated as user.
func (ts *testServer) as(t *testing.T, user string) gpb.GNMIClient {
	conn := dialAs(t, ts.d.Addr(), ts.dir, password{user, user + "-secret"})
	t.Cleanup(func() { conn.Close() })
	return gpb.NewGNMIClient(conn)
}

// pathClass is a kind of data with a leaf to read and write.
type pathClass struct {
	name  string
	leaf  string // a leaf of this class
	value string // a valid new JSON value for it
	del   string // a leaf whose deletion is valid
}

var classes = []pathClass{
	{"own-tenant", "/tenants/tenant[name=blue]/description", `"x"`, "/tenants/tenant[name=blue]/description"},
	{"other-tenant", "/tenants/tenant[name=red]/description", `"x"`, "/tenants/tenant[name=red]/description"},
	{"infrastructure", "/hosts/host[name=host-a]/description", `"x"`, "/hosts/host[name=host-a]/description"},
	{"provider", "/tenants/tenant[name=blue]/l2-networks/l2-network[name=n1]/provider/segmentation-id", `101`,
		"/tenants/tenant[name=blue]/l2-networks/l2-network[name=n1]/provider/physical-network"},
	{"route-targets", "/route-targets/route-target[value=64512:200]/description", `"x"`, "/route-targets/route-target[value=64512:200]/description"},
	{"audit", "/audit/entry[id=1]/result", "", ""},
}

// rights: for each user and class, whether it may read and write.
var rights = map[string]map[string][2]bool{
	"admin": {"own-tenant": {true, true}, "other-tenant": {true, true}, "infrastructure": {true, true}, "provider": {true, true}, "route-targets": {true, true}, "audit": {true, false}},
	"net":   {"infrastructure": {true, true}},
	"alice": {"own-tenant": {true, true}, "provider": {true, true}},
	"bob":   {"other-tenant": {true, true}},
	"vic":   {"own-tenant": {true, false}, "other-tenant": {true, false}, "infrastructure": {true, false}, "provider": {true, false}, "route-targets": {true, false}},
	"vnf":   {"own-tenant": {true, false}, "provider": {true, true}},
}

// TestAccessMatrix: every role against every class of data and every
// operation, over TLS with password authentication. What a user may not
// read is absent (NotFound, no data in a subscription); what it may not
// write is PermissionDenied and changes nothing.
func TestAccessMatrix(t *testing.T) {
	ts := accessServer(t)
	// Each case starts from the same data: what a permitted write changed
	// is put back by the admin.
	restore := &gpb.SetRequest{}
	for _, cl := range classes {
		for _, p := range []string{cl.leaf, cl.del} {
			if v, err := ts.get(t, p, gpb.GetRequest_CONFIG); err == nil && cl.value != "" {
				js, _ := json.Marshal(v)
				restore.Update = append(restore.Update, upd(t, p, string(js)))
			}
		}
	}
	for user, byClass := range rights {
		c := ts.as(t, user)
		for _, cl := range classes {
			read, write := byClass[cl.name][0], byClass[cl.name][1]
			t.Run(user+"/"+cl.name, func(t *testing.T) {
				ts.mustSet(t, restore)
				_, err := c.Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, cl.leaf)}, Encoding: gpb.Encoding_JSON_IETF})
				expect(t, "get", err, read, codes.NotFound)
				for _, mode := range []gpb.SubscriptionList_Mode{gpb.SubscriptionList_ONCE, gpb.SubscriptionList_STREAM} {
					if got := subscribedLeaves(t, c, cl.leaf, mode); (got > 0) != read {
						t.Errorf("subscribe %v: %d leaves, readable %v", mode, got, read)
					}
				}
				if cl.value != "" {
					_, err = c.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, cl.leaf, cl.value)}})
					expect(t, "update", err, write, codes.PermissionDenied)
					_, err = c.Set(ctx(t), &gpb.SetRequest{Replace: []*gpb.Update{upd(t, cl.leaf, cl.value)}})
					expect(t, "replace", err, write, codes.PermissionDenied)
					_, err = c.Set(ctx(t), &gpb.SetRequest{Delete: []*gpb.Path{path(t, cl.del)}})
					expect(t, "delete", err, write, codes.PermissionDenied)
				}
			})
		}
	}
}

func expect(t *testing.T, op string, err error, allowed bool, refused codes.Code) {
	t.Helper()
	switch {
	case allowed && err != nil:
		t.Errorf("%s refused: %v", op, err)
	case !allowed && status.Code(err) != refused:
		t.Errorf("%s: got %v, want %v", op, err, refused)
	}
}

// subscribedLeaves subscribes to p and counts the leaves before sync.
func subscribedLeaves(t *testing.T, c gpb.GNMIClient, p string, mode gpb.SubscriptionList_Mode) int {
	t.Helper()
	s, err := c.Subscribe(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.CloseSend()
	l := &gpb.SubscriptionList{Mode: mode, Encoding: gpb.Encoding_JSON_IETF, Subscription: []*gpb.Subscription{{Path: path(t, p)}}}
	if err := s.Send(&gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Subscribe{Subscribe: l}}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		r, err := s.Recv()
		if err != nil {
			t.Fatalf("subscribe %s: %v", p, err)
		}
		if r.GetSyncResponse() {
			return n
		}
		n += len(r.GetUpdate().GetUpdate())
	}
}

// TestAccessWildcardGetShowsOnlyOwnTenant: a wildcard over all tenants
// returns only what the user may see, without a trace of the rest.
func TestAccessWildcardGetShowsOnlyOwnTenant(t *testing.T) {
	ts := accessServer(t)
	for user, want := range map[string]string{"alice": "[blue]", "bob": "[red]", "vic": "[blue red]", "net": "NotFound"} {
		resp, err := ts.as(t, user).Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, "/tenants/tenant[name=*]/name")}, Encoding: gpb.Encoding_JSON_IETF})
		got := "NotFound"
		if err == nil {
			var names []string
			for _, u := range resp.GetNotification()[0].GetUpdate() {
				names = append(names, strings.Trim(string(u.GetVal().GetJsonIetfVal()), `"`))
			}
			got = fmt.Sprint(names)
		} else if status.Code(err) != codes.NotFound {
			t.Fatalf("%s: %v", user, err)
		}
		if got != want {
			t.Errorf("%s sees tenants %s, want %s", user, got, want)
		}
	}
	// The whole tree, too: alice's Get of / holds her tenant and nothing else.
	resp, err := ts.as(t, "alice").Get(ctx(t), &gpb.GetRequest{Encoding: gpb.Encoding_JSON_IETF})
	if err != nil {
		t.Fatal(err)
	}
	js := string(resp.GetNotification()[0].GetUpdate()[0].GetVal().GetJsonIetfVal())
	for _, hidden := range []string{`"name":"red"`, "netready-infrastructure:", "netready-audit:", "netready-access:", "netready-system:", "netready-l3vpn:route-targets"} {
		if strings.Contains(js, hidden) {
			t.Errorf("alice's view of / shows %s: %s", hidden, js)
		}
	}
	if !strings.Contains(js, `"name":"blue"`) {
		t.Errorf("alice's view of / lacks her tenant: %s", js)
	}
	// And as PROTO scalars: every leaf of / she gets is in her tenant.
	resp, err = ts.as(t, "alice").Get(ctx(t), &gpb.GetRequest{Encoding: gpb.Encoding_PROTO})
	if err != nil {
		t.Fatal(err)
	}
	ups := resp.GetNotification()[0].GetUpdate()
	if len(ups) == 0 {
		t.Fatal("alice's PROTO view of / is empty")
	}
	for _, u := range ups {
		if p, _ := ygot.PathToString(u.GetPath()); !strings.HasPrefix(p, "/tenants/tenant[name=blue]/") {
			t.Fatalf("alice's PROTO view of / holds %s", p)
		}
	}
}

// TestAccessSubscriptionNeverSeesOtherTenants: objects created after the
// subscription started are filtered too.
func TestAccessSubscriptionNeverSeesOtherTenants(t *testing.T) {
	ts := accessServer(t)
	alice := &testServer{d: ts.d, dir: ts.dir, client: ts.as(t, "alice")}
	sc := alice.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE, "/tenants"))
	sc.untilSync(t)
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=red]/ports/port[name=secret]", `{}`)}})
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=green]", `{"description": "new tenant"}`)}})
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=blue]/ports/port[name=mine]", `{}`)}})
	for _, line := range flat(t, sc.notification(t)) {
		if !strings.HasPrefix(line, "/tenants/tenant[name=blue]/ports/port[name=mine]") {
			t.Fatalf("alice received %s", line)
		}
	}
	sc.quiet(t, 200*time.Millisecond)
}

// TestAccessAudited: denied and accepted Sets are in the audit log with
// the user, roles and result.
func TestAccessAudited(t *testing.T) {
	ts := accessServer(t)
	alice := ts.as(t, "alice")
	_, err := alice.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=red]/description", `"mine now"`)}})
	wantCode(t, err, codes.PermissionDenied, "tenant[name=red]")
	if _, err := alice.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=blue]/description", `"ok"`)}}); err != nil {
		t.Fatal(err)
	}
	entries := ts.auditEntries(t)
	last2 := entries[len(entries)-2:]
	for i, want := range []string{"denied", "accepted"} {
		e := last2[i]
		if e["user"] != "alice" || e["result"] != want || fmt.Sprint(e["role"]) != "[tenant-admin]" {
			t.Errorf("audit entry %v, want alice %s", e, want)
		}
	}
	// Only admins read the audit log.
	if _, err := alice.Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, "/audit")}}); status.Code(err) != codes.NotFound {
		t.Errorf("alice read the audit log: %v", err)
	}
}

// TestAccessAuthentication: wrong passwords, unknown users and missing
// credentials look the same, and guessing is rate limited.
func TestAccessAuthentication(t *testing.T) {
	ts := accessServer(t)
	try := func(user, pass string) error {
		conn := dialAs(t, ts.d.Addr(), ts.dir, password{user, pass})
		defer conn.Close()
		_, err := gpb.NewGNMIClient(conn).Capabilities(ctx(t), &gpb.CapabilityRequest{})
		return err
	}
	var msgs []string
	for _, c := range [][2]string{{"alice", "wrong"}, {"mallory", "x"}, {"", ""}} {
		err := try(c[0], c[1])
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("%v: %v", c, err)
		}
		msgs = append(msgs, status.Convert(err).Message())
	}
	if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
		t.Errorf("failures differ (they must not tell whether a user exists): %q", msgs)
	}
	for i := 0; i < 6; i++ {
		try("bob", "guess")
	}
	if err := try("bob", "bob-secret"); status.Code(err) != codes.Unauthenticated {
		t.Errorf("right password accepted right after a burst of guesses: %v", err)
	}
	// The guesser is refused per (address, user) pair, never per user:
	// it has not locked bob out of other addresses (auth's tests show
	// that), nor itself out of alice.
	if err := try("alice", "alice-secret"); err != nil {
		t.Errorf("one guessed user held back another: %v", err)
	}
	// Failures count per client address too: after 20 (7 so far, counting
	// only the checked ones) the whole address is held back, whichever
	// user it tries next.
	for i := range 13 {
		try(fmt.Sprint("user", i), "guess")
	}
	if err := try("alice", "alice-secret"); status.Code(err) != codes.Unauthenticated {
		t.Errorf("the guessing address was not held back: %v", err)
	}
}

// TestAccessPolicyVisibleToAdmins: the policy and the users' roles are
// published under /access for administrators only.
func TestAccessPolicyVisibleToAdmins(t *testing.T) {
	ts := accessServer(t)
	v, err := ts.get(t, "/access/user[name=alice]", gpb.GetRequest_ALL)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(v) != "map[name:alice role:[tenant-admin] tenant:[blue]]" {
		t.Errorf("/access/user[name=alice]: %v", v)
	}
	if _, err := ts.as(t, "vic").Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, "/access")}}); status.Code(err) != codes.NotFound {
		t.Errorf("a viewer read the policy: %v", err)
	}
}

// TestAccessTenantAdminCreatesFirstObjects: containers created implicitly
// above a tenant-admin's subtree (here /tenants itself) do not stop it
// from creating its tenant's objects.
func TestAccessTenantAdminCreatesFirstObjects(t *testing.T) {
	dir := t.TempDir()
	users := auth.NewUsers()
	users.Cost = 4
	users.Add("admin", "admin-secret", []string{"admin"}, nil)
	users.Add("alice", "alice-secret", []string{"tenant-admin"}, []string{"blue"})
	usersFile := filepath.Join(dir, "users.json")
	if err := users.Save(usersFile); err != nil {
		t.Fatal(err)
	}
	ts := startWithCreds(t, daemon.Config{DataDir: dir, UsersFile: usersFile, InitEmptyStore: true}, password{"admin", "admin-secret"})
	alice := ts.as(t, "alice")
	if _, err := alice.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=blue]/ports/port[name=p1]", `{"mtu": 9000}`)}}); err != nil {
		t.Fatalf("alice could not create her first port: %v", err)
	}
	_, err := alice.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=red]/ports/port[name=p1]", `{}`)}})
	wantCode(t, err, codes.PermissionDenied, "")
	// Deleting /tenants would remove another tenant's data too: refused,
	// naming the path as given, not the entry she may not read.
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=red]", `{}`)}})
	_, err = alice.Set(ctx(t), &gpb.SetRequest{Delete: []*gpb.Path{path(t, "/tenants")}})
	wantCode(t, err, codes.PermissionDenied, "set: /tenants: permission denied")
	if strings.Contains(status.Convert(err).Message(), "red") {
		t.Errorf("the refusal names tenant red: %v", err)
	}
}

// TestLimits: the per-user stream limit and the message size limit answer
// ResourceExhausted with a message that says which limit.
func TestLimits(t *testing.T) {
	ts := startWith(t, daemon.Config{MaxStreamsPerUser: 2, MaxMsgSize: 64 << 10})
	open := func() (gpb.GNMI_SubscribeClient, error) {
		s, err := ts.client.Subscribe(ctx(t))
		if err != nil {
			return nil, err
		}
		s.Send(&gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Subscribe{Subscribe: streamList(gpb.SubscriptionMode_ON_CHANGE, "/tenants")}})
		_, err = s.Recv()
		return s, err
	}
	for i := 0; i < 2; i++ {
		if _, err := open(); err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
	}
	_, err := open()
	wantCode(t, err, codes.ResourceExhausted, "streams open")

	big := fmt.Sprintf(`"%s"`, strings.Repeat("x", 100<<10))
	_, err = ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=blue]/description", big)}})
	wantCode(t, err, codes.ResourceExhausted, "larger than max")
}
