package daemon_test

import (
	"context"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/netready/netready/server/store/etcdstore/etcdtest"
	"github.com/netready/netready/southbound/linuxfwd/lab"
)

// BenchmarkFailoverReconciled measures a take-over up to the backends
// reconciled: two replicas on one lab, the route to a guest removed by
// hand, the leader deposed (its lease revoked, as when it is cut off);
// each iteration is from the revocation until the new leader's
// reconciliation has put the route back in the kernel.
func BenchmarkFailoverReconciled(b *testing.B) {
	l := lab.New(b, lab.RandomPrefix(), map[string]netip.Addr{"host-a": hostA, "host-b": hostB})
	c := etcdtest.Start(b, 3)
	cli := c.Client(b)
	first := startRealizingReplica(b, c, l, "a")
	doc := first.labScenario(b, "any-to-any")
	untilLeads(b, first.testServer, &gpb.SetRequest{Update: []*gpb.Update{{Path: &gpb.Path{}, Val: jsonIETF(string(doc))}}})
	second := startRealizingReplica(b, c, l, "b")
	untilSame(b, second.testServer, first.config(b))
	ns := vrfWithRoute(b, first.realized, "host-a", "10.1.1.6")
	var total time.Duration
	for b.Loop() {
		if out, err := l.IP(ns, "route", "del", "10.1.1.6/32"); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		start := time.Now()
		depose(b, cli)
		total += untilRoute(b, l, ns, "10.1.1.6").Sub(start)
		b.StopTimer()
		untilHandedOver(b, first, second)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/failover")
}

// untilHandedOver waits until one of x and y holds both drivers and the
// other none: the deposed leader closed its own.
func untilHandedOver(t testing.TB, x, y *realizingReplica) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		nx, ny := x.drivers.open.Load(), y.drivers.open.Load()
		if nx+ny == 2 && nx*ny == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("drivers open: %d and %d", nx, ny)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkFollowerStatusLag measures how far a follower's realization
// status is behind the leader's: each iteration takes a backend admin
// down (or up again) on the leader and times from the Set's
// acknowledgement (the leader's status written with it) until the
// follower's Get shows the new sync-state. It also counts the status
// Txns etcd took, per second of the run (a publication is one Txn per
// 128 changed objects, at most one publication per interval).
func BenchmarkFollowerStatusLag(b *testing.B) {
	_, c, rs := realizingReplicas(b, 3, "a", "b")
	cli := c.Client(b)
	leader, follower := rs[0], rs[1]
	const sync = "/backends/backend[name=vendor-a]/status/sync-state"
	untilLeaf(b, follower.testServer, sync, "in-sync")
	var writes atomic.Int64
	wctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { // one status Txn: one revision, whatever its objects
		last := int64(0)
		for wr := range cli.Watch(wctx, "/r/status/", clientv3.WithPrefix()) {
			for _, ev := range wr.Events {
				if ev.Kv.ModRevision != last {
					last = ev.Kv.ModRevision
					writes.Add(1)
				}
			}
		}
	}()
	var lags []time.Duration
	began := time.Now()
	for i := 0; b.Loop(); i++ {
		admin, want := `"down"`, "pending"
		if i%2 == 1 {
			admin, want = `"up"`, "in-sync"
		}
		leader.mustSet(b, &gpb.SetRequest{Update: []*gpb.Update{upd(b, "/backends/backend[name=vendor-a]/admin-state", admin)}})
		acked := time.Now()
		untilLeaf(b, leader.testServer, sync, want)
		lags = append(lags, untilLeaf(b, follower.testServer, sync, want).Sub(acked))
	}
	elapsed := time.Since(began)
	slices.Sort(lags)
	b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(writes.Load())/elapsed.Seconds(), "status-writes/s")
}
