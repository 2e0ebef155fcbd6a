package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/store/etcdstore"
	"github.com/netready/netready/server/store/etcdstore/etcdtest"
	"github.com/netready/netready/server/store/storetest"
)

func open(t *testing.T, cli *clientv3.Client, o etcdstore.Options) *etcdstore.Store {
	t.Helper()
	s, err := etcdstore.Open(context.Background(), cli, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestConformance: the etcd store passes the tests every backend does,
// on a three-member cluster; each subtest under its own prefix.
func TestConformance(t *testing.T) {
	cli := etcdtest.Start(t, 3).Client(t)
	storetest.Run(t, func(t *testing.T, name string, o storetest.Options) store.Store {
		return open(t, cli, etcdstore.Options{
			Prefix:    "/" + t.Name() + "/" + name + "/",
			Retention: o.Retention, AuditRetention: o.AuditRetention, AuditRetentionBytes: o.AuditRetentionBytes,
		})
	})
}

func commit(id uint64, key, val string) *store.Commit {
	return &store.Commit{ID: id, Changes: []store.RowChange{{Key: key, New: []byte(val)}}}
}

// TestTwoWritersNeverShareAnID: two stores on one prefix (two replicas
// that both believe they write) race for the same commit ids; each id is
// written exactly once, the loser's batch not at all, and the loser can
// go on only after a resync.
func TestTwoWritersNeverShareAnID(t *testing.T) {
	c := etcdtest.Start(t, 3)
	o := etcdstore.Options{Prefix: "/race/"}
	a, b := open(t, c.Client(t), o), open(t, c.Client(t), o)
	ctx := context.Background()
	for id := uint64(1); id <= 20; id++ {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range []*etcdstore.Store{a, b} {
			wg.Go(func() { errs[i] = s.Apply(ctx, []*store.Commit{commit(id, "/who", string(rune('a'+i)))}) })
		}
		wg.Wait()
		for _, s := range []*etcdstore.Store{a, b} {
			if err := s.Resync(ctx); err != nil {
				t.Fatal(err)
			}
		}
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, etcdstore.ErrConflict):
				t.Fatalf("commit %d: %v, want success or ErrConflict", id, err)
			}
		}
		if won != 1 {
			t.Fatalf("commit %d: %d writers won (%v)", id, won, errs)
		}
	}
	var ids []uint64
	if err := a.Commits(ctx, 0, 0, func(c *store.Commit) error { ids = append(ids, c.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 20 || ids[0] != 1 || ids[19] != 20 {
		t.Fatalf("commit log %v, want 1..20 once each", ids)
	}
}

// TestTooLargeRefusedWhole: a batch over etcd's --max-txn-ops is
// refused as store.ErrTooLarge and nothing of it is written.
func TestTooLargeRefusedWhole(t *testing.T) {
	s := open(t, etcdtest.Start(t, 3).Client(t), etcdstore.Options{Prefix: "/big/"})
	c := &store.Commit{ID: 1}
	for i := range etcdtest.MaxTxnOps {
		c.Changes = append(c.Changes, store.RowChange{Key: fmt.Sprintf("/r%05d", i), New: []byte("v")})
	}
	err := s.Apply(context.Background(), []*store.Commit{c})
	if !errors.Is(err, store.ErrTooLarge) || !strings.Contains(err.Error(), "max-txn-ops") {
		t.Fatalf("%d rows: %v, want ErrTooLarge naming --max-txn-ops", len(c.Changes), err)
	}
	n := 0
	if err := s.Load(context.Background(), func(string, []byte) error { n++; return nil }); err != nil || n != 0 || s.LastCommitID() != 0 {
		t.Fatalf("after the refusal: %d rows, last %d, err %v", n, s.LastCommitID(), err)
	}
	if err := s.Apply(context.Background(), []*store.Commit{commit(1, "/a", "1")}); err != nil {
		t.Fatal(err)
	}
}
