package realize_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/desired"
	"github.com/netready/netready/southbound/realize"
	"github.com/netready/netready/southbound/routing"
	netreadyyang "github.com/netready/netready/yang"
)

// Every test here ends with no goroutine left: a stuck driver call the
// engine abandoned must finish once the backend lets it go, and Close
// waits for background reconciliations. (glog, linked in by gnmi, runs
// a flush daemon of its own.)
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/golang/glog.(*fileSink).flushDaemon"))
}

// rig is an engine over a fakeNet, started on a scenario and reconciled,
// with what routing says the backends must hold for the committed tree.
type rig struct {
	t    testing.TB
	sch  *schema.Schema
	net  *fakeNet
	e    *realize.Engine
	root *tree.Node // committed
	res  routing.Result
	asg  routing.Assignments
}

const (
	vendorA = "vendor-a" // serves host-a in the scenarios
	vendorB = "vendor-b" // serves host-b
)

func newRig(t testing.TB, scenario string, extra ...string) *rig {
	t.Helper()
	return newRigWith(t, realize.Config{}, nil, scenario, extra...)
}

// newRigState is newRig with an engine started on stored state.
func newRigState(t testing.TB, scenario string, state map[string][]byte, extra ...string) *rig {
	t.Helper()
	return newRigWith(t, realize.Config{}, state, scenario, extra...)
}

// newRigWith is newRig with cfg (its registry and logger filled in) and
// the engine started on stored state.
func newRigWith(t testing.TB, cfg realize.Config, state map[string][]byte, scenario string, extra ...string) *rig {
	t.Helper()
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "scenarios", scenario+".json"))
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, sch: sch, net: newFakeNet()}
	root := merge(t, tree.NewRoot(sch), append([]string{string(b)}, extra...)...)
	cfg.Registry, cfg.Logger = r.net.registry(), slog.New(slog.NewTextHandler(io.Discard, nil))
	r.e = realize.New(sch, cfg)
	t.Cleanup(r.e.Close)
	if err := r.e.Start(context.Background(), root, state); err != nil {
		t.Fatal(err)
	}
	if _, err := r.e.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-r.e.Updates() // the reconciliation's status
	r.root = root
	r.res, r.asg = routing.Compute(model(t, root), routing.Assignments{})
	return r
}

// merge merges JSON_IETF root documents into root.
func merge(t testing.TB, root *tree.Node, docs ...string) *tree.Node {
	t.Helper()
	txn := tree.Begin(root)
	for _, d := range docs {
		p, err := tree.DecodeRootJSON(root.Schema(), []byte(d), true)
		if err != nil {
			t.Fatal(err)
		}
		if err := txn.Merge(nil, p); err != nil {
			t.Fatal(err)
		}
	}
	return txn.Root()
}

func model(t testing.TB, root *tree.Node) routing.Model {
	t.Helper()
	m, err := desired.Model(root)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// next returns the committed tree with docs merged, and what routing says
// the backends must hold for it.
func (r *rig) next(docs ...string) (*tree.Node, routing.Result, routing.Assignments) {
	n := merge(r.t, r.root, docs...)
	res, asg := routing.Compute(model(r.t, n), r.asg)
	return n, res, asg
}

func (r *rig) prepare(n *tree.Node) (realizer.Prepared, error) {
	return r.e.Prepare(context.Background(), changeset.Compute(r.root, n))
}

// commit prepares and commits n, which must succeed.
func (r *rig) commit(n *tree.Node) {
	r.t.Helper()
	p, err := r.prepare(n)
	if err != nil {
		r.t.Fatal(err)
	}
	r.committed(p, n)
}

// committed commits a prepared n.
func (r *rig) committed(p realizer.Prepared, n *tree.Node) {
	if p != nil {
		p.Commit()
	}
	r.root = n
	r.res, r.asg = routing.Compute(model(r.t, n), r.asg)
}

// holds checks that each forwarder backend holds what res says.
func (r *rig) holds(what string, res routing.Result, backends ...string) {
	r.t.Helper()
	for _, b := range backends {
		if got, want := r.net.fwdState(b), wantHosts(res, b); got != want {
			r.t.Errorf("%s: %s holds\n%s\nwant\n%s", what, b, got, want)
		}
	}
}

// failNext makes the next Apply on backend fail after partial changes.
func (r *rig) failNext(backend string, partial int) {
	r.net.inject(backend, func(f *fault) { f.failApply, f.partial = f.applies+1, partial })
}

// The transactions of the tests, on the any-to-any scenario.
const (
	// moveG3 gives G3 (on host-b) a second address: routes change on
	// both hosts.
	moveG3 = `{"netready-tenants:tenants": {"tenant": [{"name": "blue", "netready-l3vpn:vpns": {"vpn": [{"name": "blue",
		"bindings": {"binding": [{"interface": "g3", "ip-address": ["10.1.1.7"]}]}}]}}]}}`
	// hostAToB moves host-a from vendor-a to vendor-b.
	hostAToB = `{"netready-infrastructure:hosts": {"host": [{"name": "host-a", "backend": "vendor-b"}]}}`
	// reconfigureB gives vendor-b an endpoint: it needs a new driver.
	reconfigureB = `{"netready-infrastructure:backends": {"backend": [{"name": "vendor-b", "endpoint": "elsewhere"}]}}`
)

func timeoutOf(backend string, ms int) string {
	return fmt.Sprintf(`{"netready-infrastructure:backends": {"backend": [{"name": %q, "timeout": %d}]}}`, backend, ms)
}

// changeLines renders a diff as the fakes log it.
func changeLines(cs []routing.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
}

// statusMap renders a status's leaf edits by path.
func statusMap(st realizer.Status) map[string]string {
	out := map[string]string{}
	for _, e := range st {
		if !e.Delete && e.Values == nil {
			out[tree.PathString(e.Path)] = fmt.Sprint(e.Value)
		}
	}
	return out
}

func backendSync(name string) string {
	return "/backends/backend[name=" + name + "]/status/backend[name=" + name + "]/sync-state"
}

func backendMsg(name string) string {
	return "/backends/backend[name=" + name + "]/status/backend[name=" + name + "]/message"
}

// wantAborted checks err refuses the transaction with Aborted naming the
// backend.
func wantAborted(t *testing.T, err error, backend string) {
	t.Helper()
	var te *tree.Error
	if !errors.As(err, &te) || te.Kind != tree.KindAborted || te.Path != "/backends/backend[name="+backend+"]" {
		t.Fatalf("error %v, want Aborted at backend %s", err, backend)
	}
}

// update waits for the next status on the engine's Updates channel.
func update(t *testing.T, e *realize.Engine) realizer.Status {
	t.Helper()
	select {
	case st := <-e.Updates():
		return st
	case <-time.After(10 * time.Second):
		t.Fatal("no status update")
		return nil
	}
}

func TestPrepareGivesEachBackendItsDiff(t *testing.T) {
	r := newRig(t, "any-to-any")
	n, res, asg := r.next(moveG3)
	diffs := routing.Diff(r.res, res)
	if len(diffs[vendorA]) == 0 || len(diffs[vendorB]) == 0 {
		t.Fatalf("the transaction must concern both backends: %v", diffs)
	}
	m := r.net.mark()
	p, err := r.prepare(n)
	if err != nil || p == nil {
		t.Fatalf("Prepare: %v, %v", p, err)
	}
	for _, b := range []string{vendorA, vendorB} {
		calls := r.net.since(m, b)
		if len(calls) != 1 || calls[0].op != "apply" || !slices.Equal(calls[0].changes, changeLines(diffs[b])) {
			t.Errorf("%s got %+v, want one apply of\n%q", b, calls, changeLines(diffs[b]))
		}
	}
	r.holds("after Prepare", res, vendorA, vendorB)

	st := statusMap(p.Status())
	for _, path := range []string{
		backendSync(vendorA), backendSync(vendorB),
		"/tenants/tenant[name=blue]/vpns/vpn[name=blue]/bindings/binding[interface=g3]/status/backend[name=vendor-b]/sync-state",
	} {
		if st[path] != "in-sync" {
			t.Errorf("status %s = %q, want in-sync", path, st[path])
		}
	}
	if at := st["/tenants/tenant[name=blue]/vpns/vpn[name=blue]/bindings/binding[interface=g3]/status/backend[name=vendor-b]/last-attempt"]; at == "" {
		t.Errorf("binding g3 has no last-attempt in %v", st)
	}

	// Moving a binding keeps every RD and label: nothing new to store.
	if encode(asg) != encode(r.asg) || p.State() != nil {
		t.Errorf("unchanged assignments stored again: %q", p.State())
	}
	p.Commit()
}

// TestPrepareStoresChangedAssignments: a transaction hands the store only
// the assignments it changed, one key each; a store holding the legacy
// single document gets every assignment as keys once, and the document
// deleted. What is stored always reads back as the engine's assignments.
func TestPrepareStoresChangedAssignments(t *testing.T) {
	_, asg0 := routing.Compute(model(t, newRig(t, "any-to-any").root), routing.Assignments{})
	legacy, err := json.Marshal(asg0)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string][]byte{"realize/assignments": legacy}
	r := newRigState(t, "any-to-any", maps.Clone(stored))
	flip := func(state string) (map[string][]byte, routing.Assignments) {
		t.Helper()
		n, _, asg := r.next(`{"netready-tenants:tenants": {"tenant": [{"name": "blue", "netready-l3vpn:vpns": {"vpn": [{"name": "blue",
		"bindings": {"binding": [{"interface": "g3", "admin-state": "` + state + `"}]}}]}}]}}`)
		p, err := r.prepare(n)
		if err != nil || p == nil {
			t.Fatalf("Prepare: %v, %v", p, err)
		}
		p.Commit()
		r.root, r.asg = n, asg
		for k, v := range p.State() {
			if v == nil {
				delete(stored, k)
			} else {
				stored[k] = v
			}
		}
		got, err := realize.DecodeAssignments(stored)
		if err != nil {
			t.Fatal(err)
		}
		if encode(got) != encode(asg) {
			t.Fatalf("stored assignments %s, want %s", encode(got), encode(asg))
		}
		return p.State(), asg
	}
	first, asg := flip("down")
	if encode(asg) == encode(asg0) {
		t.Fatal("taking a binding down must release its label")
	}
	if _, ok := first["realize/assignments"]; !ok || first["realize/assignments"] != nil || len(first) < len(asg.Labels)+len(asg.RDs) {
		t.Fatalf("first write after a legacy store: %d keys, want the document deleted and every assignment", len(first))
	}
	second, _ := flip("up")
	if len(second) != 1 {
		t.Errorf("bringing one binding back stored %d keys (%v), want its label alone", len(second), slices.Sorted(maps.Keys(second)))
	}
}

// TestPrepareNotConcerned: a transaction realization does not read
// reaches no backend.
func TestPrepareNotConcerned(t *testing.T) {
	r := newRig(t, "any-to-any")
	m := r.net.mark()
	n, _, _ := r.next(`{"netready-infrastructure:hosts": {"host": [{"name": "host-a", "description": "other"}]}}`)
	if p, err := r.prepare(n); p != nil || err != nil {
		t.Fatalf("Prepare: %v, %v; want nothing to do", p, err)
	}
	if calls := r.net.since(m, vendorA); len(calls) != 0 {
		t.Errorf("calls %+v", calls)
	}
}

func TestPrepareAbortUndoesEveryBackend(t *testing.T) {
	for _, partial := range []int{0, 2} {
		t.Run(fmt.Sprintf("failing after %d changes", partial), func(t *testing.T) {
			r := newRig(t, "any-to-any")
			beforeA, beforeB := r.net.fwdState(vendorA), r.net.fwdState(vendorB)
			n, res, _ := r.next(moveG3)
			diffs := routing.Diff(r.res, res)
			if len(diffs[vendorB]) <= partial {
				t.Fatalf("vendor-b's diff is too short: %v", diffs[vendorB])
			}
			r.failNext(vendorB, partial)
			m := r.net.mark()
			p, err := r.prepare(n)
			if p != nil {
				t.Fatal("a failed Prepare returned a Prepared")
			}
			wantAborted(t, err, vendorB)
			if got := r.net.fwdState(vendorA); got != beforeA {
				t.Errorf("vendor-a after the abort:\n%s\nwant\n%s", got, beforeA)
			}
			if got := r.net.fwdState(vendorB); got != beforeB {
				t.Errorf("vendor-b after the abort:\n%s\nwant\n%s", got, beforeB)
			}
			if calls := r.net.since(m, vendorA); len(calls) != 2 || !slices.Equal(calls[1].changes, changeLines(routing.Diff(res, r.res)[vendorA])) {
				t.Errorf("vendor-a's calls %+v, want the diff then its reverse", calls)
			}
			st := statusMap(update(t, r.e))
			if st[backendSync(vendorB)] != "error" || !strings.Contains(st[backendMsg(vendorB)], "injected failure") {
				t.Errorf("status after the abort: %s = %q, %s = %q", backendSync(vendorB), st[backendSync(vendorB)], backendMsg(vendorB), st[backendMsg(vendorB)])
			}

			// The engine still diffs from the old state: the retry gives
			// each backend the same diff, and the same end state.
			m = r.net.mark()
			r.commit(n)
			for _, b := range []string{vendorA, vendorB} {
				if calls := r.net.since(m, b); len(calls) != 1 || !slices.Equal(calls[0].changes, changeLines(diffs[b])) {
					t.Errorf("retry: %s got %+v, want\n%q", b, calls, changeLines(diffs[b]))
				}
			}
			r.holds("after the retry", res, vendorA, vendorB)
			fresh := newRig(t, "any-to-any", moveG3)
			for _, b := range []string{vendorA, vendorB} {
				if got, want := r.net.fwdState(b), fresh.net.fwdState(b); got != want {
					t.Errorf("%s after the retry:\n%s\na fresh engine:\n%s", b, got, want)
				}
			}
		})
	}
}

// TestTimeoutAbortsAndReconcilesLater: a backend that timed out is
// undone elsewhere and, once it answers again, reconciled by the probe
// that ends its rest, with no transaction sent its way (a short rest
// here; TestTimedOutBackendRests is about the rest).
func TestTimeoutAbortsAndReconcilesLater(t *testing.T) {
	r := newRigWith(t, realize.Config{RestAfterTimeout: time.Millisecond}, nil, "any-to-any")
	r.commit(merge(t, r.root, timeoutOf(vendorB, 50)))
	beforeA := r.net.fwdState(vendorA)
	n, res, _ := r.next(moveG3)
	gate := make(chan struct{})
	r.net.inject(vendorB, func(f *fault) { f.gate = gate })
	_, err := r.prepare(n)
	wantAborted(t, err, vendorB)
	if !strings.Contains(err.Error(), "timed out") {
		t.Errorf("error %v does not say it timed out", err)
	}
	if got := r.net.fwdState(vendorA); got != beforeA {
		t.Errorf("vendor-a after the abort:\n%s\nwant\n%s", got, beforeA)
	}
	// The abandoned call completes late: vendor-b now holds what the
	// engine does not think it holds, until the probe reconciles it.
	m := r.net.mark()
	r.net.inject(vendorB, func(f *fault) { f.gate = nil })
	close(gate)
	eventually(t, "the probe to reconcile vendor-b", func() bool {
		calls := r.net.since(m, vendorB)
		return len(calls) > 0 && calls[len(calls)-1].op == "reconcile" && calls[len(calls)-1].end != 0 && calls[len(calls)-1].err == nil
	})
	r.holds("after the probe", r.res, vendorA, vendorB)
	r.commit(n)
	r.holds("after the next transaction", res, vendorA, vendorB)
}

// TestTimedOutBackendRests: after a call to a backend timed out, the
// transactions that need it are refused at once (Unavailable, naming
// the backend) for a rest, so a hung backend does not hold the writer,
// and every Set queued behind it, for its timeout again and again. When
// the rest ends a probe calls it in the background; still hung, the rest
// doubles. An operator's reconcile-request calls it at once, and its
// success ends the rest.
func TestTimedOutBackendRests(t *testing.T) {
	const rest = 300 * time.Millisecond
	r := newRigWith(t, realize.Config{RestAfterTimeout: rest}, nil, "any-to-any")
	r.commit(merge(t, r.root, timeoutOf(vendorB, 50)))
	gate := make(chan struct{})
	r.net.inject(vendorB, func(f *fault) { f.gate = gate })
	n, _, _ := r.next(moveG3)
	_, err := r.prepare(n)
	wantAborted(t, err, vendorB)
	m := r.net.mark()
	if left := refusedFor(t, r, n); left < rest/2 {
		t.Fatalf("rest left %v, want about %v", left, rest)
	}
	// The probe at the rest's end finds the backend still hung: twice
	// as long now.
	eventually(t, "a rest twice as long", func() bool { return refusedFor(t, r, n) > rest+rest/2 })
	if calls := r.net.since(m, vendorB); len(calls) != 0 {
		t.Fatalf("a hung backend's driver was called again while its first call hung: %+v", calls)
	}

	// It answers again, and the operator asks: it is called at once,
	// and its success ends the rest.
	r.net.inject(vendorB, func(f *fault) { f.gate = nil })
	close(gate)
	eventually(t, "the abandoned call to end", func() bool {
		calls := r.net.callsOf(vendorB)
		return calls[len(calls)-1].end != 0
	})
	n, res, _ := r.next(moveG3, `{"netready-infrastructure:backends": {"backend": [{"name": "vendor-b", "reconcile-request": "1"}]}}`)
	r.commit(n)
	r.holds("after the reconcile-request", res, vendorA, vendorB)
	m = r.net.mark()
	n, res, _ = r.next(hostAToB)
	r.commit(n)
	if calls := r.net.since(m, vendorB); len(calls) == 0 {
		t.Fatal("the transaction after the reconciliation did not call vendor-b")
	}
	r.holds("after the rest ended", res, vendorA, vendorB)
}

// refusedFor prepares n, which must be refused at once because vendor-b
// rests, without calling it, and returns the rest left.
func refusedFor(t *testing.T, r *rig, n *tree.Node) time.Duration {
	t.Helper()
	m := r.net.mark()
	start := time.Now()
	_, err := r.prepare(n)
	var te *tree.Error
	if !errors.As(err, &te) || te.Kind != tree.KindUnavailable || te.Path != "/backends/backend[name="+vendorB+"]" || !strings.Contains(err.Error(), "reconcile-request") {
		t.Fatalf("error %v, want Unavailable at backend %s", err, vendorB)
	}
	if calls := r.net.since(m, vendorB); len(calls) != 0 {
		t.Fatalf("a resting backend was called: %+v", calls)
	}
	if took := time.Since(start); took > 50*time.Millisecond {
		t.Errorf("the refusal took %v, want it at once", took)
	}
	msg := err.Error()
	left, err := time.ParseDuration(msg[strings.Index(msg, "for ")+4 : strings.Index(msg, ": retry")])
	if err != nil {
		t.Fatalf("no rest left in %q: %v", msg, err)
	}
	return left
}

func TestHostMoveLosingBackendFirst(t *testing.T) {
	t.Run("apply", func(t *testing.T) {
		r := newRig(t, "any-to-any")
		n, res, _ := r.next(hostAToB)
		m := r.net.mark()
		r.commit(n)
		a, b := r.net.since(m, vendorA), r.net.since(m, vendorB)
		if len(a) != 1 || len(b) != 1 || a[0].end > b[0].start {
			t.Errorf("vendor-a %+v must end before vendor-b %+v starts", a, b)
		}
		r.holds("after the move", res, vendorA, vendorB)
		if strings.Contains(r.net.fwdState(vendorA), "host-a") {
			t.Errorf("vendor-a still holds host-a: %s", r.net.fwdState(vendorA))
		}
	})
	t.Run("undo", func(t *testing.T) {
		r := newRig(t, "any-to-any")
		beforeA, beforeB := r.net.fwdState(vendorA), r.net.fwdState(vendorB)
		n, _, _ := r.next(hostAToB)
		r.failNext(vendorB, 3)
		m := r.net.mark()
		_, err := r.prepare(n)
		wantAborted(t, err, vendorB)
		a, b := r.net.since(m, vendorA), r.net.since(m, vendorB)
		if len(a) != 2 || len(b) != 2 {
			t.Fatalf("calls vendor-a %+v, vendor-b %+v; want a change and its undo each", a, b)
		}
		if a[0].end > b[0].start || b[1].end > a[1].start {
			t.Errorf("order: vendor-a %+v, vendor-b %+v; want a, b, then b's undo before a's", a, b)
		}
		if r.net.fwdState(vendorA) != beforeA || r.net.fwdState(vendorB) != beforeB {
			t.Errorf("after the undo: vendor-a %s, vendor-b %s", r.net.fwdState(vendorA), r.net.fwdState(vendorB))
		}
	})
}

func TestAbortAfterPrepare(t *testing.T) {
	r := newRig(t, "any-to-any")
	beforeA, beforeB := r.net.fwdState(vendorA), r.net.fwdState(vendorB)
	n, res, _ := r.next(moveG3, reconfigureB)
	diffs := routing.Diff(r.res, res)
	m := r.net.mark()
	p, err := r.prepare(n)
	if err != nil {
		t.Fatal(err)
	}
	drivers := r.net.driversOf(vendorB)
	if len(drivers) != 2 {
		t.Fatalf("vendor-b has %d drivers, want the old and the reconfigured", len(drivers))
	}
	old, opened := drivers[0], drivers[1]
	r.holds("after Prepare", res, vendorA, vendorB)
	p.Abort()
	if !opened.isClosed() || old.isClosed() {
		t.Errorf("after Abort: the opened driver closed %v (want true), the retired one %v (want false)", opened.isClosed(), old.isClosed())
	}
	st := update(t, r.e) // the background reconciliation is recorded
	if st := statusMap(st); st[backendSync(vendorA)] != "in-sync" || st[backendSync(vendorB)] != "in-sync" {
		t.Errorf("status after the background reconciliation: %v", st)
	}
	for _, b := range []string{vendorA, vendorB} {
		var reconciled bool
		for _, c := range r.net.since(m, b) {
			reconciled = reconciled || c.op == "reconcile" && c.end != 0
		}
		if !reconciled {
			t.Errorf("%s was not reconciled after the Abort: %+v", b, r.net.since(m, b))
		}
	}
	if r.net.fwdState(vendorA) != beforeA || r.net.fwdState(vendorB) != beforeB {
		t.Errorf("after the Abort: vendor-a\n%s\nvendor-b\n%s\nwant\n%s\n%s", r.net.fwdState(vendorA), r.net.fwdState(vendorB), beforeA, beforeB)
	}

	// The engine is back where it was: the same transaction (without the
	// reconfiguration) gets the same diff, through the old driver.
	n, res2, _ := r.next(moveG3)
	m = r.net.mark()
	r.commit(n)
	if calls := r.net.since(m, vendorA); len(calls) != 1 || !slices.Equal(calls[0].changes, changeLines(diffs[vendorA])) {
		t.Errorf("after the Abort, vendor-a got %+v, want\n%q", calls, changeLines(diffs[vendorA]))
	}
	if len(r.net.driversOf(vendorB)) != 2 || old.isClosed() {
		t.Errorf("vendor-b did not go on with its old driver")
	}
	r.holds("after the next commit", res2, vendorA, vendorB)
}

// TestAbortAfterHostMove: the backend that took a host over in the lost
// transaction must give it up again when it is reconciled (a
// reconciliation by the old target alone does not name the host: the
// fake, like linuxfwd, reconciles only the hosts it is given).
func TestAbortAfterHostMove(t *testing.T) {
	r := newRig(t, "any-to-any")
	beforeA, beforeB := r.net.fwdState(vendorA), r.net.fwdState(vendorB)
	n, _, _ := r.next(hostAToB)
	p, err := r.prepare(n)
	if err != nil {
		t.Fatal(err)
	}
	p.Abort()
	update(t, r.e)
	if r.net.fwdState(vendorA) != beforeA || r.net.fwdState(vendorB) != beforeB {
		t.Errorf("after the Abort: vendor-a\n%s\nvendor-b\n%s\nwant\n%s\n%s", r.net.fwdState(vendorA), r.net.fwdState(vendorB), beforeA, beforeB)
	}
}

// TestTimeoutAfterHostMove: a backend that took a host over in an
// abandoned call gives it up when it is next reconciled.
func TestTimeoutAfterHostMove(t *testing.T) {
	r := newRigWith(t, realize.Config{RestAfterTimeout: time.Millisecond}, nil, "any-to-any")
	r.commit(merge(t, r.root, timeoutOf(vendorB, 50)))
	beforeA := r.net.fwdState(vendorA)
	n, _, _ := r.next(hostAToB)
	gate := make(chan struct{})
	r.net.inject(vendorB, func(f *fault) { f.gate = gate })
	_, err := r.prepare(n)
	wantAborted(t, err, vendorB)
	if got := r.net.fwdState(vendorA); got != beforeA {
		t.Errorf("vendor-a after the undo:\n%s\nwant\n%s", got, beforeA)
	}
	r.net.inject(vendorB, func(f *fault) { f.gate = nil })
	close(gate)
	eventually(t, "the abandoned call to end", func() bool {
		calls := r.net.callsOf(vendorB)
		return calls[len(calls)-1].end != 0
	})
	n, res, _ := r.next(moveG3)
	r.commit(n)
	r.holds("after the next transaction", res, vendorA, vendorB)
}

func TestCommitClosesRetiredDrivers(t *testing.T) {
	r := newRig(t, "any-to-any")
	n, res, _ := r.next(reconfigureB)
	m := r.net.mark()
	p, err := r.prepare(n)
	if err != nil {
		t.Fatal(err)
	}
	drivers := r.net.driversOf(vendorB)
	if len(drivers) != 2 || drivers[0].isClosed() || drivers[1].isClosed() {
		t.Fatalf("after Prepare: %d drivers; the retired one must stay open until Commit", len(drivers))
	}
	if calls := r.net.since(m, vendorB); len(calls) != 1 || calls[0].op != "reconcile" {
		t.Errorf("a reconfigured backend is reconciled: %+v", calls)
	}
	p.Commit()
	if !drivers[0].isClosed() || drivers[1].isClosed() {
		t.Errorf("after Commit: retired closed %v (want true), new closed %v (want false)", drivers[0].isClosed(), drivers[1].isClosed())
	}
	r.holds("after the reconfiguration", res, vendorB)
}

// TestReconcileRacingPrepare: whichever of a reconciliation and a
// transaction reaches the backend first, it ends with the transaction's
// target.
func TestReconcileRacingPrepare(t *testing.T) {
	for _, first := range []string{"prepare", "reconcile"} {
		t.Run(first+" first", func(t *testing.T) {
			r := newRig(t, "any-to-any")
			n, res, _ := r.next(moveG3)
			gate, entered := make(chan struct{}), make(chan string, 1)
			r.net.inject(vendorB, func(f *fault) { f.gate, f.entered = gate, entered })
			done := make(chan error, 2)
			start := func(what string) {
				go func() {
					if what == "prepare" {
						p, err := r.prepare(n)
						if err == nil {
							p.Commit()
						}
						done <- err
						return
					}
					_, err := r.e.Reconcile(context.Background(), vendorB)
					done <- err
				}()
			}
			second := map[string]string{"prepare": "reconcile", "reconcile": "prepare"}[first]
			start(first)
			<-entered // the first holds vendor-b's driver
			start(second)
			// Let the second reach the engine: a reconciliation waits for
			// the transaction's lock; the transaction's job waits for the
			// driver (with the reconciliation's, once vendor-a's is done).
			// Neither reaches vendor-b before the first lets go (the fake
			// would fail it).
			eventually(t, "the second to wait", func() bool {
				if second == "reconcile" {
					return inStacks("realize.(*Engine).reconcileJobs(") == 1
				}
				return inStacks("realize.runJob(") == 2
			})
			r.net.inject(vendorB, func(f *fault) { f.gate = nil })
			close(gate)
			for range 2 {
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
			r.holds("after the race", res, vendorB)
		})
	}
}

// TestReconcileDuringAbortedPrepare: a reconciliation that reads the
// target of a transaction in progress, which is then aborted, must not
// leave the engine believing the backend holds the committed state.
func TestReconcileDuringAbortedPrepare(t *testing.T) {
	r := newRig(t, "any-to-any")
	ctx := context.Background()
	gateB, enteredB := make(chan struct{}), make(chan string, 1)
	r.net.inject(vendorB, func(f *fault) { f.gate, f.entered = gateB, enteredB })
	done := make(chan error, 2)
	reconcile := func() { _, err := r.e.Reconcile(ctx, vendorB); done <- err }
	go reconcile()
	<-enteredB // the first reconciliation holds vendor-b's driver
	go reconcile()
	// Once it runs its job, the second has the 10 s timeout and waits for
	// the driver; the transaction's own call to vendor-b will give up
	// after 50 ms.
	eventually(t, "the second reconciliation to wait", func() bool { return runningJobs() == 2 })
	r.commit(merge(t, r.root, timeoutOf(vendorB, 50)))

	n, res, _ := r.next(moveG3)
	gateA, enteredA := make(chan struct{}), make(chan string, 1)
	r.net.inject(vendorA, func(f *fault) { f.gate, f.entered = gateA, enteredA })
	prepared := make(chan error, 1)
	go func() { _, err := r.prepare(n); prepared <- err }()
	<-enteredA // the transaction is in progress
	// Its job on vendor-b gives up: left are the two reconciliations'
	// and vendor-a's.
	since := time.Now()
	eventually(t, "the job on vendor-b to give up", func() bool {
		return time.Since(since) > 60*time.Millisecond && runningJobs() == 3
	})
	r.net.inject(vendorB, func(f *fault) { f.gate = nil })
	close(gateB)
	eventually(t, "the second reconciliation", func() bool {
		n := 0
		for _, c := range r.net.callsOf(vendorB) {
			if c.op == "reconcile" && c.end != 0 {
				n++
			}
		}
		return n == 3 // the rig's, then the two above
	})
	if got := r.net.fwdState(vendorB); got != wantHosts(res, vendorB) {
		t.Fatalf("the second reconciliation did not read the transaction's target; vendor-b holds\n%s", got)
	}
	r.net.inject(vendorA, func(f *fault) { f.gate = nil })
	close(gateA)
	wantAborted(t, <-prepared, vendorB)
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}

	// vendor-b holds the aborted transaction's state: the engine must
	// reconcile it, not diff from the committed state.
	n, res, _ = r.next(`{"netready-tenants:tenants": {"tenant": [{"name": "red", "netready-l3vpn:vpns": {"vpn": [{"name": "red",
		"bindings": {"binding": [{"interface": "g6", "ip-address": ["10.1.1.8"]}]}}]}}]}}`)
	r.commit(n)
	r.holds("after the next transaction", res, vendorA, vendorB)
}

// runningJobs counts the engine's driver jobs in progress (a job waiting
// for its driver, or for its call).
func runningJobs() int { return inStacks("realize.runJob(") }

// inStacks counts the goroutines in function fn: how a test sees that
// the engine waits where the race it sets up needs it to.
func inStacks(fn string) int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), fn)
}

const dataBackend = `{"netready-infrastructure:backends": {"backend": [{"name": "data", "driver": "fake-data",
	"option": [{"name": "paths", "value": "/sites"}]}]},
	"netready-georedundancy:sites": {"site": [{"name": "dc1", "kind": "cell"}]}}`

func TestDataBackend(t *testing.T) {
	r := newRig(t, "any-to-any", dataBackend)
	if got := r.net.dataState("data"); !strings.Contains(got, "/sites/site[name=dc1]") {
		t.Fatalf("the data backend was not reconciled at start: %s", got)
	}
	m := r.net.mark()
	r.commit(merge(t, r.root, `{"netready-georedundancy:sites": {"site": [{"name": "dc2", "kind": "cell"}]}}`))
	if calls := r.net.since(m, "data"); len(calls) != 1 || !slices.Equal(calls[0].changes, []string{"update /sites/site[name=dc2]"}) {
		t.Errorf("data backend got %+v", calls)
	}
	if calls := r.net.since(m, vendorA); len(calls) != 0 {
		t.Errorf("a forwarder got a data change: %+v", calls)
	}

	t.Run("another backend fails", func(t *testing.T) {
		before, beforeA := r.net.dataState("data"), r.net.fwdState(vendorA)
		n, _, _ := r.next(moveG3, `{"netready-georedundancy:sites": {"site": [{"name": "dc3", "kind": "cell"}]}}`)
		r.failNext(vendorB, 0)
		_, err := r.prepare(n)
		wantAborted(t, err, vendorB)
		if got := r.net.dataState("data"); got != before {
			t.Errorf("data backend after the abort:\n%s\nwant\n%s", got, before)
		}
		if got := r.net.fwdState(vendorA); got != beforeA {
			t.Errorf("vendor-a after the abort:\n%s\nwant\n%s", got, beforeA)
		}
	})
	t.Run("the data backend fails half-way", func(t *testing.T) {
		before, beforeA := r.net.dataState("data"), r.net.fwdState(vendorA)
		n, _, _ := r.next(moveG3, `{"netready-georedundancy:sites": {"site": [{"name": "dc3", "kind": "cell"}, {"name": "dc4", "kind": "cell"}]}}`)
		r.failNext("data", 1)
		_, err := r.prepare(n)
		wantAborted(t, err, "data")
		if got := r.net.dataState("data"); got != before {
			t.Errorf("data backend after the abort:\n%s\nwant\n%s", got, before)
		}
		if got := r.net.fwdState(vendorA); got != beforeA {
			t.Errorf("vendor-a after the abort:\n%s\nwant\n%s", got, beforeA)
		}
	})
}

func TestReconcileFailureUpdatesStatus(t *testing.T) {
	r := newRig(t, "any-to-any")
	r.net.inject(vendorB, func(f *fault) { f.failReconcile = errors.New("fake: backend unreachable") })
	if _, err := r.e.Reconcile(context.Background()); err == nil || !strings.Contains(err.Error(), "vendor-b") {
		t.Fatalf("Reconcile: %v, want vendor-b's error", err)
	}
	st := statusMap(update(t, r.e))
	if st[backendSync(vendorB)] != "error" || !strings.Contains(st[backendMsg(vendorB)], "backend unreachable") || st[backendSync(vendorA)] != "in-sync" {
		t.Errorf("status after a failed reconciliation: %v", st)
	}
	// vendor-b is reconciled again by the next transaction for it.
	r.net.inject(vendorB, func(f *fault) { f.failReconcile = nil })
	n, res, _ := r.next(moveG3)
	m := r.net.mark()
	r.commit(n)
	if calls := r.net.since(m, vendorB); len(calls) != 1 || calls[0].op != "reconcile" {
		t.Errorf("vendor-b's calls: %+v, want a reconciliation", calls)
	}
	r.holds("after the next transaction", res, vendorA, vendorB)
}

// TestUndoOfReconciledBackend: a backend the transaction reconciled
// (reconcile-request) is reconciled back to the old state when another
// backend fails.
func TestUndoOfReconciledBackend(t *testing.T) {
	r := newRig(t, "any-to-any")
	beforeA, beforeB := r.net.fwdState(vendorA), r.net.fwdState(vendorB)
	n, _, _ := r.next(moveG3, `{"netready-infrastructure:backends": {"backend": [{"name": "vendor-b", "reconcile-request": "1"}]}}`)
	r.failNext(vendorA, 0)
	m := r.net.mark()
	_, err := r.prepare(n)
	wantAborted(t, err, vendorA)
	if calls := r.net.since(m, vendorB); len(calls) != 2 || calls[0].op != "reconcile" || calls[1].op != "reconcile" {
		t.Errorf("vendor-b's calls %+v, want a reconciliation and one back", calls)
	}
	if r.net.fwdState(vendorA) != beforeA || r.net.fwdState(vendorB) != beforeB {
		t.Errorf("after the undo: vendor-a\n%s\nvendor-b\n%s", r.net.fwdState(vendorA), r.net.fwdState(vendorB))
	}
}

// TestFailedUndoReconcilesLater: a backend whose undo failed is
// reconciled by the next transaction that has work for it.
func TestFailedUndoReconcilesLater(t *testing.T) {
	r := newRig(t, "any-to-any")
	n, res, _ := r.next(moveG3)
	r.failNext(vendorA, 0)
	r.net.inject(vendorB, func(f *fault) { f.failApply, f.partial = f.applies+2, 0 }) // the undo
	_, err := r.prepare(n)
	wantAborted(t, err, vendorA)
	if got := r.net.fwdState(vendorB); got != wantHosts(res, vendorB) {
		t.Fatalf("vendor-b's undo was not the call that failed: it holds\n%s", got)
	}
	m := r.net.mark()
	r.commit(n)
	if calls := r.net.since(m, vendorB); len(calls) != 1 || calls[0].op != "reconcile" {
		t.Errorf("vendor-b's calls %+v, want a reconciliation", calls)
	}
	r.holds("after the next transaction", res, vendorA, vendorB)
}

func TestAdminDownBackend(t *testing.T) {
	r := newRig(t, "any-to-any")
	beforeB := r.net.fwdState(vendorB)
	down := `{"netready-infrastructure:backends": {"backend": [{"name": "vendor-b", "admin-state": "down"}]}}`
	n, res, _ := r.next(moveG3, down)
	m := r.net.mark()
	p, err := r.prepare(n)
	if err != nil {
		t.Fatal(err)
	}
	if calls := r.net.since(m, vendorB); len(calls) != 0 {
		t.Errorf("an admin-down backend got %+v", calls)
	}
	if st := statusMap(p.Status()); st[backendSync(vendorB)] != "pending" || !strings.Contains(st[backendMsg(vendorB)], "admin-state is down") {
		t.Errorf("admin-down status: %q, %q", st[backendSync(vendorB)], st[backendMsg(vendorB)])
	}
	old := r.net.driversOf(vendorB)[0]
	r.committed(p, n)
	if !old.isClosed() || r.net.fwdState(vendorB) != beforeB {
		t.Errorf("admin down: driver closed %v; vendor-b changed: %s", old.isClosed(), r.net.fwdState(vendorB))
	}
	r.holds("vendor-a, with vendor-b down", res, vendorA)

	// Back up: a new driver, and vendor-b is reconciled to what it must
	// hold now.
	m = r.net.mark()
	r.commit(merge(t, r.root, `{"netready-infrastructure:backends": {"backend": [{"name": "vendor-b", "admin-state": "up"}]}}`))
	if calls := r.net.since(m, vendorB); len(calls) != 1 || calls[0].op != "reconcile" || len(r.net.driversOf(vendorB)) != 2 {
		t.Errorf("back up: vendor-b's calls %+v, drivers %d", calls, len(r.net.driversOf(vendorB)))
	}
	r.holds("back up", res, vendorA, vendorB)
}

// TestUnopenableBackend: a backend whose driver cannot be opened refuses
// the transaction, naming it; no backend is touched.
func TestUnopenableBackend(t *testing.T) {
	r := newRig(t, "any-to-any")
	before := r.net.fwdState(vendorA)
	n, _, _ := r.next(moveG3, `{"netready-infrastructure:backends": {"backend": [{"name": "vendor-c", "driver": "nope"}]}}`)
	m := r.net.mark()
	_, err := r.prepare(n)
	var te *tree.Error
	if !errors.As(err, &te) || te.Kind != tree.KindConflict || te.Path != "/backends/backend[name=vendor-c]" {
		t.Fatalf("error %v, want FailedPrecondition at vendor-c", err)
	}
	if calls := r.net.since(m, vendorA); len(calls) != 0 || r.net.fwdState(vendorA) != before {
		t.Errorf("vendor-a was touched: %+v", calls)
	}
}

// TestRemovedBackend: a backend removed with its host is given the
// deletes of the host through its old driver, closed once committed.
func TestRemovedBackend(t *testing.T) {
	r := newRig(t, "any-to-any")
	sch := r.root.Schema()
	txn := tree.Begin(r.root)
	backends, hosts := sch.Child("backends"), sch.Child("hosts")
	txn.Delete(tree.Path{{Schema: backends}, {Schema: backends.Child("backend"), Keys: []value.Value{vendorB}}})
	txn.Delete(tree.Path{{Schema: hosts}, {Schema: hosts.Child("host"), Keys: []value.Value{"host-b"}}})
	n := txn.Root()
	m := r.net.mark()
	old := r.net.driversOf(vendorB)[0]
	p, err := r.prepare(n)
	if err != nil {
		t.Fatal(err)
	}
	if calls := r.net.since(m, vendorB); len(calls) != 1 || calls[0].op != "apply" || old.isClosed() {
		t.Errorf("the removed backend got %+v (driver closed %v)", calls, old.isClosed())
	}
	if got := r.net.fwdState(vendorB); got != "{}" {
		t.Errorf("the removed backend still holds %s", got)
	}
	p.Commit()
	if !old.isClosed() {
		t.Error("the removed backend's driver was not closed by Commit")
	}
}

// applyStatus writes st into root, as the datastore's writer does.
func applyStatus(root *tree.Node, st realizer.Status) *tree.Node {
	txn := tree.Begin(root)
	st.Apply(txn)
	return txn.Root()
}

// operAndSync lists every object's oper-status and sync-state in root
// (last-attempt times differ between a transaction and a reconciliation).
func operAndSync(root *tree.Node) map[string]string {
	out := map[string]string{}
	changeset.Compute(tree.NewRoot(&schema.Schema{Root: root.Schema()}), root).Walk(func(chain []*tree.Node, _, n *tree.Node) bool {
		if n != nil && !n.Schema().IsDir() {
			if p := tree.ChainString(chain); strings.HasSuffix(p, "/oper-status") || strings.HasSuffix(p, "/sync-state") {
				out[p] = fmt.Sprint(n.Value())
			}
		}
		return true
	})
	return out
}

// fullStatus is the oper-status and sync-state of every object of root as
// a fresh engine writes them after reconciling fakes to root.
func fullStatus(t *testing.T, sch *schema.Schema, root *tree.Node) map[string]string {
	t.Helper()
	net := newFakeNet()
	e := realize.New(sch, realize.Config{Registry: net.registry(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer e.Close()
	if err := e.Start(context.Background(), root, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	return operAndSync(applyStatus(root, <-e.Updates()))
}

// TestStatusPerObjectMatchesFull: the status a transaction writes only for
// the objects it touched leaves the tree as a full status write would (a
// fresh engine's), for a binding taken down, brought back and readdressed.
func TestStatusPerObjectMatchesFull(t *testing.T) {
	r := newRig(t, "any-to-any")
	g3 := func(leaf string) string {
		return `{"netready-tenants:tenants": {"tenant": [{"name": "blue", "netready-l3vpn:vpns": {"vpn": [{"name": "blue", "bindings": {"binding": [{"interface": "g3", ` + leaf + `}]}}]}}]}}`
	}
	r.statusMatchesFull(t, []string{g3(`"admin-state": "down"`), g3(`"admin-state": "up"`), g3(`"admin-state": "down"`), moveG3}, nil)
}

// statusMatchesFull reconciles, then prepares and commits each document
// merged in turn, and checks after each that the status the engine wrote
// leaves the tree as a fresh engine's full write would; check, if set,
// first looks at the full write (that it shows what the test is about).
func (r *rig) statusMatchesFull(t *testing.T, docs []string, check func(step int, full map[string]string)) {
	t.Helper()
	if _, err := r.e.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	cur := applyStatus(r.root, <-r.e.Updates())
	for i, doc := range docs {
		n := merge(t, cur, doc)
		p, err := r.e.Prepare(context.Background(), changeset.Compute(cur, n))
		if err != nil || p == nil {
			t.Fatalf("step %d: Prepare: %v, %v", i, p, err)
		}
		p.Commit()
		n = applyStatus(n, p.Status())
		got, want := operAndSync(n), fullStatus(t, r.sch, n)
		if check != nil {
			check(i, want)
		}
		if len(want) == 0 || !maps.Equal(got, want) {
			t.Fatalf("step %d: per-object status\n%v\nwant (full write)\n%v", i, got, want)
		}
		cur = n
	}
}

// An engine started on stored data that needs more labels than its range
// gives (a server restarted with a narrower one) refuses to start, naming
// what would have had no label: it would realize VRFs or bindings no
// host could reach, where a Set doing the same is refused.
func TestStartRefusesStoredDataOverTheLabelRange(t *testing.T) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "scenarios", "any-to-any.json"))
	if err != nil {
		t.Fatal(err)
	}
	root := merge(t, tree.NewRoot(sch), string(b))
	net := newFakeNet()
	for _, c := range []struct {
		max     uint32
		wantErr bool
	}{{routing.FirstLabel + 1, true}, {routing.DefaultMaxLabel, false}} {
		e := realize.New(sch, realize.Config{Registry: net.registry(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Routing: routing.Options{MaxLabel: c.max}})
		err := e.Start(context.Background(), root, nil)
		e.Close()
		switch {
		case c.wantErr && (err == nil || !strings.Contains(err.Error(), "needs more labels than this server's range gives (/tenants/tenant[name=")):
			t.Errorf("labels up to %d: Start gave %v, want the refusal naming the object", c.max, err)
		case c.wantErr:
			t.Log(err)
		case !c.wantErr && err != nil:
			t.Errorf("labels up to %d: Start gave %v", c.max, err)
		}
	}
}
