package daemon_test

// End-to-end tests of the generic data drivers: a NetReady whose
// /sites are carried by a gnmi backend to a second NetReady, and by a
// webhook backend to an HTTP receiver.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/server/certs"
)

// gnmiBackend is the configuration of a gnmi backend carrying /sites to
// the server down.
func gnmiBackend(name string, down *testServer) string {
	return fmt.Sprintf(`{"name": %q, "driver": "gnmi", "endpoint": %q, "timeout": 3000, "option": [
		{"name": "paths", "value": "/sites"},
		{"name": "ca-file", "value": %q},
		{"name": "username", "value": "admin"},
		{"name": "password", "value": %q}]}`,
		name, down.d.Addr(), filepath.Join(down.dir, certs.CertFile), down.creds.pass)
}

func webhookBackend(name, url string) string {
	return fmt.Sprintf(`{"name": %q, "driver": "webhook", "endpoint": %q, "timeout": 3000, "option": [
		{"name": "paths", "value": "/sites"}]}`, name, url)
}

func (ts *testServer) addBackend(t *testing.T, name, js string) {
	t.Helper()
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name="+name+"]", js)}})
}

// configAt is the configuration at p, nil when there is none.
func (ts *testServer) configAt(t *testing.T, p string) any {
	t.Helper()
	v, err := ts.get(t, p, gpb.GetRequest_CONFIG)
	if status.Code(err) == codes.NotFound {
		return nil
	}
	if err != nil {
		t.Fatalf("get %s: %v", p, err)
	}
	return v
}

// waitSyncState waits until a backend's sync-state is want.
func (ts *testServer) waitSyncState(t *testing.T, backend, want string) {
	t.Helper()
	p := "/backends/backend[name=" + backend + "]/status/sync-state"
	var got any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		v, err := ts.get(t, p, gpb.GetRequest_STATE)
		if err == nil {
			if got = v; got == want {
				return
			}
		}
	}
	t.Fatalf("%s = %v, want %s", p, got, want)
}

func site(name, kind string) string {
	return fmt.Sprintf(`{"name": %q, "kind": %q}`, name, kind)
}

func setSite(t *testing.T, name, kind string) *gpb.SetRequest {
	return &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/sites/site[name="+name+"]", site(name, kind))}}
}

func TestDataDriverGNMI(t *testing.T) {
	down := startWith(t, daemon.Config{})
	up := startWith(t, daemon.Config{Drivers: daemon.Drivers()})
	up.addBackend(t, "dc-ctl", gnmiBackend("dc-ctl", down))
	up.waitSyncState(t, "dc-ctl", "in-sync")

	up.mustSet(t, setSite(t, "dc1", "region"))
	if got, want := down.configAt(t, "/sites/site[name=dc1]"), map[string]any{"name": "dc1", "kind": "region"}; !equalJSON(got, want) {
		t.Fatalf("downstream dc1 = %v, want %v", got, want)
	}
	up.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/sites/site[name=dc1]/description", `"main"`)}})
	if got := down.configAt(t, "/sites/site[name=dc1]/description"); got != "main" {
		t.Fatalf("downstream description = %v", got)
	}
	up.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, "/sites/site[name=dc1]/description")}})
	if got := down.configAt(t, "/sites/site[name=dc1]/description"); got != nil {
		t.Fatalf("downstream description = %v after its delete", got)
	}
	up.waitSyncState(t, "dc-ctl", "in-sync")

	// The downstream server refuses to delete dc1 while a connection of
	// its own refers to it: the Set fails and changes nothing.
	up.mustSet(t, setSite(t, "dc2", "cell"))
	down.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/connections/connection[name=c1]", `{"name": "c1", "purpose": "replication",
		"local": {"site": "dc1", "address": "192.0.2.1"}, "remote": {"site": "dc2", "address": "192.0.2.2"}}`)}})
	before := up.config(t)
	_, err := up.client.Set(ctx(t), &gpb.SetRequest{
		Delete: []*gpb.Path{path(t, "/sites/site[name=dc1]")},
		Update: []*gpb.Update{upd(t, "/sites/site[name=dc3]", site("dc3", "cell"))},
	})
	wantCode(t, err, codes.Aborted, "dc-ctl")
	wantCode(t, err, codes.Aborted, down.d.Addr())
	t.Logf("refused downstream: %v", err)
	if after := up.config(t); !equalJSON(before, after) {
		t.Error("a failed Set changed the configuration")
	}
	if down.configAt(t, "/sites/site[name=dc3]") != nil || down.configAt(t, "/sites/site[name=dc1]") == nil {
		t.Error("the refused Set changed the downstream server")
	}
	up.waitSyncState(t, "dc-ctl", "error")

	// A Set the downstream takes brings the backend back in sync.
	up.mustSet(t, setSite(t, "dc4", "cell"))
	up.waitSyncState(t, "dc-ctl", "in-sync")
	if down.configAt(t, "/sites/site[name=dc4]") == nil {
		t.Error("dc4 not downstream")
	}

	// The downstream server stopped: Sets on /sites fail.
	down.stop()
	_, err = up.client.Set(ctx(t), setSite(t, "dc5", "cell"))
	wantCode(t, err, codes.Aborted, "dc-ctl")
	if up.configAt(t, "/sites/site[name=dc5]") != nil {
		t.Error("dc5 stored though its backend failed")
	}
	up.waitSyncState(t, "dc-ctl", "error")
}

// hook is a webhook receiver answering with a settable status.
type hook struct {
	mu     sync.Mutex
	status int
	bodies []map[string]any
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var v map[string]any
	_ = json.Unmarshal(b, &v)
	h.mu.Lock()
	h.bodies = append(h.bodies, v)
	st := h.status
	h.mu.Unlock()
	if st == 0 {
		st = http.StatusOK
	}
	if st >= 300 {
		http.Error(w, "receiver says no", st)
	}
}

func (h *hook) set(status int) {
	h.mu.Lock()
	h.status = status
	h.mu.Unlock()
}

func (h *hook) last() map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.bodies) == 0 {
		return nil
	}
	return h.bodies[len(h.bodies)-1]
}

func TestDataDriverWebhook(t *testing.T) {
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	up := startWith(t, daemon.Config{Drivers: daemon.Drivers()})
	up.addBackend(t, "hook", webhookBackend("hook", srv.URL))
	up.waitSyncState(t, "hook", "in-sync")
	if r := h.last(); r == nil || r["reconcile"] != true {
		t.Fatalf("a new webhook backend got %v, want a reconciliation", r)
	}

	// One Set on carried and other data: only the carried part is sent.
	up.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{
		upd(t, "/sites/site[name=dc1]", site("dc1", "cell")),
		upd(t, "/tenants/tenant[name=blue]", `{"description": "not carried"}`),
	}})
	got, _ := json.Marshal(h.last())
	if want := `{"changes":[{"op":"update","path":"/sites","value":{}},{"op":"update","path":"/sites/site[name=dc1]","value":{"kind":"cell","name":"dc1"}}]}`; string(got) != want {
		t.Errorf("posted\n%s\nwant\n%s", got, want)
	}
	up.waitSyncState(t, "hook", "in-sync")

	h.set(http.StatusInternalServerError)
	before := up.config(t)
	_, err := up.client.Set(ctx(t), setSite(t, "dc2", "cell"))
	wantCode(t, err, codes.Aborted, "500")
	if !strings.Contains(err.Error(), "receiver says no") {
		t.Errorf("error %v does not quote the receiver", err)
	}
	if after := up.config(t); !equalJSON(before, after) {
		t.Error("a failed Set changed the configuration")
	}
	up.waitSyncState(t, "hook", "error")
}

// TestDataDriversUndo: of two data backends carrying the same data, the
// webhook fails; the gnmi target that took the change has it undone.
func TestDataDriversUndo(t *testing.T) {
	down := startWith(t, daemon.Config{})
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	up := startWith(t, daemon.Config{Drivers: daemon.Drivers()})
	up.addBackend(t, "dc-ctl", gnmiBackend("dc-ctl", down))
	up.addBackend(t, "hook", webhookBackend("hook", srv.URL))
	up.mustSet(t, setSite(t, "dc1", "cell"))
	up.waitSyncState(t, "dc-ctl", "in-sync")
	up.waitSyncState(t, "hook", "in-sync")

	h.set(http.StatusServiceUnavailable)
	_, err := up.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{
		upd(t, "/sites/site[name=dc2]", site("dc2", "region")),
		upd(t, "/sites/site[name=dc1]/description", `"changed"`),
	}})
	wantCode(t, err, codes.Aborted, "hook")
	if got := down.configAt(t, "/sites/site[name=dc2]"); got != nil {
		t.Errorf("the undone site is still on the gnmi target: %v", got)
	}
	if got := down.configAt(t, "/sites/site[name=dc1]"); !equalJSON(got, map[string]any{"name": "dc1", "kind": "cell"}) {
		t.Errorf("the gnmi target's dc1 = %v after the undo", got)
	}
	up.waitSyncState(t, "hook", "error")
	up.waitSyncState(t, "dc-ctl", "in-sync")
	if up.configAt(t, "/sites/site[name=dc2]") != nil {
		t.Error("dc2 stored")
	}

	// The receiver back: the next Set goes through on both.
	h.set(0)
	up.mustSet(t, setSite(t, "dc3", "cell"))
	if down.configAt(t, "/sites/site[name=dc3]") == nil {
		t.Error("dc3 not on the gnmi target")
	}
	up.waitSyncState(t, "hook", "in-sync")
}

// A backend the server cannot open is refused when it is set, naming the
// backend and what is wrong, and nothing is stored.
func TestBadBackendsRefused(t *testing.T) {
	ts := startWith(t, daemon.Config{Drivers: daemon.Drivers()})
	for _, c := range []struct{ js, want string }{
		{`{"driver": "no-such-driver"}`, `unknown driver "no-such-driver"`},
		{`{"driver": "linux-vforwarder", "option": [{"name": "netns-prefx", "value": "x-"}]}`, `unknown option "netns-prefx"`},
		{`{"driver": "linux-vforwarder", "option": [{"name": "netns-prefix", "value": "Way-Too-Long-"}]}`, "netns-prefix"},
		{`{"driver": "webhook", "endpoint": "ftp://example.net"}`, "http"},
		{`{"driver": "webhook", "endpoint": "http://127.0.0.1:9"}`, "names no path"},
		{`{"driver": "webhook", "endpoint": "http://127.0.0.1:9", "option": [{"name": "paths", "value": "/nowhere"}]}`, "not in the schema"},
		{`{"driver": "gnmi", "endpoint": "no-port", "option": [{"name": "paths", "value": "/sites"}]}`, "host:port"},
		{`{"driver": "gnmi", "endpoint": "127.0.0.1:9", "option": [{"name": "paths", "value": "/sites"}, {"name": "password-file", "value": "/nonexistent"}]}`, "password-file"},
	} {
		_, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=b1]", c.js)}})
		wantCode(t, err, codes.FailedPrecondition, c.want)
		if err != nil && !strings.Contains(err.Error(), "/backends/backend[name=b1]") {
			t.Errorf("%s: the error does not name the backend: %v", c.js, err)
		}
		if got := ts.configAt(t, "/backends"); got != nil {
			t.Fatalf("%s: stored %v", c.js, got)
		}
	}
}
