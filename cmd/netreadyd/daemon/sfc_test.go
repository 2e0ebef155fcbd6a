package daemon_test

import (
	"os"
	"path/filepath"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"

	"github.com/netready/netready/cmd/netreadyd/daemon"
)

// dropSFC installs the service function chaining example module into the
// models dir of ts and reloads.
func dropSFC(t *testing.T, ts *testServer) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "examples", "sfc", "netready-sfc.yang"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(ts.dir, "models")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "netready-sfc.yang"), b, 0o640); err != nil {
		t.Fatal(err)
	}
	ts.reloadModels(t)
}

const chainC1 = `{
	"function": [
		{"tenant": "blue", "name": "fw1", "type": "netready-sfc:firewall", "interface": "vfw", "capacity-gbps": "10.5"},
		{"tenant": "blue", "name": "nat1", "type": "netready-sfc:nat", "interface": "vnat"}],
	"chain": [{"tenant": "blue", "name": "c1", "symmetric": true,
		"classifier": {"destination-prefix": "10.1.1.0/24", "protocol": "tcp", "destination-port": 443},
		"hop": [{"index": 1, "function": "fw1"}, {"index": 2, "function": "nat1"}]}]}`

// The example of the README: a service module that is not compiled in is
// dropped into two servers; the first carries it to the second through a
// gnmi backend, in the same transaction as its own commit.
func TestSFCDroppedInAndPushedDownstream(t *testing.T) {
	down := startWith(t, daemon.Config{})
	up := startWith(t, daemon.Config{Drivers: daemon.Drivers()})
	for _, ts := range []*testServer{down, up} {
		dropSFC(t, ts)
		ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=blue]", `{"name": "blue"}`)}})
	}
	up.addBackend(t, "dc2", `{"name": "dc2", "driver": "gnmi", "endpoint": "`+down.d.Addr()+`", "option": [
			{"name": "paths", "value": "/netready-sfc:chains"},
			{"name": "ca-file", "value": "`+filepath.Join(down.dir, "server.crt")+`"},
			{"name": "username", "value": "admin"},
			{"name": "password-file", "value": "`+filepath.Join(down.dir, "initial-admin-password")+`"}]}`)
	sc := down.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE, "/chains/chain"))
	sc.untilSync(t)

	up.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/chains", chainC1)}})
	want := up.configAt(t, "/chains")
	if got := down.configAt(t, "/chains"); !equalJSON(got, want) {
		t.Errorf("downstream holds %v, want %v", got, want)
	}
	if got := flat(t, sc.notification(t)); !has(got, `/chains/chain[name=c1][tenant=blue]/hop[index=2]/function="nat1"`) {
		t.Errorf("downstream subscriber: %v", got)
	}

	// Invalid for the module (a symmetric chain of one hop): refused before
	// anything is pushed.
	_, err := up.client.Set(ctx(t), &gpb.SetRequest{Delete: []*gpb.Path{path(t, "/chains/chain[tenant=blue][name=c1]/hop[index=2]")}})
	wantCode(t, err, codes.FailedPrecondition, "symmetric chain needs at least two hops")

	// The downstream is gone: the Set fails whole, nothing changes upstream.
	down.stop()
	_, err = up.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/chains/chain[tenant=blue][name=c1]/description", `"web"`)}})
	wantCode(t, err, codes.Aborted, "dc2")
	if got := up.configAt(t, "/chains"); !equalJSON(got, want) {
		t.Errorf("upstream changed: %v", got)
	}
	// A backend that is down holds up only the Sets that need it.
	up.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=blue]/ports/port[name=p1]", `{"mtu": 9000}`)}})
	up.waitSyncState(t, "dc2", "error")
}
