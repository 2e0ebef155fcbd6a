package daemon_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/server/store"
)

const (
	blueRTs    = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/route-target"
	redOwnedRT = "/route-targets/route-target[value=64512:200]"
)

// setAs sends one update as client c.
func setAs(t *testing.T, c gpb.GNMIClient, p, js string) error {
	t.Helper()
	_, err := c.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, p, js)}})
	return err
}

// TestRouteTargetTakeoverRefused is the reproduction: alice, tenant-admin
// of blue, adds red's route target to blue's VPN. It is refused, names the
// route target's path, and changes nothing; alice can neither write the
// ownership nor see it.
func TestRouteTargetTakeoverRefused(t *testing.T) {
	ts := accessServer(t)
	alice := ts.as(t, "alice")
	before := ts.config(t)
	err := setAs(t, alice, blueRTs+"[value=64512:200]", `{"value":"64512:200","direction":"both"}`)
	wantCode(t, err, codes.FailedPrecondition, blueRTs+"[value=64512:200]: route target 64512:200 is not owned by or granted to tenant blue")
	// A free route target reads the same: nothing about red leaks.
	err = setAs(t, alice, blueRTs+"[value=64512:999]", `{"value":"64512:999"}`)
	wantCode(t, err, codes.FailedPrecondition, "route target 64512:999 is not owned by or granted to tenant blue")
	// Nor may she grant herself red's route target, or allocate a free one.
	err = setAs(t, alice, redOwnedRT+"/grant[tenant=blue]", `{"direction":"both"}`)
	wantCode(t, err, codes.PermissionDenied, redOwnedRT+"/grant[tenant=blue]: permission denied")
	err = setAs(t, alice, "/route-targets/route-target[value=64512:999]", `{"owner":"blue"}`)
	wantCode(t, err, codes.PermissionDenied, "permission denied")
	if _, err := alice.Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, "/route-targets")}, Encoding: gpb.Encoding_JSON_IETF}); status.Code(err) != codes.NotFound {
		t.Errorf("alice reads /route-targets: %v", err)
	}
	if after := ts.config(t); !equalJSON(before, after) {
		t.Errorf("refused Sets changed the configuration")
	}
}

// TestRouteTargetGrant: red's route target shared with blue by an admin
// (an extranet: blue imports red's routes). Blue may use it as granted
// and no further; the grant cannot be revoked while blue uses it.
func TestRouteTargetGrant(t *testing.T) {
	ts := accessServer(t)
	alice, admin := ts.as(t, "alice"), ts.as(t, "admin")
	if err := setAs(t, admin, redOwnedRT+"/grant[tenant=blue]", `{"direction":"import"}`); err != nil {
		t.Fatal(err)
	}
	err := setAs(t, alice, blueRTs+"[value=64512:200]", `{"value":"64512:200","direction":"both"}`)
	wantCode(t, err, codes.FailedPrecondition, "granted to tenant blue for import only, and this use needs both")
	if err := setAs(t, alice, blueRTs+"[value=64512:200]", `{"value":"64512:200","direction":"import"}`); err != nil {
		t.Fatalf("granted import refused: %v", err)
	}
	_, err = admin.Set(ctx(t), &gpb.SetRequest{Delete: []*gpb.Path{path(t, redOwnedRT+"/grant[tenant=blue]")}})
	wantCode(t, err, codes.FailedPrecondition, redOwnedRT+"/grant[tenant=blue]: tenant blue still uses route target 64512:200 (import) at "+blueRTs+"[value=64512:200]")
	// Bob (red) sees nothing of it: the ownership is not his to read.
	if _, err := ts.as(t, "bob").Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, redOwnedRT)}, Encoding: gpb.Encoding_JSON_IETF}); status.Code(err) != codes.NotFound {
		t.Errorf("bob reads the ownership: %v", err)
	}
	// Blue stops using it; then the grant goes.
	if _, err := alice.Set(ctx(t), &gpb.SetRequest{Delete: []*gpb.Path{path(t, blueRTs+"[value=64512:200]")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Set(ctx(t), &gpb.SetRequest{Delete: []*gpb.Path{path(t, redOwnedRT+"/grant[tenant=blue]")}}); err != nil {
		t.Fatalf("unused grant not revoked: %v", err)
	}
}

// TestRouteTargetOneOwner: a route target has one owner. Naming a second
// one takes it from the first, which is refused while the first uses it;
// two entries for one route target are refused outright.
func TestRouteTargetOneOwner(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	before := ts.config(t)
	err := setAs(t, ts.client, redOwnedRT, `{"owner":"blue"}`)
	wantCode(t, err, codes.FailedPrecondition, redOwnedRT+"/owner: tenant red still uses route target 64512:200 (both)")
	err = setAs(t, ts.client, "/route-targets", `{"route-target":[{"value":"64512:200","owner":"blue"},{"value":"64512:200","owner":"red"}]}`)
	wantCode(t, err, codes.InvalidArgument, "64512:200")
	if after := ts.config(t); !equalJSON(before, after) {
		t.Errorf("refused Sets changed the configuration")
	}
}

// TestRouteTargetViolationInStore: a store whose VPN uses a route target
// its tenant does not own (written before ownership existed: here the
// ownership row is deleted behind the server's back) is refused at start,
// naming the VPN's route target; with AllowRouteTargetViolations it is
// served so an admin can allocate the route target, after which a normal
// start succeeds.
func TestRouteTargetViolationInStore(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	ts.stop()
	deleteRow(t, filepath.Join(ts.dir, daemon.DBFile), "/route-targets/route-target[value=64512:200]")

	cfg := ts.cfg
	cfg.Listen = "127.0.0.1:0"
	d, err := daemon.Start(context.Background(), cfg, quietLog())
	if err == nil {
		d.Stop()
		t.Fatal("a store with a VPN using an unowned route target started")
	}
	for _, want := range []string{"/tenants/tenant[name=red]/vpns/vpn[name=red]/route-target[value=64512:200]: route target 64512:200 is not owned by or granted to tenant red", "--allow-route-target-violations"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("start error %q lacks %q", err, want)
		}
	}

	cfg.AllowRouteTargetViolations = true
	fix := startWithCreds(t, cfg, ts.creds)
	if err := setAs(t, fix.client, redOwnedRT, `{"owner":"red"}`); err != nil {
		t.Fatalf("allocating the route target: %v", err)
	}
	fix.stop()
	cfg.AllowRouteTargetViolations = false
	startWithCreds(t, cfg, ts.creds)
}

// deleteRow removes one row from a stopped server's store, as a commit of
// its own.
func deleteRow(t *testing.T, file, key string) {
	t.Helper()
	st, err := store.OpenBolt(file, store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var old []byte
	err = st.Load(context.Background(), func(k string, v []byte) error {
		if k == key {
			old = v
		}
		return nil
	})
	if err != nil || old == nil {
		t.Fatalf("row %s: %v (found %v)", key, err, old != nil)
	}
	c := &store.Commit{ID: st.LastCommitID() + 1, Time: time.Now(), Summary: "test: delete " + key, Changes: []store.RowChange{{Key: key, Old: old}}}
	if err := st.Apply(context.Background(), []*store.Commit{c}); err != nil {
		t.Fatal(err)
	}
}
