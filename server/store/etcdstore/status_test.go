package etcdstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

// statusBatch is one call of FollowStatus's fn.
type statusBatch struct {
	full    bool
	entries map[string]string // key → value ("" deleted)
}

func (b statusBatch) String() string { return fmt.Sprintf("full=%v %v", b.full, b.entries) }

// followStatus runs f.FollowStatus until the test ends, handing each
// call's entries to the returned channel; fn blocks while hold is held.
func followStatus(t *testing.T, f *etcdstore.Store, hold chan struct{}) <-chan statusBatch {
	t.Helper()
	seen := make(chan statusBatch, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		_ = f.FollowStatus(ctx, func(entries []etcdstore.StatusEntry, full bool) error {
			b := statusBatch{full: full, entries: map[string]string{}}
			for _, e := range entries {
				b.entries[e.Key] = string(e.Val)
			}
			seen <- b
			if hold != nil {
				hold <- struct{}{}
			}
			return nil
		}, func(err error) { t.Logf("status watch broke: %v", err) })
	}()
	return seen
}

// next is the next batch a follower got.
func next(t *testing.T, seen <-chan statusBatch) statusBatch {
	t.Helper()
	select {
	case b := <-seen:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("the follower got no status")
	}
	return statusBatch{}
}

func put(k, v string) etcdstore.StatusEntry { return etcdstore.StatusEntry{Key: k, Val: []byte(v)} }

// TestStatusFromLeaderOnly: a follower is handed the whole status, then
// each change the leader publishes (puts and deletes of objects), in
// order; a leader deposed (its election key's lease revoked) publishes
// nothing, so its successor's status stays.
func TestStatusFromLeaderOnly(t *testing.T) {
	c := etcdtest.Start(t, 1)
	cli := c.Client(t)
	o := etcdstore.Options{Prefix: "/status/", Guarded: true}
	a, b, f := open(t, cli, o), open(t, cli, o), open(t, cli, o)
	ctx := context.Background()
	if _, err := a.PutStatus(ctx, []etcdstore.StatusEntry{put("x", "none")}); !errors.Is(err, etcdstore.ErrNotLeader) {
		t.Fatalf("status before the election: %v, want ErrNotLeader", err)
	}
	seen := followStatus(t, f, nil)
	if got := next(t, seen); !got.full || len(got.entries) != 0 {
		t.Fatalf("first status %v, want a whole empty one", got)
	}

	leaseA := elect(t, cli, a, "/status/election/a")
	if n, err := a.PutStatus(ctx, []etcdstore.StatusEntry{put("x", "a1"), put("y", "a1")}); err != nil || n != 2 {
		t.Fatalf("published %d: %v", n, err)
	}
	if got := next(t, seen); got.full || got.entries["x"] != "a1" || got.entries["y"] != "a1" {
		t.Fatalf("follower got %v, want x and y a1", got)
	}
	if _, err := a.PutStatus(ctx, []etcdstore.StatusEntry{{Key: "y"}}); err != nil {
		t.Fatal(err)
	}
	if got := next(t, seen); got.full || len(got.entries) != 1 || got.entries["y"] != "" {
		t.Fatalf("follower got %v, want y deleted", got)
	}
	if _, err := cli.Revoke(ctx, leaseA); err != nil {
		t.Fatal(err)
	}
	elect(t, cli, b, "/status/election/b")
	if _, err := b.PutStatus(ctx, []etcdstore.StatusEntry{put("x", "b1")}); err != nil {
		t.Fatal(err)
	}
	if got := next(t, seen); got.entries["x"] != "b1" {
		t.Fatalf("follower got %v, want x b1", got)
	}
	if n, err := a.PutStatus(ctx, []etcdstore.StatusEntry{put("x", "a3"), put("z", "a3")}); !errors.Is(err, etcdstore.ErrNotLeader) || n != 0 {
		t.Fatalf("deposed leader's status: %d written, %v; want none, ErrNotLeader", n, err)
	}
	resp, err := cli.Get(ctx, "/status/status/", clientv3.WithPrefix())
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "b1" {
		t.Fatalf("etcd holds %v (%v), want x b1 alone", resp.Kvs, err)
	}
	select {
	case v := <-seen:
		t.Fatalf("follower got %v after the successor's status", v)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestStatusFitsDefaultLimits: on a cluster with etcd's default limits
// (128 ops, 1.5 MiB a request), a publication of 1,000 objects of 2 KiB
// (2 MiB, over both) is written whole, in several guarded Txns, and a
// follower reading it afresh gets every object.
func TestStatusFitsDefaultLimits(t *testing.T) {
	c := etcdtest.StartDefaultLimits(t, 1)
	cli := c.Client(t)
	o := etcdstore.Options{Prefix: "/dl/", Guarded: true}
	a, f := open(t, cli, o), open(t, cli, o)
	elect(t, cli, a, "/dl/election/a")
	val := bytes.Repeat([]byte("s"), 2048)
	entries := make([]etcdstore.StatusEntry, 1000)
	for i := range entries {
		entries[i] = etcdstore.StatusEntry{Key: fmt.Sprintf("/hosts/host[name=h%04d]/status", i), Val: val}
	}
	ctx := context.Background()
	r0, err := cli.Get(ctx, "/dl/meta/last")
	if err != nil {
		t.Fatal(err)
	}
	n, err := a.PutStatus(ctx, entries)
	if err != nil || n != len(entries) {
		t.Fatalf("published %d of %d: %v", n, len(entries), err)
	}
	got := 0
	rev, err := f.ReadStatus(ctx, func(e etcdstore.StatusEntry) error {
		if !bytes.Equal(e.Val, val) {
			return fmt.Errorf("%s holds %d bytes", e.Key, len(e.Val))
		}
		got++
		return nil
	})
	if err != nil || got != len(entries) {
		t.Fatalf("read %d objects back: %v", got, err)
	}
	// Each Txn is one revision.
	if txns := rev - r0.Header.Revision; txns < 8 {
		t.Fatalf("published in %d Txns, want at least 8 (1000 ops / 128, 2 MiB / 1 MiB)", txns)
	}
}

// TestStatusFollowerResyncsAfterCompaction: a follower whose watch
// would start at a compacted revision reads the whole status again and
// follows from there, ending with what the leader published last.
func TestStatusFollowerResyncsAfterCompaction(t *testing.T) {
	c := etcdtest.Start(t, 1)
	cli := c.Client(t)
	o := etcdstore.Options{Prefix: "/cp/", Guarded: true}
	a, f := open(t, cli, o), open(t, cli, o)
	elect(t, cli, a, "/cp/election/a")
	ctx := context.Background()
	if _, err := a.PutStatus(ctx, []etcdstore.StatusEntry{put("x", "1"), put("y", "1")}); err != nil {
		t.Fatal(err)
	}
	hold := make(chan struct{})
	seen := followStatus(t, f, hold)
	if got := next(t, seen); !got.full || got.entries["x"] != "1" || got.entries["y"] != "1" {
		t.Fatalf("first status %v, want x and y 1", got)
	}
	// The follower is busy with its first read while the leader goes on
	// and etcd compacts what its watch would start from.
	if _, err := a.PutStatus(ctx, []etcdstore.StatusEntry{put("x", "2"), {Key: "y"}}); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Put(ctx, "/cp/other", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	<-hold
	got := next(t, seen)
	<-hold
	if !got.full || len(got.entries) != 1 || got.entries["x"] != "2" {
		t.Fatalf("after the compaction the follower got %v, want the whole status again: x 2 alone", got)
	}
}
