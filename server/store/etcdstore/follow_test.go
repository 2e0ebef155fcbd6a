package etcdstore_test

import (
	"context"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/store/etcdstore"
	"github.com/netready/netready/server/store/etcdstore/etcdtest"
)

// following runs s.Follow from cut until it has handed on commit until,
// and returns the ids of the commits it handed on, in order, once it has.
func following(t *testing.T, s *etcdstore.Store, cut etcdstore.Cut, until uint64) func() []uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	var ids []uint64
	done := make(chan error, 1)
	go func() {
		done <- s.Follow(ctx, cut, func(commits []*store.Commit, _ int64) error {
			for _, c := range commits {
				ids = append(ids, c.ID)
			}
			if ids[len(ids)-1] >= until {
				cancel()
			}
			return nil
		})
	}()
	return func() []uint64 {
		t.Helper()
		err := <-done
		cancel()
		if len(ids) == 0 || ids[len(ids)-1] != until {
			t.Fatalf("follow ended (%v) having handed on %v, not up to commit %d", err, ids, until)
		}
		return ids
	}
}

// TestFollowPassesOverOwnCommits: the writer's own watch of the commit
// log, running while it writes, does not hand back the commits it wrote
// and was told were committed (its datastore holds them: a leader used to
// decode each again and queue it behind its next Sets only to skip it),
// not even when a record arrives before the Txn's answer; a commit whose
// answer was lost (landed, as resolving found) and another writer's
// commits are handed on, and a follower gets every commit.
func TestFollowPassesOverOwnCommits(t *testing.T) {
	c := etcdtest.Start(t, 3)
	var lost atomic.Int32
	o := etcdstore.Options{Prefix: "/own/"}
	w := open(t, loseAnswers(t, c, &lost), o)
	f := open(t, c.Client(t), o)
	from := etcdstore.Cut{Revision: w.Revision()}
	ownWatch := following(t, w, from, 6)
	ctx := context.Background()
	apply := func(s *etcdstore.Store, ids ...uint64) {
		t.Helper()
		var batch []*store.Commit
		for _, id := range ids {
			batch = append(batch, commit(id, "/a", string(rune('0'+id))))
		}
		if err := s.Apply(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	apply(w, 1)
	apply(w, 2)
	lost.Store(1)
	apply(w, 3) // its answer lost, found committed
	apply(w, 4, 5)
	other := open(t, c.Client(t), o)
	if err := other.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	apply(other, 6)

	if got, want := ownWatch(), []uint64{3, 6}; !reflect.DeepEqual(got, want) {
		t.Fatalf("the writer's own watch handed on commits %v, want %v (its lost answer and the other writer's)", got, want)
	}
	if got, want := following(t, f, from, 6)(), []uint64{1, 2, 3, 4, 5, 6}; !reflect.DeepEqual(got, want) {
		t.Fatalf("a follower was handed commits %v, want %v", got, want)
	}
}

// TestFollowGetsNoPrunes: the log's pruning (a range delete with every
// Apply once the retention is reached) is not sent to the replicas'
// watches, which have no use for it: counted on the real client's watch
// stream, a follower receives the records and no deletions.
func TestFollowGetsNoPrunes(t *testing.T) {
	c := etcdtest.Start(t, 3)
	var puts, deletes atomic.Int32
	count := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil || method != "/etcdserverpb.Watch/Watch" {
			return cs, err
		}
		return &countingStream{ClientStream: cs, puts: &puts, deletes: &deletes}, nil
	}
	fcli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithChainStreamInterceptor(count)}})
	if err != nil {
		t.Fatal(err)
	}
	defer fcli.Close()
	o := etcdstore.Options{Prefix: "/prune/", Retention: 2}
	w := open(t, c.Client(t), o)
	f := open(t, fcli, o)
	done := following(t, f, etcdstore.Cut{Revision: f.Revision()}, 10)
	for id := uint64(1); id <= 10; id++ {
		if err := w.Apply(context.Background(), []*store.Commit{commit(id, "/a", "v")}); err != nil {
			t.Fatal(err)
		}
	}
	done()
	if puts.Load() != 10 || deletes.Load() != 0 {
		t.Fatalf("the follower's watch received %d records and %d deletions, want 10 and 0", puts.Load(), deletes.Load())
	}
}

// countingStream counts the events of the watch responses it receives.
type countingStream struct {
	grpc.ClientStream
	puts, deletes *atomic.Int32
}

func (s *countingStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if resp, ok := m.(*etcdserverpb.WatchResponse); ok && err == nil {
		for _, ev := range resp.Events {
			if ev.Type == mvccpb.DELETE {
				s.deletes.Add(1)
			} else {
				s.puts.Add(1)
			}
		}
	}
	return err
}
