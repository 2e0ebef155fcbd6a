package daemon_test

// Acceptance tests of dry-run Sets (`gnmic set --target dry-run ...`)
// over gNMI/TLS on a real bbolt file: the answer is what the Set would
// do, and the server is left exactly as it was.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmi/proto/gnmi_ext"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/server/gnmiserver"
	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/l2"
	"github.com/netready/netready/southbound/routing"
)

// dryRun sends set as a dry run and returns its result.
func (ts *testServer) dryRun(t *testing.T, set *gpb.SetRequest) (*gpb.SetResponse, *gnmiserver.DryRunResult, error) {
	t.Helper()
	set.Prefix = &gpb.Path{Target: gnmiserver.DryRunTarget}
	resp, err := ts.client.Set(ctx(t), set)
	if err != nil {
		return nil, nil, err
	}
	if len(resp.GetExtension()) != 1 {
		t.Fatalf("dry run answered with %d extensions, want 1", len(resp.GetExtension()))
	}
	reg := resp.GetExtension()[0].GetRegisteredExt()
	if reg.GetId() != gnmi_ext.ExtensionID_EID_EXPERIMENTAL {
		t.Fatalf("dry run extension id %v", reg.GetId())
	}
	var res gnmiserver.DryRunResult
	if err := json.Unmarshal(reg.GetMsg(), &res); err != nil {
		t.Fatalf("dry run result: %v", err)
	}
	return resp, &res, nil
}

// dryLeaves is the updates of a dry run's notifications as "path=value".
func dryLeaves(t *testing.T, res *gnmiserver.DryRunResult) []string {
	t.Helper()
	var out []string
	for _, raw := range res.Notifications {
		var n gpb.Notification
		if err := protojson.Unmarshal(raw, &n); err != nil {
			t.Fatal(err)
		}
		out = append(out, flat(t, &n)...)
	}
	slices.Sort(out)
	return out
}

// configLines collects, for d, the lines of the notifications that are
// not the server's own state (/system, /audit).
func (sc *subClient) configLines(t *testing.T, d time.Duration) []string {
	t.Helper()
	var out []string
	deadline := time.After(d)
	for {
		select {
		case it := <-sc.items:
			if it.err != nil {
				t.Fatalf("stream ended: %v", it.err)
			}
			for _, l := range flat(t, it.resp.GetUpdate()) {
				if !strings.HasPrefix(l, "/system/") && !strings.HasPrefix(l, "/audit/") && !strings.HasPrefix(l, "-/audit/") {
					out = append(out, l)
				}
			}
		case <-deadline:
			return out
		}
	}
}

// untouched is what a dry run must leave as it is.
type untouched struct {
	commit, audit any
	config        any
}

func (ts *testServer) untouched(t *testing.T) untouched {
	t.Helper()
	commit, err := ts.get(t, "/system/state/last-commit-id", gpb.GetRequest_STATE)
	if err != nil {
		t.Fatal(err)
	}
	audit, _ := ts.get(t, "/audit", gpb.GetRequest_STATE) // NotFound while empty
	return untouched{commit: commit, audit: audit, config: ts.config(t)}
}

func rootSet(doc []byte) *gpb.SetRequest {
	return &gpb.SetRequest{Update: []*gpb.Update{{Path: &gpb.Path{}, Val: jsonIETF(string(doc))}}}
}

func TestDryRunChangesNothing(t *testing.T) {
	for _, name := range scenarios {
		t.Run(name, func(t *testing.T) {
			ts := start(t, "")
			ts.setRoot(t, scenario(t, "any-to-any")) // something to compare against
			before := ts.untouched(t)
			watch := ts.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE, "/"))
			watch.untilSync(t)

			doc := scenario(t, name)
			set := &gpb.SetRequest{Replace: []*gpb.Update{{Path: &gpb.Path{}, Val: jsonIETF(string(doc))}}}
			resp, res, err := ts.dryRun(t, set)
			if err != nil {
				t.Fatalf("dry run: %v", err)
			}
			if len(resp.GetResponse()) != 1 || resp.GetResponse()[0].GetOp() != gpb.UpdateResult_REPLACE {
				t.Fatalf("dry run results %v, want the one replace", resp.GetResponse())
			}
			if got := watch.configLines(t, 300*time.Millisecond); len(got) != 0 {
				t.Fatalf("dry run published %v", got)
			}
			if after := ts.untouched(t); !equalJSON(after, before) {
				t.Fatalf("dry run changed the server:\n%v\n%v", before, after)
			}

			// The real Set then changes exactly what the dry run listed.
			set.Prefix = nil
			if _, err := ts.client.Set(ctx(t), set); err != nil {
				t.Fatal(err)
			}
			real := watch.configLines(t, time.Second)
			slices.Sort(real)
			if dry := dryLeaves(t, res); !slices.Equal(dry, real) {
				t.Errorf("the dry run listed\n%v\nthe Set published\n%v", dry, real)
			}
		})
	}
}

func TestDryRunRefusesAsSetDoes(t *testing.T) {
	ts := start(t, "")
	var doc map[string]any
	if err := json.Unmarshal(scenario(t, "any-to-any"), &doc); err != nil {
		t.Fatal(err)
	}
	doc["netready-infrastructure:hosts"].(map[string]any)["host"].([]any)[0].(map[string]any)["backend"] = "no-such-backend"
	bad, _ := json.Marshal(doc)
	before := ts.untouched(t)
	_, _, dryErr := ts.dryRun(t, rootSet(bad))
	if dryErr == nil {
		t.Fatal("dry run accepted an invalid Set")
	}
	if after := ts.untouched(t); !equalJSON(after, before) {
		t.Fatalf("refused dry run changed the server (audit?):\n%v\n%v", before, after)
	}
	_, setErr := ts.client.Set(ctx(t), rootSet(bad))
	if status.Code(dryErr) != status.Code(setErr) || status.Convert(dryErr).Message() != status.Convert(setErr).Message() {
		t.Fatalf("dry run: %v\n     set: %v", dryErr, setErr)
	}
}

// recorder is a fake Forwarder registry: it records, per backend, every
// driver opened and every change set applied or reconciled.
type recorder struct {
	mu    sync.Mutex
	opens int
	calls map[string][]string // backend -> changes, as routing.Change.String()
}

// registry declares every capability, under both forwarder kinds (the
// scenarios' two vendors): the dry run is compared with what every
// scenario realizes, the service-binding one (VLAN sub-interfaces, an L2
// network) included.
func (r *recorder) registry() southbound.Registry {
	p := southbound.Plugin{Caps: southbound.Capabilities{Forwarding: true, VLAN: true, L2: true}, Open: func(_ context.Context, b southbound.Backend) (southbound.Driver, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.opens++
		return &fakeForwarder{r: r, name: b.Name}, nil
	}}
	return southbound.Registry{"linux-vforwarder": p, "ebpf-vforwarder": p} // the scenarios' two vendors
}

// take returns and forgets what was recorded.
func (r *recorder) take() (int, map[string][]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	opens, calls := r.opens, r.calls
	r.opens, r.calls = 0, nil
	return opens, calls
}

type fakeForwarder struct {
	r    *recorder
	name string
}

// record records changes (routing or L2) as their String.
func record[C fmt.Stringer](f *fakeForwarder, changes []C) {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	if f.r.calls == nil {
		f.r.calls = map[string][]string{}
	}
	for _, c := range changes {
		f.r.calls[f.name] = append(f.r.calls[f.name], c.String())
	}
}

func (f *fakeForwarder) ApplyL2(_ context.Context, changes []l2.Change) error {
	record(f, changes)
	return nil
}

// ReconcileL2 records, as Reconcile, the sets of every host it is given.
func (f *fakeForwarder) ReconcileL2(_ context.Context, hosts []*l2.HostView) ([]string, error) {
	after := l2.Result{}
	for _, h := range hosts {
		after[h.Host] = h
	}
	record(f, l2.Diff(l2.Result{}, after)[f.name])
	return nil, nil
}

func (f *fakeForwarder) Apply(_ context.Context, changes []routing.Change) error {
	record(f, changes)
	return nil
}

// Reconcile records what it would change on an empty backend: the
// creates of every host it is given.
func (f *fakeForwarder) Reconcile(_ context.Context, hosts []*routing.HostView) ([]string, error) {
	after := routing.Result{Hosts: map[string]*routing.HostView{}}
	for _, h := range hosts {
		after.Hosts[h.Host] = h
	}
	record(f, routing.Diff(routing.Result{}, after)[f.name])
	return nil, nil
}

func (f *fakeForwarder) Close() error { return nil }

// planned is a plan as the recorder records it.
func planned(p realizer.Plan) map[string][]string {
	out := map[string][]string{}
	for name, bp := range p {
		if len(bp.Changes) > 0 {
			out[name] = bp.Changes
		}
	}
	return out
}

func TestDryRunPlanIsWhatTheSetRealizes(t *testing.T) {
	for _, name := range scenarios {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			ts := startWith(t, daemon.Config{Drivers: rec.registry()})
			rec.take() // start-up
			// A connection between sites needs /bgp and a site gateway, which
			// this server has not: it is refused (geo_test.go).
			doc := withoutConnections(t, scenario(t, name))
			step := func(what string, set *gpb.SetRequest, work bool) {
				t.Helper()
				before := ts.untouched(t)
				_, res, err := ts.dryRun(t, set)
				if err != nil {
					t.Fatalf("%s: dry run: %v", what, err)
				}
				if after := ts.untouched(t); !equalJSON(after, before) {
					t.Fatalf("%s: dry run changed the server:\n%v\n%v", what, before, after)
				}
				if opens, calls := rec.take(); opens != 0 || len(calls) != 0 {
					t.Fatalf("dry run reached the drivers: %d opened, %v", opens, calls)
				}
				if work && len(res.Plan) == 0 {
					t.Fatalf("%s: dry run planned nothing", what)
				}
				set.Prefix = nil
				if _, err := ts.client.Set(ctx(t), set); err != nil {
					t.Fatal(err)
				}
				time.Sleep(100 * time.Millisecond) // a background reconciliation would show
				_, calls := rec.take()
				if want := planned(res.Plan); (len(calls) > 0 || len(want) > 0) && !equalJSON(calls, want) {
					t.Fatalf("%s: the Set realized\n%v\nthe dry run planned\n%v", what, calls, want)
				}
			}
			step("the scenario on an empty server (new backends: reconciled)", rootSet(doc), true)
			if paths := servicePaths(t, doc); len(paths) > 0 { // georedundancy has none left
				step("everything but the backends and hosts removed (a diff)", &gpb.SetRequest{Delete: paths}, true)
			}
		})
	}
}

// withoutConnections is a scenario without its connections between sites.
func withoutConnections(t *testing.T, doc []byte) []byte {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		t.Fatal(err)
	}
	delete(top, "netready-georedundancy:connections")
	out, err := json.Marshal(top)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// servicePaths are the top-level containers of a scenario other than the
// backends, hosts and sites (hosts refer to sites): deleting them removes
// every service, keeping the backends that realized them.
func servicePaths(t *testing.T, doc []byte) []*gpb.Path {
	t.Helper()
	var top map[string]any
	if err := json.Unmarshal(doc, &top); err != nil {
		t.Fatal(err)
	}
	var out []*gpb.Path
	for k := range top {
		_, name, _ := strings.Cut(k, ":")
		if name != "backends" && name != "hosts" && name != "sites" {
			out = append(out, path(t, "/"+name))
		}
	}
	return out
}
