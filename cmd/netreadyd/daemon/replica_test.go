package daemon_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/replica"
	"github.com/netready/netready/server/store/etcdstore/etcdtest"
)

// startReplica starts a replica named name on the cluster's prefix /r/.
func startReplica(t testing.TB, c *etcdtest.Cluster, name string) *testServer {
	t.Helper()
	cfg := etcdConfig(t, c, "/r/")
	cfg.Etcd.Name = name
	return startWith(t, cfg)
}

// mtuSet sets the MTU of port p1 of tenant blue.
func mtuSet(t *testing.T, mtu int) *gpb.SetRequest {
	return &gpb.SetRequest{Update: []*gpb.Update{upd(t, bluePorts+"/port[name=p1]", fmt.Sprintf(`{"host": "host-a", "mtu": %d}`, mtu))}}
}

// untilLeads retries a Set on ts until it is taken (ts leads) or 30 s
// have passed.
func untilLeads(t testing.TB, ts *testServer, req *gpb.SetRequest) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := ts.client.Set(ctx(t), req)
		if err == nil {
			return
		}
		if status.Code(err) != codes.Unavailable || time.Now().After(deadline) {
			t.Fatalf("set: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// untilSame waits until ts serves the configuration want.
func untilSame(t testing.TB, ts *testServer, want any) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := ts.config(t)
		if reflect.DeepEqual(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica never caught up:\n got %v\nwant %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// untilReplication waits until ts publishes want as its replication
// state.
func untilReplication(t *testing.T, ts *testServer, want map[string]any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := ts.get(t, "/system/state/replication", gpb.GetRequest_STATE)
		if err == nil && reflect.DeepEqual(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replication state %v (%v), want %v", got, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lastCommit is the last commit id in etcd.
func lastCommit(t *testing.T, cli *clientv3.Client) []byte {
	t.Helper()
	resp, err := cli.Get(context.Background(), "/r/meta/last")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("last commit: %v", err)
	}
	return resp.Kvs[0].Value
}

// TestReplicas: two replicas on one etcd cluster. One leads and takes
// Sets; the other serves Get and Subscribe from its own copy, refuses
// Sets with Unavailable naming the leader, and its STREAM subscriber
// sees every transaction once and in order. Revoking the leader's
// election lease makes its very next Set fail with Unavailable, with
// nothing written.
func TestReplicas(t *testing.T) {
	c := etcdtest.Start(t, 3)
	cli := c.Client(t)
	a := startReplica(t, c, "a")
	untilLeads(t, a, mtuSetup(t))
	b := startReplica(t, c, "b")
	untilSame(t, b, a.config(t))

	_, err := b.client.Set(ctx(t), mtuSet(t, 1400))
	wantCode(t, err, codes.Unavailable, "the leader is a at "+a.d.Addr())
	untilReplication(t, b, map[string]any{"role": "follower", "leader": "a", "leader-address": a.d.Addr()})
	untilReplication(t, a, map[string]any{"role": "leader", "leader": "a", "leader-address": a.d.Addr()})

	sc := b.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE, bluePorts+"/port[name=p1]/mtu"))
	sc.untilSync(t)
	for mtu := 1001; mtu <= 1010; mtu++ {
		a.mustSet(t, mtuSet(t, mtu))
	}
	for mtu := 1001; mtu <= 1010; mtu++ {
		got := flat(t, sc.notification(t))
		if want := fmt.Sprintf("%s/port[name=p1]/mtu=%d", bluePorts, mtu); len(got) != 1 || got[0] != want {
			t.Fatalf("follower's subscriber got %v, want %s", got, want)
		}
	}
	sc.quiet(t, 200*time.Millisecond)
	untilSame(t, b, a.config(t))

	// Depose a behind its back: its lease is revoked in etcd.
	resp, err := cli.Get(context.Background(), "/r/election/", clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("election key: %v", err)
	}
	before, want := lastCommit(t, cli), a.config(t)
	if _, err := cli.Revoke(context.Background(), clientv3.LeaseID(resp.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
	_, err = a.client.Set(ctx(t), mtuSet(t, 1500))
	wantCode(t, err, codes.Unavailable, "")
	if after := lastCommit(t, cli); string(after) != string(before) {
		t.Fatalf("a deposed leader wrote: last commit %x -> %x", before, after)
	}
	if got := a.config(t); !reflect.DeepEqual(got, want) {
		t.Fatal("a deposed leader's refused Set changed its configuration")
	}
}

// TestReplicaCutOffNotServing: a replica whose etcd cluster goes away
// says NOT_SERVING (its copy may be stale) within the election TTL.
func TestReplicaCutOffNotServing(t *testing.T) {
	c := etcdtest.Start(t, 3)
	a := startReplica(t, c, "a")
	untilLeads(t, a, mtuSetup(t))
	health := watch(t, a)
	nextStatus(t, health, healthpb.HealthCheckResponse_SERVING)
	c.Close()
	nextStatus(t, health, healthpb.HealthCheckResponse_NOT_SERVING)
}

// mtuSetup creates port p1 of tenant blue, which mtuSet changes.
func mtuSetup(t testing.TB) *gpb.SetRequest {
	return &gpb.SetRequest{Update: []*gpb.Update{{Path: &gpb.Path{}, Val: jsonIETF(string(scenario(t, "any-to-any")))}}}
}

// TestCleanStopResigns: a leader stopped cleanly resigns (its election
// lease is revoked as it stops), so another replica takes Sets well
// within the lease's TTL instead of waiting for it to expire. The lease
// is renewed every TTL/3, so an abandoned one outlives the stop by at
// least two thirds of the TTL; the successor must lead in under half.
func TestCleanStopResigns(t *testing.T) {
	c := etcdtest.Start(t, 3)
	a := startReplica(t, c, "a")
	untilLeads(t, a, mtuSetup(t))
	b := startReplica(t, c, "b")
	untilSame(t, b, a.config(t))

	stopped := time.Now()
	a.stop()
	untilLeads(t, b, mtuSet(t, 1400))
	took := time.Since(stopped)
	t.Logf("the successor took a Set %v after the leader stopped", took.Round(time.Millisecond))
	if limit := replica.DefaultTTL / 2; took >= limit {
		t.Fatalf("the successor took a Set %v after a clean stop: the leader did not resign (limit %v)", took, limit)
	}
}

// TestReplicaCommitConfirmedFailsOver: a commit-confirmed pending on a
// leader that stops is still pending on its successor, which learnt of
// it only through the commit log: the successor refuses other Sets as
// the leader did and rolls the commit back when its time runs out. A
// follower runs no timer of its own.
func TestReplicaCommitConfirmedFailsOver(t *testing.T) {
	c := etcdtest.Start(t, 3)
	a := startReplica(t, c, "a")
	untilLeads(t, a, mtuSetup(t))
	b := startReplica(t, c, "b")
	before := a.configBytes(t)
	const window = 4 * time.Second
	if err := a.confirmedSet(t, "trial", "on trial", window); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(window)
	untilSame(t, b, a.config(t))
	a.stop()

	var err error
	for {
		_, err = b.client.Set(ctx(t), mtuSet(t, 1400))
		if status.Code(err) != codes.Unavailable || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantCode(t, err, codes.FailedPrecondition, `commit "trial"`)
	for b.configBytes(t) != before {
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatal("the successor never rolled back the unconfirmed commit")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
