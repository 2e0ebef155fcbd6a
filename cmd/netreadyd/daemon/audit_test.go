package daemon_test

import (
	"fmt"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/cmd/netreadyd/daemon"
)

// auditEntries returns /audit/entry as decoded JSON_IETF objects.
func (ts *testServer) auditEntries(t *testing.T) []map[string]any {
	t.Helper()
	v, err := ts.get(t, "/audit", gpb.GetRequest_STATE)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, e := range v.(map[string]any)["entry"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

// TestAuditLog: accepted and refused Sets are both recorded, with the
// operations, the result and (when committed) the commit id; the log
// survives a restart.
func TestAuditLog(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	_, err := ts.client.Set(ctx(t), &gpb.SetRequest{Delete: []*gpb.Path{path(t, "/hosts/host[name=host-a]")}})
	if err == nil {
		t.Fatal("deleting a referenced host succeeded")
	}
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=blue]/description", `"audited"`)}})
	check := func(entries []map[string]any) {
		t.Helper()
		if len(entries) != 3 {
			t.Fatalf("%d audit entries, want 3: %v", len(entries), entries)
		}
		want := []struct{ result, op string }{
			{"accepted", "update /"},
			{"invalid", "delete /hosts/host[name=host-a]"},
			{"accepted", "update /tenants/tenant[name=blue]/description"},
		}
		for i, w := range want {
			e := entries[i]
			ops, _ := e["operation"].([]any)
			if e["result"] != w.result || len(ops) != 1 || ops[0] != w.op || e["peer"] == nil || e["time"] == nil {
				t.Errorf("entry %d: %v, want %s %s", i, e, w.result, w.op)
			}
		}
		if entries[1]["message"] == nil || entries[1]["commit-id"] != nil {
			t.Errorf("refused entry: %v", entries[1])
		}
		if entries[2]["commit-id"] != "2" {
			t.Errorf("accepted entry commit id: %v", entries[2]["commit-id"])
		}
	}
	check(ts.auditEntries(t))
	ts = ts.restart(t)
	check(ts.auditEntries(t))
}

// TestAuditRetention: the log keeps the newest entries, in the tree and
// in the store.
func TestAuditRetention(t *testing.T) {
	ts := startWith(t, daemon.Config{AuditRetention: 5})
	ts.setRoot(t, scenario(t, "any-to-any"))
	for i := 0; i < 12; i++ {
		ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=blue]/description", fmt.Sprintf(`"v%d"`, i))}})
	}
	check := func() {
		t.Helper()
		entries := ts.auditEntries(t)
		if len(entries) != 5 || entries[0]["id"] != "9" || entries[4]["id"] != "13" {
			t.Fatalf("retained %v", entries)
		}
	}
	check()
	dir := ts.dir
	ts.stop()
	ts = startWith(t, daemon.Config{DataDir: dir, AuditRetention: 5})
	check()
}
