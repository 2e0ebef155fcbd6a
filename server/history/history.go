// Package history answers the gNMI History extension from the commit log:
// the configuration as it was at a past time, and the commits of a time
// range replayed in order.
//
// Nothing is stored for history beyond the commit log, whose records hold
// every row a commit wrote with its value before and after. A past version
// is rebuilt from the newest published tree by walking the log back to
// the requested time and restoring, for each row the commits since then
// touched, its value before the first of them: the cost follows the
// number of commits and rows in between, not the size of the
// configuration (the tree is persistent, so the current one is shared,
// never copied). The log is bounded by its retention: a time before what
// it still covers is refused with OutOfRange.
package history

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/tree"
)

// Log is the commit log history reads (store.Bolt).
type Log interface {
	// CommitsBack calls fn for each logged commit with ID <= to, newest
	// first, until fn returns false.
	CommitsBack(ctx context.Context, to uint64, fn func(*store.Commit) (bool, error)) error
	// Commits calls fn for each logged commit with from <= ID <= to,
	// oldest first.
	Commits(ctx context.Context, from, to uint64, fn func(*store.Commit) error) error
}

// Current is where history starts from: the newest published tree.
type Current interface {
	Snapshot() *datastore.Snapshot
	Schema() *schema.Schema
}

// Reader rebuilds past configurations.
type Reader struct {
	cur Current
	log Log
}

// New returns a reader over the datastore's published trees and the
// store's commit log.
func New(cur Current, log Log) *Reader { return &Reader{cur: cur, log: log} }

// At returns the tree as of t: every commit made at or before t applied,
// none after. Its configuration is exact; its state (config false) is
// today's, for the objects that exist in both, which is why callers
// answer from it with the Config filter. CommitID is the newest commit
// the tree holds, Time is t.
func (r *Reader) At(ctx context.Context, t time.Time) (*datastore.Snapshot, error) {
	snap := r.cur.Snapshot()
	before := map[string][]byte{} // row key -> value before the first commit after t
	oldest, reached := snap.CommitID+1, false
	err := r.log.CommitsBack(ctx, snap.CommitID, func(c *store.Commit) (bool, error) {
		if !c.Time.After(t) {
			reached = true
			return false, nil
		}
		oldest = c.ID
		for i := len(c.Changes) - 1; i >= 0; i-- {
			before[c.Changes[i].Key] = c.Changes[i].Old
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	// Without a logged commit at or before t, the log must reach back to
	// the very first commit (whose before is the empty configuration).
	if !reached && oldest > 1 {
		return nil, &tree.Error{Kind: tree.KindOutOfRange, Msg: fmt.Sprintf(
			"history: %s is before what the commit log retains (its oldest commit is %d; commits before it were pruned)",
			t.UTC().Format(time.RFC3339Nano), oldest)}
	}
	root, err := r.restore(snap.Root, before)
	if err != nil {
		return nil, err
	}
	return &datastore.Snapshot{Root: root, CommitID: oldest - 1, Time: t}, nil
}

// restore sets each row to its value: deletions first, then the rows that
// exist, parents before children.
func (r *Reader) restore(root *tree.Node, rows map[string][]byte) (*tree.Node, error) {
	type row struct {
		key   string
		depth int
	}
	var set []row
	txn := tree.Begin(root)
	for k, v := range rows {
		if v == nil {
			if err := txn.RestoreRow(k, nil); err != nil {
				return nil, fmt.Errorf("history: %w", err)
			}
			continue
		}
		d, err := tree.RowDepth(r.cur.Schema(), k)
		if err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		set = append(set, row{k, d})
	}
	slices.SortFunc(set, func(a, b row) int { return cmp.Compare(a.depth, b.depth) })
	for _, s := range set {
		if err := txn.RestoreRow(s.key, rows[s.key]); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
	}
	return txn.Root(), nil
}

// errStop ends a walk of the commit log early; it is not a failure.
var errStop = errors.New("history: stop")

// Range returns the tree as of just before start and, in commit order,
// an event for every commit made in [start, end): what it changed, as the
// telemetry hub would have published it (configuration only).
func (r *Reader) Range(ctx context.Context, start, end time.Time) (*datastore.Snapshot, []datastore.Event, error) {
	base, err := r.At(ctx, start.Add(-1))
	if err != nil {
		return nil, nil, err
	}
	last := r.cur.Snapshot().CommitID
	if base.CommitID >= last {
		return base, nil, nil
	}
	var events []datastore.Event
	root := base.Root
	err = r.log.Commits(ctx, base.CommitID+1, last, func(c *store.Commit) error {
		if !c.Time.Before(end) {
			return errStop
		}
		txn := tree.Begin(root)
		for _, ch := range c.Changes {
			if err := txn.RestoreRow(ch.Key, ch.New); err != nil {
				return err
			}
		}
		cs := changeset.Compute(root, txn.Root())
		root = txn.Root()
		events = append(events, datastore.Event{CommitID: c.ID, Time: c.Time, Changes: cs})
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, nil, fmt.Errorf("history: %w", err)
	}
	return base, events, nil
}
