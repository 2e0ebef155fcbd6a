package replica_test

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/replica"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/store/etcdstore"
	"github.com/netready/netready/server/store/etcdstore/etcdtest"
	netreadyyang "github.com/netready/netready/yang"
)

// requests counts what a client sends etcd, by method, and the sizes of
// its Txns.
type requests struct {
	mu      sync.Mutex
	methods map[string]int
	txnOps  []int // compares + puts + else-reads of each Txn
}

func (q *requests) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	q.mu.Lock()
	q.methods[method]++
	if t, ok := req.(*etcdserverpb.TxnRequest); ok {
		q.txnOps = append(q.txnOps, len(t.Compare)+len(t.Success)+len(t.Failure))
	}
	q.mu.Unlock()
	return invoker(ctx, method, req, reply, cc, opts...)
}

func (q *requests) snapshot() (map[string]int, []int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return maps.Clone(q.methods), append([]int(nil), q.txnOps...)
}

// TestOneLeafSetIsOneTxn: a one-leaf Set on the leader costs etcd one
// request, its Txn — no read before it, no status publication for a
// status it did not change — of 3 compares (last commit id, audit
// sequence, election key), the row, the log record and the last commit id,
// and the 4 reads its Else needs to tell a refusal from a lost answer.
// Counted on the real client, by its interceptor.
func TestOneLeafSetIsOneTxn(t *testing.T) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	c := etcdtest.Start(t, 3)
	q := &requests{methods: map[string]int{}}
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(q.intercept)}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	st, err := etcdstore.Open(context.Background(), cli, etcdstore.Options{Prefix: "/ops/", Guarded: true})
	if err != nil {
		t.Fatal(err)
	}
	var r *replica.Replica
	ds := openDS(t, sch, st, datastore.Options{Writable: func() error { return r.Writable() }})
	r = replica.New(cli, st, replica.Options{Name: "a", StatusInterval: 10 * time.Millisecond})
	r.Start(ds, "127.0.0.1:1")
	defer r.Close()
	untilSet(t, ds, "/backends/backend[name=b]", `{"driver": "linux-vforwarder"}`)
	time.Sleep(100 * time.Millisecond) // the term's first status publication

	before, _ := q.snapshot()
	const sets = 20
	for i := range sets {
		if err := apply(ds, "/backends/backend[name=b]", fmt.Sprintf(`{"description": "d%d"}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // ten status intervals: any publication they caused
	after, txns := q.snapshot()
	for m, n := range after {
		want := 0
		if m == "/etcdserverpb.KV/Txn" {
			want = sets
		}
		if got := n - before[m]; got != want {
			t.Errorf("%d one-leaf Sets sent %s %d times, want %d", sets, m, got, want)
		}
	}
	for _, ops := range txns[len(txns)-sets:] {
		if ops != 3+3+4 {
			t.Fatalf("a one-leaf Set's Txn holds %d ops, want 10 (3 compares, 3 puts, 4 else-reads)", ops)
		}
	}
}
