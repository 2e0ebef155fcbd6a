package metrics

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func idle() State { return State{} }

// TestObserveDriver: every driver call is timed and every failure counted
// under the backend's name and the operation.
func TestObserveDriver(t *testing.T) {
	m := New(idle)
	m.ObserveDriver("a", "apply", time.Millisecond, nil)
	m.ObserveDriver("b", "reconcile", 2*time.Millisecond, errors.New("boom"))
	if n := testutil.CollectAndCount(m.realizeSeconds); n != 2 {
		t.Errorf("%d timed series, want a/apply and b/reconcile", n)
	}
	if v := testutil.ToFloat64(m.realizeFailures.WithLabelValues("b", "reconcile")); v != 1 {
		t.Errorf("b/reconcile failures %v, want 1", v)
	}
	if v := testutil.ToFloat64(m.realizeFailures.WithLabelValues("a", "apply")); v != 0 {
		t.Errorf("a/apply failures %v, want 0", v)
	}
}

func TestReplicationHooks(t *testing.T) {
	m := New(idle)
	m.SetRole("follower")
	m.SetRole("leader")
	want := `
# HELP netready_replica_role 1 for this server's replication role: standalone (one bbolt server), leader or follower (replicas on etcd).
# TYPE netready_replica_role gauge
netready_replica_role{role="leader"} 1
`
	if err := testutil.CollectAndCompare(m.role, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	m.LeaderChanged()
	m.LeaderChanged()
	m.SetFollowerLag(7)
	if v := testutil.ToFloat64(m.leaderChanges); v != 2 {
		t.Errorf("leader changes %v, want 2", v)
	}
	if v := testutil.ToFloat64(m.followerLag); v != 7 {
		t.Errorf("follower lag %v, want 7", v)
	}
}

// TestCodes: the code recorded is the one the client gets, also for a
// handler's bare context error and an error that is not a status.
func TestCodes(t *testing.T) {
	m := New(idle)
	ic := m.UnaryInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/gnmi.gNMI/Set"}
	for _, err := range []error{nil, status.Error(codes.InvalidArgument, "x"), context.Canceled, context.DeadlineExceeded, errors.New("plain")} {
		_, _ = ic(context.Background(), nil, info, func(context.Context, any) (any, error) { return nil, err })
	}
	for _, c := range []codes.Code{codes.OK, codes.InvalidArgument, codes.Canceled, codes.DeadlineExceeded, codes.Unknown} {
		if v := testutil.ToFloat64(m.rpcHandled.WithLabelValues("gnmi.gNMI", "Set", c.String())); v != 1 {
			t.Errorf("Set %v: %v, want 1", c, v)
		}
	}
}

func TestQueueHistogram(t *testing.T) {
	m := New(func() State { return State{Open: true, QueueDepths: []int{0, 3, 300}} })
	want := `
# HELP netready_subscribe_queue_depth Responses (and merged backlog paths) waiting to be sent, one observation per STREAM subscription at scrape time.
# TYPE netready_subscribe_queue_depth histogram
netready_subscribe_queue_depth_bucket{le="0"} 1
netready_subscribe_queue_depth_bucket{le="1"} 1
netready_subscribe_queue_depth_bucket{le="4"} 2
netready_subscribe_queue_depth_bucket{le="16"} 2
netready_subscribe_queue_depth_bucket{le="64"} 2
netready_subscribe_queue_depth_bucket{le="256"} 2
netready_subscribe_queue_depth_bucket{le="4096"} 3
netready_subscribe_queue_depth_bucket{le="65536"} 3
netready_subscribe_queue_depth_bucket{le="+Inf"} 3
netready_subscribe_queue_depth_sum 303
netready_subscribe_queue_depth_count 3
`
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(want), "netready_subscribe_queue_depth"); err != nil {
		t.Error(err)
	}
}

func BenchmarkUnaryInterceptor(b *testing.B) {
	m := New(idle)
	ic := m.UnaryInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/gnmi.gNMI/Get"}
	h := func(context.Context, any) (any, error) { return nil, nil }
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = ic(ctx, nil, info, h)
		}
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/rpc")
}

// BenchmarkGather is the cost of one scrape's collection with every RPC
// series of a busy server present and 1000 subscriptions.
func BenchmarkGather(b *testing.B) {
	depths := make([]int, 1000)
	m := New(func() State { return State{Serving: true, Open: true, QueueDepths: depths} })
	ic := m.UnaryInterceptor()
	for _, method := range []string{"Get", "Set", "Capabilities"} {
		for _, c := range []codes.Code{codes.OK, codes.InvalidArgument, codes.PermissionDenied, codes.NotFound} {
			info := &grpc.UnaryServerInfo{FullMethod: "/gnmi.gNMI/" + method}
			_, _ = ic(context.Background(), nil, info, func(context.Context, any) (any, error) { return nil, status.Error(c, "") })
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/scrape")
}
