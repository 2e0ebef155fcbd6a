package etcdstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
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
//
// The commits of this store's own Applies that succeeded are passed
// over, neither decoded nor handed to fn: the writer that applied them
// holds them already (a leader would otherwise decode each of its commits
// again and queue it behind its next Sets only to skip it). A commit
// whose outcome stayed unknown is not its own and is handed on.
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
	// The log's pruning is of no use to a follower: etcd need not send it.
	wch := s.cli.Watch(wctx, s.p.logKey(0), clientv3.WithRange(s.p.logEnd()), clientv3.WithRev(*rev+1), clientv3.WithFilterDelete())
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
			if s.own.passed(ev.Kv.ModRevision) {
				if err := flush(); err != nil {
					return err
				}
				*rev = ev.Kv.ModRevision
				continue
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

// ownCommits is the revisions of the Txns in which this store committed
// commits, ascending, until Follow passes them: the commit log records at
// those revisions are the writer's own.
type ownCommits struct {
	// sending is held while a Txn that writes commits is in flight: the
	// watch may hand over its records before its answer arrives, and
	// waits for the answer rather than guess.
	sending sync.Mutex
	mu      sync.Mutex
	revs    []int64
}

// add records that the store's commits are at revision rev.
func (o *ownCommits) add(rev int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.revs = append(o.revs, rev)
}

// passed says whether rev holds the store's own commits (asked once per
// record of the Txn), waiting for the answer of a Txn in flight.
func (o *ownCommits) passed(rev int64) bool {
	if o.has(rev) {
		return true
	}
	o.sending.Lock() // an answer on its way: the Txn may be the one at rev
	o.sending.Unlock()
	return o.has(rev)
}

// has says whether rev is recorded, forgetting the revisions below it:
// the watch goes forward, so one it never reached (compacted away) is
// not asked about again.
func (o *ownCommits) has(rev int64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	i := 0
	for i < len(o.revs) && o.revs[i] < rev {
		i++
	}
	o.revs = o.revs[i:]
	return len(o.revs) > 0 && o.revs[0] == rev
}
