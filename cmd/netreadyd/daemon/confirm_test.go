package daemon_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmi/proto/gnmi_ext"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/netready/netready/cmd/netreadyd/daemon"
)

// commitExt is a gnmi_ext.Commit extension with id and action.
func commitExt(id string, action any) []*gnmi_ext.Extension {
	c := &gnmi_ext.Commit{Id: id}
	switch a := action.(type) {
	case *gnmi_ext.CommitRequest:
		c.Action = &gnmi_ext.Commit_Commit{Commit: a}
	case *gnmi_ext.CommitConfirm:
		c.Action = &gnmi_ext.Commit_Confirm{Confirm: a}
	case *gnmi_ext.CommitCancel:
		c.Action = &gnmi_ext.Commit_Cancel{Cancel: a}
	case *gnmi_ext.CommitSetRollbackDuration:
		c.Action = &gnmi_ext.Commit_SetRollbackDuration{SetRollbackDuration: a}
	}
	return []*gnmi_ext.Extension{{Ext: &gnmi_ext.Extension_Commit{Commit: c}}}
}

func request(d time.Duration) *gnmi_ext.CommitRequest {
	return &gnmi_ext.CommitRequest{RollbackDuration: durationpb.New(d)}
}

const descPath = "/tenants/tenant[name=blue]/description"

// confirmedSet sets the blue tenant's description as commit-confirmed id
// with rollback duration d.
func (ts *testServer) confirmedSet(t *testing.T, id, desc string, d time.Duration) error {
	t.Helper()
	_, err := ts.client.Set(ctx(t), &gpb.SetRequest{
		Update:    []*gpb.Update{upd(t, descPath, fmt.Sprintf("%q", desc))},
		Extension: commitExt(id, request(d)),
	})
	return err
}

// step sends a commit-confirmed step that carries no operations.
func (ts *testServer) step(t *testing.T, id string, action any) error {
	t.Helper()
	_, err := ts.client.Set(ctx(t), &gpb.SetRequest{Extension: commitExt(id, action)})
	return err
}

// configBytes is the whole configuration as the server encodes it.
func (ts *testServer) configBytes(t *testing.T) string {
	t.Helper()
	resp, err := ts.client.Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{{}}, Encoding: gpb.Encoding_JSON_IETF, Type: gpb.GetRequest_CONFIG})
	if err != nil {
		t.Fatal(err)
	}
	return string(resp.GetNotification()[0].GetUpdate()[0].GetVal().GetJsonIetfVal())
}

// commits returns /system/state/commits/commit as "id kind summary" lines.
func (ts *testServer) commits(t *testing.T) []string {
	t.Helper()
	v, err := ts.get(t, "/system/state/commits", gpb.GetRequest_STATE)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range v.(map[string]any)["commit"].([]any) {
		c := e.(map[string]any)
		out = append(out, fmt.Sprintf("%v %v %v", c["id"], c["kind"], c["summary"]))
	}
	return out
}

// kinds counts the commits of each kind in the commit list.
func kinds(lines []string) map[string]int {
	n := map[string]int{}
	for _, l := range lines {
		n[strings.Fields(l)[1]]++
	}
	return n
}

// pending returns /system/state/commit-confirmed, nil when nothing waits.
func (ts *testServer) pending(t *testing.T) map[string]any {
	t.Helper()
	v, err := ts.get(t, "/system/state", gpb.GetRequest_STATE)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := v.(map[string]any)["netready-system:commit-confirmed"].(map[string]any)
	if p == nil {
		p, _ = v.(map[string]any)["commit-confirmed"].(map[string]any)
	}
	return p
}

// waitConfig waits until the configuration is want.
func (ts *testServer) waitConfig(t *testing.T, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for ts.configBytes(t) != want {
		if time.Now().After(deadline) {
			t.Fatalf("configuration not restored within %s:\n got  %s\n want %s", within, ts.configBytes(t), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCommitConfirmedRollsBack: a commit not confirmed within its 300 ms
// is undone by a new commit; the configuration is byte-identical to the
// one before, subscribers see the change and its undoing, and the audit
// log records the request and the automatic rollback.
func TestCommitConfirmedRollsBack(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	before := ts.configBytes(t)
	sub := ts.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE, descPath))
	sub.untilSync(t)

	if err := ts.confirmedSet(t, "c1", "trial", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got := flat(t, sub.notification(t)); !has(got, descPath+`="trial"`) {
		t.Fatalf("subscriber saw %v, want the trial description", got)
	}
	// The next notification is the rollback (whatever the machine's load,
	// which decides whether a Get would still see the trial).
	if got := flat(t, sub.notification(t)); !has(got, descPath+`="Tenant 1 (L3VPN Blue, any-to-any)"`) {
		t.Fatalf("subscriber saw %v, want the description from before the commit", got)
	}
	ts.waitConfig(t, before, 5*time.Second)
	if p := ts.pending(t); p != nil {
		t.Fatalf("still pending after the rollback: %v", p)
	}
	if k := kinds(ts.commits(t)); k["commit-confirmed"] != 1 || k["rollback"] != 1 {
		t.Fatalf("commit log %v, want one commit-confirmed and one rollback", ts.commits(t))
	}
	ops := auditOps(t, ts)
	if !strings.Contains(ops, "commit-confirmed request id=c1 rollback-duration=300ms") || !strings.Contains(ops, "commit-confirmed rollback id=c1") {
		t.Fatalf("audit operations lack the request or the rollback:\n%s", ops)
	}
}

// TestCommitConfirmedCancelAndConfirm: cancel restores the configuration
// at once; a confirmed commit stays past its rollback duration.
func TestCommitConfirmedCancelAndConfirm(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	before := ts.configBytes(t)

	if err := ts.confirmedSet(t, "c1", "trial", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := ts.step(t, "c1", &gnmi_ext.CommitCancel{}); err != nil {
		t.Fatal(err)
	}
	if got := ts.configBytes(t); got != before {
		t.Fatalf("after cancel:\n got  %s\n want %s", got, before)
	}

	if err := ts.confirmedSet(t, "c2", "kept", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	after := ts.configBytes(t)
	if err := ts.step(t, "c2", &gnmi_ext.CommitConfirm{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	if got := ts.configBytes(t); got != after {
		t.Fatalf("confirmed commit rolled back:\n got  %s\n want %s", got, after)
	}
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, descPath, `"plain again"`)}})
	want := []string{"commit-confirmed", "cancel", "commit-confirmed", "confirm", "set"}
	var got []string
	for _, l := range ts.commits(t)[1:] {
		got = append(got, strings.Fields(l)[1])
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("commit kinds %v, want %v", ts.commits(t), want)
	}
	ops := auditOps(t, ts)
	for _, step := range []string{"commit-confirmed cancel id=c1", "commit-confirmed confirm id=c2"} {
		if !strings.Contains(ops, step) {
			t.Errorf("audit log lacks %q:\n%s", step, ops)
		}
	}
}

// auditOps is every operation of the audit log, one a line.
func auditOps(t *testing.T, ts *testServer) string {
	t.Helper()
	var ops []string
	for _, e := range ts.auditEntries(t) {
		for _, o := range e["operation"].([]any) {
			ops = append(ops, o.(string))
		}
	}
	return strings.Join(ops, "\n")
}

// TestCommitConfirmedMisuse: every misuse the reference names fails with
// its code and changes nothing; set_rollback_duration moves the deadline.
func TestCommitConfirmedMisuse(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	plain := &gpb.SetRequest{Update: []*gpb.Update{upd(t, descPath, `"plain"`)}}

	// Nothing pending.
	wantCode(t, ts.step(t, "x", &gnmi_ext.CommitConfirm{}), codes.FailedPrecondition, "no commit awaits")
	wantCode(t, ts.step(t, "x", &gnmi_ext.CommitCancel{}), codes.FailedPrecondition, "no commit awaits")
	wantCode(t, ts.step(t, "x", &gnmi_ext.CommitSetRollbackDuration{RollbackDuration: durationpb.New(time.Second)}), codes.FailedPrecondition, "no commit awaits")
	wantCode(t, ts.confirmedSet(t, "", "x", time.Second), codes.InvalidArgument, "id is required")
	wantCode(t, ts.confirmedSet(t, "x", "x", -time.Second), codes.InvalidArgument, "greater than 0")
	wantCode(t, ts.step(t, "x", nil), codes.InvalidArgument, "no action")
	_, err := ts.client.Set(ctx(t), &gpb.SetRequest{Extension: []*gnmi_ext.Extension{{Ext: &gnmi_ext.Extension_History{History: &gnmi_ext.History{}}}}, Update: plain.Update})
	wantCode(t, err, codes.Unimplemented, "History")
	before := ts.configBytes(t)

	// A zero rollback_duration, as proto3 clients send for none, takes the
	// default of 10 minutes.
	t0 := time.Now()
	if err := ts.confirmedSet(t, "z", "zero", 0); err != nil {
		t.Fatal(err)
	}
	deadline, err := time.Parse(time.RFC3339Nano, ts.pending(t)["rollback-time"].(string))
	if err != nil || deadline.Before(t0.Add(10*time.Minute)) || deadline.After(time.Now().Add(10*time.Minute)) {
		t.Fatalf("rollback time %v (%v), want 10 minutes from the request", deadline, err)
	}
	if err := ts.step(t, "z", &gnmi_ext.CommitCancel{}); err != nil {
		t.Fatal(err)
	}

	// One pending.
	if err := ts.confirmedSet(t, "c1", "trial", time.Hour); err != nil {
		t.Fatal(err)
	}
	trial := ts.configBytes(t)
	_, err = ts.client.Set(ctx(t), plain)
	wantCode(t, err, codes.FailedPrecondition, `commit "c1" (commit 4) awaits confirmation`)
	wantCode(t, ts.confirmedSet(t, "c2", "other", time.Hour), codes.FailedPrecondition, "already awaits confirmation")
	wantCode(t, ts.step(t, "c9", &gnmi_ext.CommitConfirm{}), codes.InvalidArgument, `"c9" does not match`)
	wantCode(t, ts.step(t, "c9", &gnmi_ext.CommitCancel{}), codes.InvalidArgument, `"c9" does not match`)
	wantCode(t, ts.step(t, "c9", &gnmi_ext.CommitSetRollbackDuration{RollbackDuration: durationpb.New(time.Hour)}), codes.InvalidArgument, `"c9" does not match`)
	wantCode(t, ts.step(t, "c1", &gnmi_ext.CommitSetRollbackDuration{}), codes.InvalidArgument, "rollback_duration is required")
	wantCode(t, ts.step(t, "c1", &gnmi_ext.CommitSetRollbackDuration{RollbackDuration: durationpb.New(0)}), codes.InvalidArgument, "greater than 0")
	_, err = ts.client.Set(ctx(t), &gpb.SetRequest{Update: plain.Update, Extension: commitExt("c1", &gnmi_ext.CommitConfirm{})})
	wantCode(t, err, codes.InvalidArgument, "carries no operations")
	_, err = ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/system/config/rollback-to", `"1"`)}})
	wantCode(t, err, codes.FailedPrecondition, "awaits confirmation")
	if got := ts.configBytes(t); got != trial {
		t.Fatalf("a refused request changed the configuration:\n got  %s\n want %s", got, trial)
	}

	// set_rollback_duration moves the deadline: from an hour to 300 ms
	// from now, when the commit is undone.
	if err := ts.step(t, "c1", &gnmi_ext.CommitSetRollbackDuration{RollbackDuration: durationpb.New(300 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	ts.waitConfig(t, before, 20*time.Second)
	if k := kinds(ts.commits(t)); k["set-rollback-duration"] != 1 || k["rollback"] != 1 {
		t.Fatalf("commit log %v, want one set-rollback-duration and one rollback", ts.commits(t))
	}
	ts.mustSet(t, plain)
}

// TestCommitConfirmedResumesAfterRestart: the pending commit survives a
// restart and its timer runs on; one that ran out while the server was
// down is undone at start, exactly once.
func TestCommitConfirmedResumesAfterRestart(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	before := ts.configBytes(t)

	if err := ts.confirmedSet(t, "c1", "trial", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	ts = ts.restart(t)
	if p := ts.pending(t); p == nil || p["id"] != "c1" {
		t.Fatalf("after restart pending = %v, want c1", p)
	}
	if ts.configBytes(t) == before {
		t.Fatal("the commit was undone by the restart")
	}
	ts.waitConfig(t, before, 30*time.Second)

	// Runs out while the server is down.
	if err := ts.confirmedSet(t, "c2", "trial 2", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ts.stop()
	time.Sleep(500 * time.Millisecond)
	ts = ts.restart(t)
	if got := ts.configBytes(t); got != before {
		t.Fatalf("not rolled back at start:\n got  %s\n want %s", got, before)
	}
	ts = ts.restart(t)
	if k := kinds(ts.commits(t)); k["rollback"] != 2 || k["commit-confirmed"] != 2 {
		t.Fatalf("commit log %v, want two requests and two rollbacks", ts.commits(t))
	}
	if got := ts.configBytes(t); got != before {
		t.Fatal("configuration changed by the second restart")
	}
}

// TestRollbackTo: a Set of /system/config/rollback-to restores the
// configuration after that commit exactly, as a new commit; past the
// log's retention it fails naming the commit.
func TestRollbackTo(t *testing.T) {
	ts := startWith(t, daemon.Config{Retention: 4})
	var after []string // after[i]: the configuration after commit i
	after = append(after, ts.configBytes(t))
	ts.setRoot(t, scenario(t, "any-to-any"))
	after = append(after, ts.configBytes(t))
	for _, set := range []*gpb.SetRequest{
		{Update: []*gpb.Update{upd(t, descPath, `"one"`)}},
		{Update: []*gpb.Update{upd(t, descPath, `"two"`)}},
		{Delete: []*gpb.Path{path(t, descPath)}},
		{Update: []*gpb.Update{upd(t, descPath, `"back"`)}},
		{Update: []*gpb.Update{upd(t, "/hosts/host[name=host-a]", `{"description":"moved"}`)}},
	} {
		ts.mustSet(t, set)
		after = append(after, ts.configBytes(t))
	}
	// Commits 1..6; the log keeps 3..6.
	rollbackTo := func(id int) error {
		_, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/system/config/rollback-to", fmt.Sprintf("%q", fmt.Sprint(id)))}})
		return err
	}
	if err := rollbackTo(3); err != nil {
		t.Fatal(err)
	}
	if got := ts.configBytes(t); got != after[3] {
		t.Fatalf("rollback-to 3:\n got  %s\n want %s", got, after[3])
	}
	if err := rollbackTo(6); err != nil { // the commits since include a rollback
		t.Fatal(err)
	}
	if got := ts.configBytes(t); got != after[6] {
		t.Fatalf("rollback-to 6:\n got  %s\n want %s", got, after[6])
	}
	wantCode(t, rollbackTo(1), codes.FailedPrecondition, "commit 1 can no longer be restored")
	wantCode(t, rollbackTo(99), codes.InvalidArgument, "commit 99 does not exist")
	_, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/system/config/rollback-to", `"5"`), upd(t, descPath, `"x"`)}})
	wantCode(t, err, codes.InvalidArgument, "must be the only operation")
	_, err = ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/system/config", `{"rollback-to":"5"}`)}})
	wantCode(t, err, codes.InvalidArgument, "is a request, not configuration")
	_, err = ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{{Path: &gpb.Path{}, Val: jsonIETF(`{"netready-system:system":{"config":{"rollback-to":"5"}}}`)}}})
	wantCode(t, err, codes.InvalidArgument, "is a request, not configuration")
	lines := ts.commits(t)
	if k := kinds(lines); k["rollback-to"] != 2 {
		t.Fatalf("commit log %v, want two rollback-to commits", lines)
	}
}

// TestRealizeCommitConfirmedRollback (root, lab): a commit-confirmed that
// takes a binding down is realized at once, and the timer's rollback, and
// then a cancel, are realized too: every VRF's links and kernel routes on
// host-a (linux-vforwarder) are as before the commit, and host-b's
// binding (ebpf-vforwarder) is up and in sync again. (Traffic is not checked
// after it: on main, a binding taken down and brought up again by plain
// Sets does not carry traffic again either; a southbound matter.)
func TestRealizeCommitConfirmedRollback(t *testing.T) {
	r := startRealized(t, nil)
	r.setRoot(t, r.labScenario(t, "any-to-any"))
	g1 := r.guest("host-a", "blue/blue/g1", "10.1.1.5/24")
	r.guest("host-b", "blue/blue/g3", "10.1.1.6/24")
	reach(t, g1, "10.1.1.6")
	before := r.kernelState(t)
	config := r.configBytes(t)

	const (
		g3       = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/bindings/binding[interface=g3]"
		binding  = g3 + "/admin-state"
		g3Status = g3 + "/status/oper-status"
		g3Sync   = g3 + "/status/sync-state"
	)
	try := func(id string, window time.Duration, undo func()) {
		t.Helper()
		_, err := r.client.Set(ctx(t), &gpb.SetRequest{
			Update:    []*gpb.Update{upd(t, binding, `"down"`)},
			Extension: commitExt(id, request(window)),
		})
		if err != nil {
			t.Fatal(err)
		}
		if r.kernelState(t) == before {
			t.Fatalf("%s: the commit changed nothing in the kernel", id)
		}
		if got := r.leaf(t, g3Status); got != "down" {
			t.Fatalf("%s: g3 oper-status %v after the commit, want down", id, got)
		}
		noReach(t, g1, "10.1.1.6")
		undo()
		r.waitConfig(t, config, 10*time.Second)
		if after := r.kernelState(t); after != before {
			t.Fatalf("%s: kernel state after the rollback:\n%s\nwant\n%s", id, after, before)
		}
		for p, want := range map[string]any{g3Status: "up", g3Sync: "in-sync", "/backends/backend[name=vendor-b]/status/sync-state": "in-sync"} {
			if got := r.leaf(t, p); got != want {
				t.Errorf("%s: %s = %v after the rollback, want %v", id, p, got, want)
			}
		}
	}
	try("timer", time.Second, func() {})
	try("cancel", time.Minute, func() {
		if err := r.step(t, "cancel", &gnmi_ext.CommitCancel{}); err != nil {
			t.Fatal(err)
		}
	})
}

// kernelState is what linux-vforwarder holds on host-a: every VRF
// namespace's links (name and kind: a recreated veth gets a new index, peer
// index and MAC, which no configuration names) and routes. (host-b is on
// ebpf-vforwarder, whose tables tests judge by status and packets.)
func (r *realized) kernelState(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, host := range []string{"host-a"} {
		for _, ns := range r.vrfNamespaces(t, host) {
			out, err := r.lab.IP(ns, "-d", "-o", "link", "show")
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s links:\n", strings.TrimPrefix(ns, r.lab.Prefix()))
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				fmt.Fprintf(&b, "  %s\n", linkShape(line))
			}
		}
		b.WriteString(r.vrfRoutes(t, host))
	}
	return b.String()
}

// linkShape keeps a link's name and kind from `ip -d -o link show`.
func linkShape(line string) string {
	f := strings.Fields(line)
	if len(f) < 2 {
		return line
	}
	kind := ""
	for _, k := range []string{"veth", "vxlan", "bridge"} {
		if strings.Contains(line, " "+k+" ") {
			kind = k
		}
	}
	name := strings.TrimSuffix(f[1], ":")
	if at := strings.Index(name, "@if"); at >= 0 {
		name = name[:at] // the peer's index changes with a recreated veth
	}
	return name + " " + kind
}
