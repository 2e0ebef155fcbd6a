package etcdstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/netready/netready/server/store/etcdstore"
	"github.com/netready/netready/server/store/etcdstore/etcdtest"
)

// elect puts key under a lease of its own, as an election does, and
// guards s with it; it returns the lease.
func elect(t *testing.T, cli *clientv3.Client, s *etcdstore.Store, key string) clientv3.LeaseID {
	t.Helper()
	ctx := context.Background()
	lease, err := cli.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Put(ctx, key, "", clientv3.WithLease(lease.ID))
	if err != nil {
		t.Fatal(err)
	}
	s.Guard(key, resp.Header.Revision)
	return lease.ID
}

// TestStatusFromLeaderOnly: a follower is handed every status the leader
// publishes, in order; a leader deposed (its election key's lease
// revoked) publishes nothing, so its successor's status stays.
func TestStatusFromLeaderOnly(t *testing.T) {
	c := etcdtest.Start(t, 1)
	cli := c.Client(t)
	o := etcdstore.Options{Prefix: "/status/", Guarded: true}
	a, b, f := open(t, cli, o), open(t, cli, o), open(t, cli, o)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := a.PutStatus(ctx, []byte("none")); !errors.Is(err, etcdstore.ErrNotLeader) {
		t.Fatalf("status before the election: %v, want ErrNotLeader", err)
	}
	seen := make(chan string, 16)
	done := make(chan struct{})
	defer func() { cancel(); <-done }()
	go func() {
		defer close(done)
		f.FollowStatus(ctx, func(v []byte) { seen <- string(v) }, func(err error) { t.Logf("watch broke: %v", err) })
	}()
	want := func(v string) {
		t.Helper()
		select {
		case got := <-seen:
			if got != v {
				t.Fatalf("follower got status %q, want %q", got, v)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("follower never got status %q", v)
		}
	}

	leaseA := elect(t, cli, a, "/status/election/a")
	for _, v := range []string{"a1", "a2"} {
		if err := a.PutStatus(ctx, []byte(v)); err != nil {
			t.Fatal(err)
		}
		want(v)
	}
	if _, err := cli.Revoke(ctx, leaseA); err != nil {
		t.Fatal(err)
	}
	elect(t, cli, b, "/status/election/b")
	if err := b.PutStatus(ctx, []byte("b1")); err != nil {
		t.Fatal(err)
	}
	want("b1")
	if err := a.PutStatus(ctx, []byte("a3")); !errors.Is(err, etcdstore.ErrNotLeader) {
		t.Fatalf("deposed leader's status: %v, want ErrNotLeader", err)
	}
	resp, err := cli.Get(ctx, "/status/status")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "b1" {
		t.Fatalf("etcd holds %v (%v), want b1", resp.Kvs, err)
	}
	select {
	case v := <-seen:
		t.Fatalf("follower got %q after the successor's status", v)
	case <-time.After(200 * time.Millisecond):
	}
}
