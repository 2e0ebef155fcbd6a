package etcdstore_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/store/etcdstore"
	"github.com/netready/netready/server/store/etcdstore/etcdtest"
)

// loseAnswers makes a client whose next n Txns reach etcd (and commit)
// but whose answers are lost on the way back, as when the member that
// took the request dies before it replies: the fault a member's death
// causes at random, made certain.
func loseAnswers(t *testing.T, c *etcdtest.Cluster, n *atomic.Int32) *clientv3.Client {
	t.Helper()
	lose := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if method == "/etcdserverpb.KV/Txn" && err == nil && n.Add(-1) >= 0 {
			return status.Error(codes.Unavailable, "error reading from server: EOF (answer lost by the test)")
		}
		return err
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(lose)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// TestLostAnswerResolved: a Txn that etcd committed but whose answer was
// lost is not reported as failed (the caller would undo and refuse a
// transaction every replica then applies, and the client's retry would
// commit it twice) nor leaves the writer behind etcd (every later write
// refused): Apply and AppendAudit find out that their write landed, and
// the writer goes on.
func TestLostAnswerResolved(t *testing.T) {
	c := etcdtest.Start(t, 3)
	var lost atomic.Int32
	s := open(t, loseAnswers(t, c, &lost), etcdstore.Options{Prefix: "/lost/"})
	ctx := context.Background()
	lost.Store(1)
	c1 := commit(1, "/a", "1")
	c1.Audit = []byte("audit 1")
	if err := s.Apply(ctx, []*store.Commit{c1}); err != nil {
		t.Fatalf("a commit etcd holds was reported as failed: %v", err)
	}
	lost.Store(1)
	if err := s.AppendAudit(ctx, [][]byte{[]byte("audit 2")}); err != nil {
		t.Fatalf("an audit entry etcd holds was reported as failed: %v", err)
	}
	c2 := commit(2, "/a", "2")
	c2.Audit = []byte("audit 3")
	if err := s.Apply(ctx, []*store.Commit{c2}); err != nil {
		t.Fatalf("the writer fell behind etcd: %v", err)
	}
	var ids []uint64
	if err := s.Commits(ctx, 0, 0, func(c *store.Commit) error { ids = append(ids, c.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] != 1 || ids[1] != 2 {
		t.Fatalf("commit log %v, want [1 2]", ids)
	}
}

// TestUnknownOutcomeSettled: a Txn whose answer is lost and that etcd
// does not answer again within the request timeout stays unknown (an
// error that says so) — but the writer does not stay behind etcd: its
// next write reads where etcd is and continues from there.
func TestUnknownOutcomeSettled(t *testing.T) {
	c := etcdtest.Start(t, 3)
	var lost atomic.Int32
	s := open(t, loseAnswers(t, c, &lost), etcdstore.Options{Prefix: "/unknown/", RequestTimeout: 500 * time.Millisecond})
	ctx := context.Background()
	lost.Store(1000)
	c1 := commit(1, "/a", "1")
	c1.Audit = []byte("audit 1")
	err := s.Apply(ctx, []*store.Commit{c1})
	if err == nil || !strings.Contains(err.Error(), "may or may not have committed") {
		t.Fatalf("Apply with every answer lost: %v, want an unknown outcome", err)
	}
	lost.Store(0)
	c2 := commit(2, "/a", "2")
	c2.Audit = []byte("audit 2")
	if err := s.Apply(ctx, []*store.Commit{c2}); err != nil {
		t.Fatalf("after an unknown outcome (etcd holds commit 1) the writer could not continue: %v", err)
	}
}
