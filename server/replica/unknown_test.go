package replica_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openconfig/ygot/ygot"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/replica"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/store/etcdstore"
	"github.com/netready/netready/server/store/etcdstore/etcdtest"
	"github.com/netready/netready/server/tree"
	netreadyyang "github.com/netready/netready/yang"
)

// TestUnknownOutcomeResigns: when a store write's outcome stays unknown
// (every answer from etcd lost for the whole request timeout), the
// leader resigns, so that the next term — here its own again, being the
// only replica — starts afresh and reconciles the backends with what
// etcd holds; it then takes Sets again.
func TestUnknownOutcomeResigns(t *testing.T) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	c := etcdtest.Start(t, 3)
	var lost atomic.Int32
	lose := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if method == "/etcdserverpb.KV/Txn" && err == nil && lost.Load() > 0 {
			return status.Error(codes.Unavailable, "error reading from server: EOF (answer lost by the test)")
		}
		return err
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(lose)}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	st, err := etcdstore.Open(context.Background(), cli, etcdstore.Options{Prefix: "/u/", Guarded: true, RequestTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var terms atomic.Int32
	var r *replica.Replica
	ds := openDS(t, sch, st, datastore.Options{Writable: func() error { return r.Writable() }})
	role := replica.RoleFollower // OnChange is told every status, in order
	r = replica.New(cli, st, replica.Options{Name: "a", TTL: 2 * time.Second, OnChange: func(s replica.Status) {
		if s.Role == replica.RoleLeader && role != replica.RoleLeader {
			terms.Add(1)
		}
		role = s.Role
	}})
	r.Start(ds, "127.0.0.1:1")
	defer r.Close()
	untilSet(t, ds, "/backends/backend[name=b]", `{"driver": "linux-vforwarder"}`)

	lost.Store(1)
	if err := apply(ds, "/hosts/host[name=h]", `{"backend": "b"}`); err == nil {
		t.Fatal("a Set whose every answer was lost succeeded")
	}
	lost.Store(0)
	deadline := time.Now().Add(20 * time.Second)
	for terms.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the leader did not resign after a write of unknown outcome")
		}
		time.Sleep(20 * time.Millisecond)
	}
	untilSet(t, ds, "/hosts/host[name=h2]", `{"backend": "b"}`)
}

// apply sets js at p through ds.
func apply(ds *datastore.Datastore, p, js string) error {
	gp, err := ygot.StringToStructuredPath(p)
	if err != nil {
		return err
	}
	path, err := tree.Resolve(ds.Schema().Root, gp.GetElem())
	if err != nil {
		return err
	}
	payload, err := tree.DecodeJSON(path, []byte(js), true)
	if err != nil {
		return err
	}
	_, err = ds.Apply(context.Background(), &datastore.Request{Ops: []datastore.Op{{Kind: datastore.Update, Path: path, Payload: payload}}})
	return err
}

// untilSet retries the Set while it is refused as Unavailable (not
// leading yet), for up to 20 s.
func untilSet(t *testing.T, ds *datastore.Datastore, p, js string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := apply(ds, p, js)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("set %s: %v", p, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
