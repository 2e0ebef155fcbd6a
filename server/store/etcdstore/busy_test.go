package etcdstore_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/store/etcdstore"
	"github.com/netready/netready/server/store/etcdstore/etcdtest"
)

// refuseTxns makes a client whose next n Txns etcd's member refuses
// with refusal before proposing them (nothing reaches raft), as an
// overloaded member ("too many requests": its applied index lags its
// commit index by over 5,000 entries) or a full database does. A member
// that lags that far cannot be made to on demand; the refusal is the
// one etcd sends, on the real client's path.
func refuseTxns(t *testing.T, c *etcdtest.Cluster, n *atomic.Int32, refusal error) *clientv3.Client {
	t.Helper()
	refuse := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if method == "/etcdserverpb.KV/Txn" && n.Add(-1) >= 0 {
			return refusal
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(refuse)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// TestBusyMemberRetried: a Txn an overloaded member refused ("too many
// requests") was never proposed, so the store sends it again rather than
// refusing the batch at the first refusal (every Set of a group commit
// refused for a moment's lag).
func TestBusyMemberRetried(t *testing.T) {
	c := etcdtest.Start(t, 3)
	var refused atomic.Int32
	s := open(t, refuseTxns(t, c, &refused, rpctypes.ErrGRPCRequestTooManyRequests), etcdstore.Options{Prefix: "/busy/"})
	ctx := context.Background()
	refused.Store(3)
	c1 := commit(1, "/a", "1")
	c1.Audit = []byte("audit 1")
	if err := s.Apply(ctx, []*store.Commit{c1}); err != nil {
		t.Fatalf("a batch refused three times by a busy member: %v", err)
	}
	if left := refused.Load(); left > 0 {
		t.Fatalf("%d refusals left: the Txn was not sent again", left)
	}
	refused.Store(2)
	if err := s.AppendAudit(ctx, [][]byte{[]byte("audit 2")}); err != nil {
		t.Fatalf("audit entries refused twice by a busy member: %v", err)
	}
	var ids []uint64
	if err := s.Commits(ctx, 0, 0, func(c *store.Commit) error { ids = append(ids, c.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != 1 || s.LastCommitID() != 1 {
		t.Fatalf("commit log %v, last %d; want [1], 1", ids, s.LastCommitID())
	}
}

// TestBusyOrFullSaysWhy: a member that stays overloaded for the whole
// request timeout, or a database over its quota, refuses the batch with
// an error that says why and what to do, and that is not
// store.ErrTooLarge (the datastore answers UNAVAILABLE, to be retried,
// not RESOURCE_EXHAUSTED for a transaction that would never fit);
// nothing is written and the writer goes on once etcd takes writes again.
func TestBusyOrFullSaysWhy(t *testing.T) {
	c := etcdtest.Start(t, 3)
	for i, tc := range []struct {
		refusal error
		says    string
	}{
		{rpctypes.ErrGRPCRequestTooManyRequests, "stayed overloaded"},
		{rpctypes.ErrGRPCNoSpace, "NOSPACE alarm"},
	} {
		var refused atomic.Int32
		s := open(t, refuseTxns(t, c, &refused, tc.refusal), etcdstore.Options{Prefix: "/full" + string(rune('a'+i)) + "/", RequestTimeout: 500 * time.Millisecond})
		ctx := context.Background()
		refused.Store(1000)
		err := s.Apply(ctx, []*store.Commit{commit(1, "/a", "1")})
		if err == nil || errors.Is(err, store.ErrTooLarge) || !strings.Contains(err.Error(), tc.says) {
			t.Fatalf("%v: Apply refused with %v, want an error saying %q, not ErrTooLarge", tc.refusal, err, tc.says)
		}
		if s.LastCommitID() != 0 {
			t.Fatalf("%v: last commit %d after a refusal", tc.refusal, s.LastCommitID())
		}
		refused.Store(0)
		if err := s.Apply(ctx, []*store.Commit{commit(1, "/a", "1")}); err != nil {
			t.Fatalf("%v: once etcd takes writes again: %v", tc.refusal, err)
		}
	}
}
