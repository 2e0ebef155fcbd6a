package daemon_test

import (
	"context"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// untilLeaf waits until ts serves want at p, and says when.
func untilLeaf(t testing.TB, ts *testServer, p string, want any) time.Time {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		v, err := ts.get(t, p, gpb.GetRequest_ALL)
		if err == nil && v == want {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s = %v (%v), want %v", ts.cfg.Etcd.Name, p, v, err, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFollowersServeLeaderStatus: three replicas on one etcd cluster and
// one lab. A follower's Get shows the status the leader's engine wrote
// (bindings, VPNs, hosts, backends, the reconciliation), follows a
// backend taken admin down on the leader, and after the leader stops
// shows the new leader's status (its own reconciliation), not the old
// one's.
func TestFollowersServeLeaderStatus(t *testing.T) {
	_, _, rs := realizingReplicas(t, 1, "a", "b", "c")
	a, b, cr := rs[0], rs[1], rs[2]

	const vpn = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]"
	const g3 = vpn + "/bindings/binding[interface=g3]/status"
	statusLeaves := map[string]any{
		g3 + "/oper-status":                                  "up",
		g3 + "/sync-state":                                   "in-sync",
		g3 + "/backend[name=vendor-b]/name":                  "vendor-b",
		vpn + "/status/oper-status":                          "up",
		"/backends/backend[name=vendor-a]/status/sync-state": "in-sync",
		"/hosts/host[name=host-b]/status/oper-status":        "up",
	}
	for p, want := range statusLeaves {
		untilLeaf(t, a.testServer, p, want)
		for _, f := range []*realizingReplica{b, cr} {
			untilLeaf(t, f.testServer, p, want)
		}
	}
	lastRun := "/backends/backend[name=vendor-a]/reconciliation/last-run"
	ranA := untilLeafSet(t, a.testServer, lastRun)
	untilLeaf(t, b.testServer, lastRun, ranA)

	// A backend taken admin down on the leader: pending everywhere.
	const sync = "/backends/backend[name=vendor-a]/status/sync-state"
	a.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=vendor-a]/admin-state", `"down"`)}})
	set := untilLeaf(t, a.testServer, sync, "pending")
	got := untilLeaf(t, b.testServer, sync, "pending")
	t.Logf("leader status -> follower Get: %v", got.Sub(set))
	untilLeaf(t, cr.testServer, sync, "pending")
	a.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=vendor-a]/admin-state", `"up"`)}})
	untilLeaf(t, b.testServer, sync, "in-sync")
	ranA = untilLeafSet(t, a.testServer, lastRun)
	untilLeaf(t, b.testServer, lastRun, ranA)
	untilLeaf(t, cr.testServer, lastRun, ranA)

	// Fail-over: the new leader reconciles; every replica left shows its
	// reconciliation, not a's.
	a.stop()
	leader, follower := b, cr
	deadline := time.Now().Add(15 * time.Second)
	for b.drivers.open.Load() == 0 && cr.drivers.open.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no replica took over")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if cr.drivers.open.Load() != 0 {
		leader, follower = cr, b
	}
	for {
		ran := untilLeafSet(t, leader.testServer, lastRun)
		if ran != ranA {
			untilLeaf(t, follower.testServer, lastRun, ran)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new leader %s shows the old leader's reconciliation %v", leader.cfg.Etcd.Name, ran)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for p, want := range statusLeaves {
		untilLeaf(t, follower.testServer, p, want)
	}
}

// untilLeafSet waits until ts serves p and returns its value.
func untilLeafSet(t testing.TB, ts *testServer, p string) any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if v, err := ts.get(t, p, gpb.GetRequest_ALL); err == nil {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s never appeared", ts.cfg.Etcd.Name, p)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStatusPublishesChangedObjectsOnly: the leader publishes its
// realization status per object, so a change writes the keys of the
// objects whose status changed, not the whole status again: a backend
// taken admin down (the objects realized on it go pending) writes keys
// naming objects, each small and each with a new value, the backend's
// among them, and not every object's.
func TestStatusPublishesChangedObjectsOnly(t *testing.T) {
	_, c, rs := realizingReplicas(t, 1, "a", "b")
	cli := c.Client(t)
	a, b := rs[0], rs[1]
	const sync = "/backends/backend[name=vendor-a]/status/sync-state"
	untilLeaf(t, b.testServer, sync, "in-sync")
	lastRun := "/backends/backend[name=vendor-a]/reconciliation/last-run"
	untilLeaf(t, b.testServer, lastRun, untilLeafSet(t, a.testServer, lastRun))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := cli.Get(ctx, "/r/status", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	whole, before := 0, map[string]string{}
	for _, kv := range resp.Kvs {
		whole += len(kv.Key) + len(kv.Value)
		before[string(kv.Key)] = string(kv.Value[min(8, len(kv.Value)):])
	}
	type write struct {
		key, val string
		size     int
	}
	wch := cli.Watch(ctx, "/r/status", clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
	a.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=vendor-a]/admin-state", `"down"`)}})
	untilLeaf(t, b.testServer, sync, "pending")
	// Every write up to and with the one that carried pending.
	var got []write
	bytes, pending := 0, false
	for !pending {
		select {
		case wr := <-wch:
			for _, ev := range wr.Events {
				got = append(got, write{string(ev.Kv.Key), string(ev.Kv.Value[min(8, len(ev.Kv.Value)):]), len(ev.Kv.Key) + len(ev.Kv.Value)})
				bytes += len(ev.Kv.Key) + len(ev.Kv.Value)
				pending = pending || strings.Contains(string(ev.Kv.Value), `"pending"`)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no status write carried pending; saw %v", got)
		}
	}
	t.Logf("whole status %d bytes in %d keys; the change wrote %d bytes: %v", whole, len(resp.Kvs), bytes, got)
	backend := false
	for _, w := range got {
		if !strings.HasPrefix(w.key, "/r/status//") {
			t.Errorf("status written to %s, not to an object's key", w.key)
		}
		if w.size > 1024 {
			t.Errorf("%s: %d bytes written, want at most 1 KiB", w.key, w.size)
		}
		if old, ok := before[w.key]; ok && old == w.val {
			t.Errorf("%s written with the status it held", w.key)
		}
		before[w.key] = w.val
		backend = backend || strings.HasSuffix(w.key, "/backends/backend[name=vendor-a]/status")
	}
	if !backend {
		t.Error("the backend's status key was not written")
	}
	if len(got) >= len(resp.Kvs) {
		t.Errorf("the change wrote %d keys of %d: want only the changed objects'", len(got), len(resp.Kvs))
	}
}
