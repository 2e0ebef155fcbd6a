package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
)

// dropModel copies testdata/models/name into the models dir of ts.
func dropModel(t testing.TB, ts *testServer, name string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "models", name))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(ts.dir, "models")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o640); err != nil {
		t.Fatal(err)
	}
}

func removeModel(t testing.TB, ts *testServer, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(ts.dir, "models", name)); err != nil {
		t.Fatal(err)
	}
}

func (ts *testServer) reloadModels(t testing.TB) {
	t.Helper()
	if err := ts.d.ReloadModels(ctx(t)); err != nil {
		t.Fatalf("reload models: %v", err)
	}
}

// models returns the version of every module Capabilities lists.
func (ts *testServer) models(t testing.TB) map[string]string {
	t.Helper()
	resp, err := ts.client.Capabilities(ctx(t), &gpb.CapabilityRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range resp.GetSupportedModels() {
		got[m.GetName()] = m.GetVersion()
	}
	return got
}

// modelStatus returns /system/models/module[file=file] as decoded JSON.
func (ts *testServer) modelStatus(t testing.TB, file string) map[string]any {
	t.Helper()
	v, err := ts.get(t, "/system/models/module[file="+file+"]", gpb.GetRequest_STATE)
	if err != nil {
		t.Fatalf("status of %s: %v", file, err)
	}
	m, _ := v.(map[string]any)
	return m
}

func update(t testing.TB, p, js string) *gpb.Update {
	return &gpb.Update{Path: path(t, p), Val: jsonIETF(js)}
}

const firewallPolicy = `{"name": "web", "default-action": "example-firewall:drop", "log-rate": "1.5",
  "rule": [{"seq": 10, "protocol": "tcp", "port": 443}, {"seq": 20, "protocol": "udp", "next": 10}]}`

// TestModelsDropIn drops a module into the models dir of a running
// server, reloads, and serves its data like a compiled module's.
func TestModelsDropIn(t *testing.T) {
	ts := start(t, "")
	if _, ok := ts.models(t)["example-firewall"]; ok {
		t.Fatal("example-firewall served before it was dropped in")
	}
	// A stream open across the reload ends, telling the client why.
	sub := ts.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE, "/system/state/version"))
	sub.untilSync(t)

	dropModel(t, ts, "example-firewall.yang")
	dropModel(t, ts, "example-broken.yang")
	dropModel(t, ts, "example-syntax.yang")
	ts.reloadModels(t)
	wantCode(t, sub.ended(t), codes.Unavailable, "reloading its YANG models")

	if v := ts.models(t)["example-firewall"]; v != "2026-11-24" {
		t.Fatalf("example-firewall version %q in Capabilities", v)
	}
	if st := ts.modelStatus(t, "example-firewall.yang"); st["status"] != "loaded" || st["revision"] != "2026-11-24" {
		t.Errorf("status of example-firewall.yang: %v", st)
	}
	for file, line := range map[string]string{"example-broken.yang": "example-broken.yang:7:", "example-syntax.yang": "example-syntax.yang:8:"} {
		st := ts.modelStatus(t, file)
		if st["status"] != "refused" || !strings.Contains(st["message"].(string), line) {
			t.Errorf("status of %s: %v, want refused at %s", file, st, line)
		}
	}

	// Set, Get and Subscribe on the dropped-in module.
	sub = ts.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE, "/firewall"))
	sub.untilSync(t)
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{update(t, "/firewall/policy[name=web]", firewallPolicy)}})
	lines := flat(t, sub.notification(t))
	for _, want := range []string{
		"/firewall/policy[name=web]/rule[seq=10]/port=443",
		`/firewall/policy[name=web]/default-action="example-firewall:drop"`,
		`/firewall/policy[name=web]/log-rate="1.5"`,
	} {
		if !has(lines, want) {
			t.Errorf("notification lacks %s: %v", want, lines)
		}
	}
	v, err := ts.get(t, "/firewall/policy[name=web]/rule[seq=20]", gpb.GetRequest_ALL)
	if err != nil {
		t.Fatal(err)
	}
	got := v.(map[string]any)
	if got["example-firewall:port"] != "any" && got["port"] != "any" {
		t.Errorf("rule 20: %v (want the default port any)", got)
	}

	// Invalid data of each type class, and constraints.
	pol := "/firewall/policy[name=web]"
	for _, c := range []struct {
		name, path, val string
		code            codes.Code
		msg             string
	}{
		{"int range", pol + "/rule[seq=0]", `{"seq": 0}`, codes.InvalidArgument, "seq"},
		{"string length", "/firewall/policy[name=abcdefghijklmnopq]", `{"name": "abcdefghijklmnopq", "default-action": "example-firewall:drop", "rule": [{"seq": 1}]}`, codes.InvalidArgument, "name"},
		{"string pattern", "/firewall/policy[name=Web]", `{"name": "Web", "default-action": "example-firewall:drop", "rule": [{"seq": 1}]}`, codes.InvalidArgument, "name"},
		{"enumeration", pol + "/rule[seq=10]/protocol", `"sctp"`, codes.InvalidArgument, "protocol"},
		{"identityref", pol + "/default-action", `"example-firewall:reject"`, codes.InvalidArgument, "default-action"},
		{"union", pol + "/rule[seq=10]/port", `"none"`, codes.InvalidArgument, "port"},
		{"union range", pol + "/rule[seq=10]/port", `0`, codes.InvalidArgument, "port"},
		{"boolean", "/firewall/enabled", `"yes"`, codes.InvalidArgument, "enabled"},
		{"decimal64 range", pol + "/log-rate", `"100.5"`, codes.InvalidArgument, "log-rate"},
		{"decimal64 digits", pol + "/log-rate", `"1.555"`, codes.InvalidArgument, "log-rate"},
		{"leafref", pol + "/rule[seq=20]/next", `99`, codes.FailedPrecondition, "next"},
		{"mandatory", "/firewall/policy[name=x]", `{"name": "x", "rule": [{"seq": 1}]}`, codes.FailedPrecondition, "default-action"},
		{"min-elements", "/firewall/policy[name=x]", `{"name": "x", "default-action": "example-firewall:accept"}`, codes.FailedPrecondition, "rule"},
		{"must", pol + "/rule[seq=30]", `{"seq": 30, "protocol": "tcp", "port": 443}`, codes.FailedPrecondition, "two rules match the same protocol and port"},
		{"when", pol + "/default-action", `"example-firewall:accept"`, codes.FailedPrecondition, "log-rate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{update(t, c.path, c.val)}})
			wantCode(t, err, c.code, c.msg)
		})
	}
	t.Run("max-elements", func(t *testing.T) {
		var ups []*gpb.Update
		for i := 0; i < 8; i++ {
			n := "p" + string(rune('a'+i))
			ups = append(ups, update(t, "/firewall/policy[name="+n+"]", `{"name": "`+n+`", "default-action": "example-firewall:accept", "rule": [{"seq": 1}]}`))
		}
		_, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: ups})
		wantCode(t, err, codes.FailedPrecondition, "policy")
	})

	// One Set mixing a compiled and a dropped-in path is all or nothing.
	before := ts.config(t)
	compiled := update(t, "/system/config/models-reload-request", `"7"`)
	_, err = ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{compiled, update(t, pol+"/rule[seq=10]/port", `70000`)}})
	wantCode(t, err, codes.InvalidArgument, "port")
	_, err = ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{update(t, "/system/config/models-reload-request", `"x"`), update(t, pol+"/rule[seq=10]/port", `8443`)}})
	wantCode(t, err, codes.InvalidArgument, "models-reload-request")
	if after := ts.config(t); !equalJSON(before, after) {
		t.Fatalf("refused Sets changed the configuration:\n%v\n%v", before, after)
	}
	// The valid mixed Set commits both and, as it sets the reload request,
	// reloads the models before it returns: the fixed file now loads.
	if err := os.WriteFile(filepath.Join(ts.dir, "models", "example-syntax.yang"), []byte(`module example-syntax { namespace "urn:s"; prefix s; }`), 0o640); err != nil {
		t.Fatal(err)
	}
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{compiled, update(t, pol+"/rule[seq=10]/port", `8443`)}})
	if _, ok := ts.models(t)["example-syntax"]; !ok {
		t.Error("setting models-reload-request did not reload the models")
	}
	if v, err := ts.get(t, pol+"/rule[seq=10]/port", gpb.GetRequest_CONFIG); err != nil || v != float64(8443) {
		t.Errorf("port after the mixed Set: %v, %v", v, err)
	}

	// A restart keeps the dropped-in module and its data.
	ts = ts.restart(t)
	if v, err := ts.get(t, pol+"/rule[seq=10]/port", gpb.GetRequest_CONFIG); err != nil || v != float64(8443) {
		t.Fatalf("port after restart: %v, %v", v, err)
	}

	// Removing the module while it has data is refused until the data is
	// deleted.
	removeModel(t, ts, "example-firewall.yang")
	ts.reloadModels(t)
	if _, ok := ts.models(t)["example-firewall"]; !ok {
		t.Fatal("module with data unloaded")
	}
	if st := ts.modelStatus(t, "example-firewall.yang"); st["status"] != "loaded" || !strings.Contains(st["message"].(string), "data") {
		t.Errorf("status of the removed module: %v", st)
	}
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{update(t, pol+"/rule[seq=10]/port", `22`)}})
	// So does a restart: the server kept a copy of the loaded module.
	ts = ts.restart(t)
	if v, err := ts.get(t, pol+"/rule[seq=10]/port", gpb.GetRequest_CONFIG); err != nil || v != float64(22) {
		t.Fatalf("port after a restart without the module file: %v, %v", v, err)
	}
	if st := ts.modelStatus(t, "example-firewall.yang"); st["status"] != "loaded" || !strings.Contains(st["message"].(string), "data") {
		t.Errorf("status of the removed module after restart: %v", st)
	}
	ts.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, "/firewall")}})
	ts.reloadModels(t)
	if _, ok := ts.models(t)["example-firewall"]; ok {
		t.Fatal("module still loaded after its data was deleted")
	}
	if _, err := ts.get(t, "/system/models/module[file=example-firewall.yang]", gpb.GetRequest_STATE); err == nil {
		t.Error("status of a removed file still published")
	}
	_, err = ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{update(t, pol, firewallPolicy)}})
	wantCode(t, err, codes.NotFound, "firewall")
}

// TestModelsReloadUnderLoad reloads, changing the loaded modules, while
// clients Set and Get: RPCs wait for the reload instead of failing.
func TestModelsReloadUnderLoad(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	done := make(chan error, 4)
	for c := 0; c < 4; c++ {
		go func(c int) {
			for i := 0; i < 40; i++ {
				p := "/tenants/tenant[name=blue]/ports/port[name=g1-nic0]/mtu"
				_, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{update(t, p, fmt.Sprint(1500+c*100+i))}})
				if err == nil {
					_, err = ts.client.Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, p)}, Encoding: gpb.Encoding_JSON_IETF})
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}(c)
	}
	for i := 0; i < 6; i++ {
		if i%2 == 0 {
			dropModel(t, ts, "example-firewall.yang")
		} else {
			removeModel(t, ts, "example-firewall.yang")
		}
		ts.reloadModels(t)
	}
	for c := 0; c < 4; c++ {
		if err := <-done; err != nil {
			t.Fatalf("RPC during reloads: %v", err)
		}
	}
	if _, ok := ts.models(t)["example-firewall"]; ok {
		t.Error("example-firewall loaded after it was removed")
	}
}

// TestModelsChangeInvalidatingData refuses a new version of a loaded
// module under which the stored data is no longer valid: the loaded
// version stays, and the status says why.
func TestModelsChangeInvalidatingData(t *testing.T) {
	ts := start(t, "")
	dropModel(t, ts, "example-firewall.yang")
	ts.reloadModels(t)
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{update(t, "/firewall/policy[name=web]", firewallPolicy)}})
	// The new version requires a description of every policy.
	b, err := os.ReadFile(filepath.Join(ts.dir, "models", "example-firewall.yang"))
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(b), `      leaf default-action {`, `      leaf description { type string; mandatory true; }
      leaf default-action {`, 1)
	if err := os.WriteFile(filepath.Join(ts.dir, "models", "example-firewall.yang"), []byte(changed), 0o640); err != nil {
		t.Fatal(err)
	}
	ts.reloadModels(t)
	st := ts.modelStatus(t, "example-firewall.yang")
	if st["status"] != "loaded" || !strings.Contains(st["message"].(string), "description") {
		t.Errorf("status after an invalidating change: %v", st)
	}
	// The loaded version is still the old one: no description needed.
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{update(t, "/firewall/policy[name=db]", `{"name": "db", "default-action": "example-firewall:accept", "rule": [{"seq": 1}]}`)}})
	// Once the data is valid under the new version, it loads.
	for _, n := range []string{"web", "db"} {
		ts.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, "/firewall/policy[name="+n+"]")}})
	}
	ts.reloadModels(t)
	if st := ts.modelStatus(t, "example-firewall.yang"); st["status"] != "loaded" || st["message"] != nil {
		t.Errorf("status after the data was deleted: %v", st)
	}
	_, err = ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{update(t, "/firewall/policy[name=web]", firewallPolicy)}})
	wantCode(t, err, codes.FailedPrecondition, "description")
}
