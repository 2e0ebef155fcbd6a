package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The leader's realization status is operational state, neither
// configuration nor commit log: one key per object that has status,
// P status/<object key>, each publication writing only the objects whose
// status changed, read by followers from a watch of the prefix.
func (p keys) statusKey(k string) string { return string(p) + "status/" + k }
func (p keys) statusEnd() string         { return string(p) + "status0" }

// A publication is split into Txns that fit etcd's default limits
// (--max-txn-ops 128, --max-request-bytes 1.5 MiB), whatever a cluster
// is configured with: status never needs a raised limit.
const (
	// MaxStatusOps is the most puts and deletes one status Txn holds.
	MaxStatusOps = 128
	// MaxStatusBytes bounds one status Txn's keys and values (an object
	// larger than that goes alone), leaving room below 1.5 MiB for the
	// request's framing.
	MaxStatusBytes = 1 << 20
	// statusOpOverhead is what one op adds to a request beyond its key
	// and value (protobuf framing), counted against MaxStatusBytes.
	statusOpOverhead = 16
)

// StatusEntry is one object's published status.
type StatusEntry struct {
	Key string // the object's key, below P status/
	Val []byte // nil: the object has no status (any more)
}

// PutStatus writes entries (puts, and deletes where Val is nil) in
// order, in as many Txns as the status limits ask, each guarded by the
// election key like every write: a deposed leader's status never
// replaces its successor's (ErrNotLeader, that Txn and the rest not
// written). It returns how many entries are in etcd (entries[:n]).
func (s *Store) PutStatus(ctx context.Context, entries []StatusEntry) (n int, err error) {
	g := s.guard.Load()
	if g == nil {
		return 0, fmt.Errorf("%w: not elected; status not published", ErrNotLeader)
	}
	for n < len(entries) {
		end := statusBatchEnd(entries[n:]) + n
		if err := s.putStatusTxn(ctx, g, entries[n:end]); err != nil {
			return n, err
		}
		n = end
	}
	return n, nil
}

// statusBatchEnd is how many of entries (at least one) the next Txn takes.
func statusBatchEnd(entries []StatusEntry) int {
	size := 0
	for i, e := range entries {
		size += len(e.Key) + len(e.Val) + statusOpOverhead
		if i > 0 && (i == MaxStatusOps || size > MaxStatusBytes) {
			return i
		}
	}
	return len(entries)
}

// putStatusTxn writes entries in one Txn guarded by g.
func (s *Store) putStatusTxn(ctx context.Context, g *guard, entries []StatusEntry) error {
	ops := make([]clientv3.Op, len(entries))
	for i, e := range entries {
		if e.Val == nil {
			ops[i] = clientv3.OpDelete(s.p.statusKey(e.Key))
		} else {
			ops[i] = clientv3.OpPut(s.p.statusKey(e.Key), string(e.Val))
		}
	}
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.cli.Txn(tctx).
		If(clientv3.Compare(clientv3.CreateRevision(g.key), "=", g.rev)).
		Then(ops...).
		Commit()
	if err != nil {
		return fmt.Errorf("etcdstore: publishing the status of %d objects: %w", len(entries), txnError(err))
	}
	if !resp.Succeeded {
		return fmt.Errorf("%w: election key %s is gone or another's; status not published", ErrNotLeader, g.key)
	}
	return nil
}

// ReadStatus calls fn with every published status, in key order, read at
// one revision (page by page), which it returns.
func (s *Store) ReadStatus(ctx context.Context, fn func(StatusEntry) error) (int64, error) {
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	resp, err := s.cli.Get(rctx, s.p.statusKey(""), clientv3.WithRange(s.p.statusEnd()), clientv3.WithCountOnly())
	cancel()
	if err != nil {
		return 0, fmt.Errorf("etcdstore: reading the status: %w", err)
	}
	rev := resp.Header.Revision
	base := len(s.p.statusKey(""))
	err = s.scan(ctx, s.p.statusKey(""), s.p.statusEnd(), rev, false, func(k, v []byte) error {
		return fn(StatusEntry{Key: string(k[base:]), Val: v})
	})
	if err != nil {
		return 0, fmt.Errorf("etcdstore: reading the status: %w", err)
	}
	return rev, nil
}

// FollowStatus calls fn with the whole published status (full true: what
// it does not name has none), then with each change (full false: the
// objects named changed, a nil Val deleted), in order, until ctx ends or
// fn fails (its error returned). A broken or compacted watch is told to
// broken, then the status is read whole again and followed from there.
func (s *Store) FollowStatus(ctx context.Context, fn func(entries []StatusEntry, full bool) error, broken func(error)) error {
	for ctx.Err() == nil {
		var all []StatusEntry
		rev, err := s.ReadStatus(ctx, func(e StatusEntry) error { all = append(all, e); return nil })
		if err == nil {
			if err := fn(all, true); err != nil {
				return err
			}
			err = s.watchStatus(ctx, rev, fn)
		}
		if ctx.Err() != nil {
			break
		}
		var stop *stopError
		if errors.As(err, &stop) {
			return stop.err
		}
		broken(err)
		select { // a member without a leader ends watches at once
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	return ctx.Err()
}

// stopError carries fn's error out of watchStatus, apart from the
// watch's own.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }

// watchStatus hands fn the changes written after rev, one call per watch
// response (of several changes to one object in it, the last), until the
// watch ends.
func (s *Store) watchStatus(ctx context.Context, rev int64, fn func([]StatusEntry, bool) error) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	base := len(s.p.statusKey(""))
	wch := s.cli.Watch(wctx, s.p.statusKey(""), clientv3.WithRange(s.p.statusEnd()), clientv3.WithRev(rev+1))
	for resp := range wch {
		if resp.CompactRevision != 0 || errors.Is(resp.Err(), rpctypes.ErrCompacted) {
			return fmt.Errorf("%w: the status from revision %d (compacted at %d)", ErrCompacted, rev+1, resp.CompactRevision)
		}
		if err := resp.Err(); err != nil {
			return fmt.Errorf("etcdstore: watching the status: %w", err)
		}
		at := make(map[string]int, len(resp.Events))
		var changes []StatusEntry
		for _, ev := range resp.Events {
			e := StatusEntry{Key: string(ev.Kv.Key[base:])}
			if ev.Type == clientv3.EventTypePut {
				e.Val = ev.Kv.Value
			}
			if i, ok := at[e.Key]; ok {
				changes[i] = e
				continue
			}
			at[e.Key] = len(changes)
			changes = append(changes, e)
		}
		if err := fn(changes, false); err != nil {
			return &stopError{err}
		}
	}
	return errors.New("etcdstore: status watch ended")
}
