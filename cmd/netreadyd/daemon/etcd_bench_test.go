package daemon_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/store/etcdstore/etcdtest"
)

// etcdLeader starts a three-member cluster and a replica that leads it,
// holding the any-to-any scenario.
func etcdLeader(b *testing.B) (*etcdtest.Cluster, *testServer) {
	b.Helper()
	c := etcdtest.Start(b, 3)
	ts := startReplica(b, c, "a")
	untilLeads(b, ts, mtuSetup(b))
	return c, ts
}

func mtuLeaf(b *testing.B, i int) *gpb.SetRequest {
	return &gpb.SetRequest{Update: []*gpb.Update{{
		Path: path(b, fmt.Sprintf("%s/port[name=p%d]/mtu", bluePorts, 1+i%2)),
		Val:  &gpb.TypedValue{Value: &gpb.TypedValue_UintVal{UintVal: uint64(1500 + i%1000)}},
	}}}
}

// BenchmarkEtcdSetOneLeaf: one client, one-leaf Sets on a replica that
// leads a three-member etcd cluster, beside the floor: a bare client Txn
// of the keys and sizes a one-leaf Set's Txn writes (row, log record,
// audit entry, meta), on the same cluster, interleaved with the Sets so
// both see the same load. Target: p50 <= 1.5x the floor.
func BenchmarkEtcdSetOneLeaf(b *testing.B) {
	c, ts := etcdLeader(b)
	if _, err := ts.client.Set(ctx(b), mtuLeaf(b, 0)); err != nil {
		b.Fatal(err)
	}
	cli := c.Client(b)
	floorOps := lastTxn(b, cli)
	lat, floor := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := ts.client.Set(ctx(b), mtuLeaf(b, i)); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		t0 = time.Now()
		if _, err := cli.Txn(context.Background()).Then(floorOps...).Commit(); err != nil {
			b.Fatal(err)
		}
		floor = append(floor, time.Since(t0))
	}
	b.StopTimer()
	p50, p99 := percentiles(lat)
	f50, _ := percentiles(floor)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(f50, "floor-p50-ms")
	b.ReportMetric(p50/f50, "x-floor")
}

// lastTxn is a Txn of puts with the keys and values the newest commit
// wrote, moved under another prefix.
func lastTxn(b *testing.B, cli *clientv3.Client) []clientv3.Op {
	b.Helper()
	bg := context.Background()
	last, err := cli.Get(bg, "/r/meta/last")
	if err != nil {
		b.Fatal(err)
	}
	rev := last.Kvs[0].ModRevision
	written, err := cli.Get(bg, "/r/", clientv3.WithPrefix(), clientv3.WithMinModRev(rev), clientv3.WithMaxModRev(rev))
	if err != nil || len(written.Kvs) == 0 {
		b.Fatalf("the newest commit's keys: %v", err)
	}
	var ops []clientv3.Op
	for _, kv := range written.Kvs {
		ops = append(ops, clientv3.OpPut("/floor/"+strings.TrimPrefix(string(kv.Key), "/r/"), string(kv.Value)))
	}
	return ops
}

// BenchmarkEtcdSetConcurrent32: 32 clients writing one leaf each per Set
// on the leading replica; group commit shares etcd Txns. A refused Set
// fails the run with its code, message and how long it took, so a
// failure on a busy machine says which limit it met.
func BenchmarkEtcdSetConcurrent32(b *testing.B) {
	_, ts := etcdLeader(b)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	t0 := time.Now()
	for c := 0; c < 32; c++ {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				sent := time.Now()
				if _, err := ts.client.Set(ctx(b), mtuLeaf(b, c)); err != nil {
					b.Errorf("set %d (client %d, after %v): %v", i, c, time.Since(sent).Round(time.Millisecond), err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "sets/s")
}

// BenchmarkEtcdFollowerLag: how long after a Set is sent to the leader
// a STREAM subscriber on a follower receives it (the leader's own Set
// latency included: the follower often has it before the writer has its
// answer).
func BenchmarkEtcdFollowerLag(b *testing.B) {
	c, a := etcdLeader(b)
	f := startReplica(b, c, "b")
	sc := f.subscribeExt(b, streamList(gpb.SubscriptionMode_ON_CHANGE, bluePorts+"/port[name=p1]/mtu"))
	for {
		if r := <-sc.items; r.err != nil || r.resp.GetSyncResponse() {
			break
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sent := time.Now()
		if _, err := a.client.Set(ctx(b), mtuLeaf(b, 2*i)); err != nil { // p1
			b.Fatal(err)
		}
		select {
		case r := <-sc.items:
			if r.err != nil {
				b.Fatal(r.err)
			}
		case <-time.After(10 * time.Second):
			b.Fatal("the follower's subscriber got nothing")
		}
		lat = append(lat, time.Since(sent))
	}
	p50, p99 := percentiles(lat)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
}

// BenchmarkEtcdReplicasConcurrent32: 32 clients spread over three
// replicas (client k starts at replica k%3), one-leaf Sets; a client
// refused by a follower (Unavailable, naming the leader) moves to the
// next replica and stays with the one that takes its Sets, as a gNMI
// client that knows all replicas does. Beside it, same run, same
// cluster: the floor, 32 goroutines sending b.N bare Txns of the keys
// and sizes a one-leaf Set writes.
func BenchmarkEtcdReplicasConcurrent32(b *testing.B) {
	c, a := etcdLeader(b)
	reps := []*testServer{a, startReplica(b, c, "b"), startReplica(b, c, "c")}
	for _, r := range reps[1:] {
		untilSame(b, r, a.config(b))
	}
	if _, err := a.client.Set(ctx(b), mtuLeaf(b, 0)); err != nil {
		b.Fatal(err)
	}
	cli := c.Client(b)
	floorOps := lastTxn(b, cli)
	b.ResetTimer()
	sets := concurrently(b, 32, func(k int, at *int) error {
		for {
			_, err := reps[*at].client.Set(ctx(b), mtuLeaf(b, k))
			if status.Code(err) != codes.Unavailable {
				return err
			}
			*at = (*at + 1) % len(reps)
		}
	})
	floor := concurrently(b, 32, func(int, *int) error {
		_, err := cli.Txn(context.Background()).Then(floorOps...).Commit()
		return err
	})
	b.StopTimer()
	b.ReportMetric(sets, "sets/s")
	b.ReportMetric(floor, "floor-txns/s")
	b.ReportMetric(sets/floor, "x-floor")
}

// concurrently runs do b.N times over n goroutines (k is the goroutine,
// at its own state, starting at k%3) and returns the rate per second.
func concurrently(b *testing.B, n int, do func(k int, at *int) error) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for k := range n {
		wg.Go(func() {
			at := k % 3
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				if err := do(k, &at); err != nil {
					b.Errorf("request %d (client %d): %v", i, k, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return float64(b.N) / time.Since(t0).Seconds()
}
