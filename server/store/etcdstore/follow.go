package etcdstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/netready/netready/server/store"
)

// ErrCompacted is returned by Follow when etcd no longer holds the
// revisions after the one to follow from: the follower must load afresh
// (LoadAt) and follow from that cut.
var ErrCompacted = errors.New("etcdstore: the revisions to follow were compacted")

// Follow calls fn with the commits every Apply wrote after cut, one call
// per etcd transaction (a group commit's commits together, in id order),
// with the revision of that transaction, until ctx ends or fn fails. It
// watches the commit log rather than the rows: a record carries the whole
// transaction, so a follower applies each whole and in commit order. A
// watch broken by the network is resumed from the last revision seen;
// a revision compacted away ends Follow with ErrCompacted.
func (s *Store) Follow(ctx context.Context, cut Cut, fn func(commits []*store.Commit, rev int64) error) error {
	rev := cut.Revision
	for {
		err := s.watch(ctx, &rev, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrCompacted) || !errors.Is(err, errWatchBroken) {
			return err
		}
		// A member without a leader ends watches at once: do not spin.
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

var errWatchBroken = errors.New("etcdstore: watch ended")

// watch runs one etcd watch from *rev+1, advancing *rev past every
// transaction handed to fn.
func (s *Store) watch(ctx context.Context, rev *int64, fn func([]*store.Commit, int64) error) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := s.cli.Watch(wctx, s.p.logKey(0), clientv3.WithRange(s.p.logEnd()), clientv3.WithRev(*rev+1))
	for resp := range wch {
		if resp.CompactRevision != 0 || errors.Is(resp.Err(), rpctypes.ErrCompacted) {
			return fmt.Errorf("%w: from revision %d (compacted at %d)", ErrCompacted, *rev+1, resp.CompactRevision)
		}
		if err := resp.Err(); err != nil {
			return fmt.Errorf("%w: %v", errWatchBroken, err)
		}
		// A response may hold several transactions; the events of one
		// share its revision.
		var batch []*store.Commit
		batchRev := int64(0)
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			slices.SortFunc(batch, func(a, b *store.Commit) int { return cmp.Compare(a.ID, b.ID) })
			if err := fn(batch, batchRev); err != nil {
				return err
			}
			*rev, batch = batchRev, nil
			return nil
		}
		for _, ev := range resp.Events {
			if ev.Type != clientv3.EventTypePut {
				continue // pruning the log
			}
			if ev.Kv.ModRevision != batchRev {
				if err := flush(); err != nil {
					return err
				}
				batchRev = ev.Kv.ModRevision
			}
			c, err := s.decodeLog(ev.Kv.Key, ev.Kv.Value)
			if err != nil {
				return err
			}
			batch = append(batch, c)
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return errWatchBroken
}

// Observed records that a follower applied commits up to id, so its
// LastCommitID says how far its copy is.
func (s *Store) Observed(id uint64) {
	for {
		cur := s.lastID.Load()
		if id <= cur || s.lastID.CompareAndSwap(cur, id) {
			return
		}
	}
}
