package daemon_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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

// hugeKeySet is a Set whose path holds an n-byte key.
func hugeKeySet(n int) *gpb.SetRequest {
	key := strings.Repeat("k", n)
	p := &gpb.Path{Elem: []*gpb.PathElem{{Name: "hosts"}, {Name: "host", Key: map[string]string{"name": key}}, {Name: "description"}}}
	return &gpb.SetRequest{Update: []*gpb.Update{{Path: p, Val: jsonIETF(`"x"`)}}}
}

// TestAuditBoundsLargeRequest: a viewer's Set with an 8 MiB key is refused
// (by the size bounds, before anything else: InvalidArgument) with a
// message that quotes a bounded part of the path, its audit entry
// takes a few KiB with a truncation marker (in the tree and in the store),
// and the memory of ten such requests comes back.
func TestAuditBoundsLargeRequest(t *testing.T) {
	ts := accessServer(t)
	vic := ts.as(t, "vic")
	before := liveHeap()
	for i := 0; i < 10; i++ {
		_, err := vic.Set(ctx(t), hugeKeySet(8<<20))
		wantCode(t, err, codes.InvalidArgument, "bytes cut)")
		if n := len(status.Convert(err).Message()); n > 2048 {
			t.Fatalf("the refusal quotes %d bytes", n)
		}
	}
	if grown := int64(liveHeap()) - int64(before); grown > 8<<20 {
		t.Errorf("ten refused 8 MiB Sets left the heap %d MiB larger", grown>>20)
	}
	check := func(when string) {
		t.Helper()
		entries := ts.auditEntries(t)
		e := entries[len(entries)-1]
		b, _ := json.Marshal(e)
		if e["result"] != "invalid" || len(b) > 4096 || !strings.Contains(string(b), "bytes cut)") {
			t.Fatalf("%s: audit entry of %d bytes: %.500s", when, len(b), b)
		}
	}
	check("published")
	ts = ts.restart(t)
	check("after restart")
}

// TestAuditRetentionBytes: large entries are dropped oldest first to keep
// the log within its byte bound, in the tree and in the store, across a
// restart; a restart with a lower bound applies it at once.
func TestAuditRetentionBytes(t *testing.T) {
	// Each entry takes about 330 bytes: the refused paths are clipped.
	const bound = 2 << 10
	ts := startWith(t, daemon.Config{AuditRetentionBytes: bound})
	for i := 0; i < 40; i++ {
		_, err := ts.client.Set(ctx(t), hugeKeySet(64<<10+i))
		wantCode(t, err, codes.InvalidArgument, "bytes cut)")
	}
	check := func(when string, bound, want int) {
		t.Helper()
		entries := ts.auditEntries(t)
		size := 0
		for _, e := range entries {
			b, _ := json.Marshal(e)
			size += len(b)
		}
		last := entries[len(entries)-1]["id"]
		if size > bound || len(entries) != want || last != "40" {
			t.Fatalf("%s: %d entries of %d bytes up to id %v; want %d within %d bytes, up to 40", when, len(entries), size, last, want, bound)
		}
	}
	check("published", bound, 6)
	ts = ts.restart(t)
	check("after restart", bound, 6)
	dir := ts.dir
	ts.stop()
	ts = startWith(t, daemon.Config{DataDir: dir, AuditRetentionBytes: bound / 4})
	check("after restart with a quarter of the bound", bound/4, 1)
}

// TestAuditStreamsEveryEntryOfConcurrentSets: with 32 clients, Sets are
// committed in batches whose commit hooks run once per batch; an
// ON_CHANGE subscriber to /audit still gets every accepted Set's entry,
// with its commit id, and last-commit-id ends at the newest commit.
func TestAuditStreamsEveryEntryOfConcurrentSets(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	sc := ts.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE, "/audit/entry/commit-id", "/system/state/last-commit-id"))
	sc.untilSync(t)
	const clients, each = 32, 4
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				req := &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=blue]/description", fmt.Sprintf(`"c%d-%d"`, c, i))}}
				if _, err := ts.client.Set(ctx(t), req); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	last := 1 + clients*each // the scenario is commit 1
	commits, lastSeen := map[string]bool{}, ""
	for len(commits) < clients*each || lastSeen != fmt.Sprint(last) {
		for _, u := range flat(t, sc.notification(t)) {
			i := strings.LastIndex(u, "=") // keys hold "=" too
			switch path, val := u[:i], u[i+1:]; {
			case strings.HasSuffix(path, "/commit-id"):
				commits[val] = true
			case strings.HasSuffix(path, "/last-commit-id"):
				lastSeen = strings.Trim(val, `"`)
			}
		}
	}
	for id := 2; id <= last; id++ {
		if !commits[fmt.Sprintf(`"%d"`, id)] {
			t.Errorf("no audit entry streamed for commit %d", id)
		}
	}
}
