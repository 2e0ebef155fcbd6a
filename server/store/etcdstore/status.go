package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// status is the key of the leader's realization status: operational
// state, neither configuration nor commit log, so one key that each
// publication replaces, read by followers from a watch.
func (p keys) status() string { return string(p) + "status" }

// PutStatus replaces the published realization status with val, in one
// Txn guarded by the election key like every write: a deposed leader's
// status never replaces its successor's (ErrNotLeader, nothing written).
func (s *Store) PutStatus(ctx context.Context, val []byte) error {
	g := s.guard.Load()
	if g == nil {
		return fmt.Errorf("%w: not elected; status not published", ErrNotLeader)
	}
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.cli.Txn(tctx).
		If(clientv3.Compare(clientv3.CreateRevision(g.key), "=", g.rev)).
		Then(clientv3.OpPut(s.p.status(), string(val))).
		Commit()
	if err != nil {
		return fmt.Errorf("etcdstore: publishing the status: %w", txnError(err))
	}
	if !resp.Succeeded {
		return fmt.Errorf("%w: election key %s is gone or another's; status not published", ErrNotLeader, g.key)
	}
	return nil
}

// FollowStatus calls fn with the published status (if any) and then with
// newer ones, in order, until ctx ends (of several etcd delivers at once,
// the newest). A broken or compacted watch
// is told to broken, then the key is read again and followed from there:
// only the newest status matters.
func (s *Store) FollowStatus(ctx context.Context, fn func(val []byte), broken func(error)) {
	for ctx.Err() == nil {
		rev, err := s.readStatus(ctx, fn)
		if err == nil {
			err = s.watchStatus(ctx, rev, fn)
		}
		if ctx.Err() != nil {
			return
		}
		broken(err)
		select { // a member without a leader ends watches at once
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
		}
	}
}

// readStatus hands the current status to fn and returns the revision read.
func (s *Store) readStatus(ctx context.Context, fn func([]byte)) (int64, error) {
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.cli.Get(tctx, s.p.status())
	if err != nil {
		return 0, fmt.Errorf("etcdstore: reading the status: %w", err)
	}
	if len(resp.Kvs) == 1 {
		fn(resp.Kvs[0].Value)
	}
	return resp.Header.Revision, nil
}

// watchStatus hands every status written after rev to fn until the watch
// ends.
func (s *Store) watchStatus(ctx context.Context, rev int64, fn func([]byte)) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range s.cli.Watch(wctx, s.p.status(), clientv3.WithRev(rev+1)) {
		if err := resp.Err(); err != nil {
			return fmt.Errorf("etcdstore: watching the status: %w", err)
		}
		// Only the newest of a response's statuses matters.
		for i := len(resp.Events) - 1; i >= 0; i-- {
			if ev := resp.Events[i]; ev.Type == clientv3.EventTypePut {
				fn(ev.Kv.Value)
				break
			}
		}
	}
	return errors.New("etcdstore: status watch ended")
}
