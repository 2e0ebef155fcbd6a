package datastore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/tree"
)

// ApplyCommitted applies commits another replica wrote to the shared
// store (durable already), in order: each one's rows change the tree and
// it is published as one transaction, as if this datastore had committed
// it, so a subscriber here sees it whole and in commit order. Commits at
// or below the snapshot's are skipped (this replica's own, seen again);
// one that leaves a gap is an error and nothing of the call is applied
// (the caller loads afresh: ReplaceCommitted). It runs in the writer, in
// order with the Sets.
func (d *Datastore) ApplyCommitted(ctx context.Context, commits []*store.Commit) error {
	var err error
	_, serr := d.submit(&pending{ctx: ctx, run: func() { err = d.applyCommitted(commits) }, reply: make(chan reply, 1)})
	if serr != nil {
		return serr
	}
	return err
}

func (d *Datastore) applyCommitted(commits []*store.Commit) error {
	cur := d.snap.Load()
	root, id := cur.Root, cur.CommitID
	var events []Event
	for _, c := range commits {
		if c.ID <= id {
			continue
		}
		if c.ID != id+1 {
			return fmt.Errorf("datastore: commit %d follows %d: commits %d..%d are missing", c.ID, id, id+1, c.ID-1)
		}
		next, err := restoreCommit(root, c)
		if err != nil {
			return err
		}
		cs := changeset.Compute(root, next)
		if delta, err := d.val.Check(cs, nil); err == nil {
			d.val.Commit(delta)
		} else {
			// Valid where it was written; the index is rebuilt rather
			// than left wrong.
			d.log.Warn("a commit written by another replica does not validate here", "commit", c.ID, "err", err)
			d.val.Reset(next)
		}
		events = append(events, Event{CommitID: c.ID, Time: c.Time, Changes: cs})
		root, id = next, c.ID
	}
	if len(events) > 0 {
		d.publish(root, id, events[len(events)-1].Time, events)
	}
	return nil
}

// restoreCommit is root with the rows c wrote, parents first.
func restoreCommit(root *tree.Node, c *store.Commit) (*tree.Node, error) {
	final := map[string][]byte{}
	for _, ch := range c.Changes {
		final[ch.Key] = ch.New
	}
	keys := make([]string, 0, len(final))
	for k := range final {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	txn := tree.Begin(root)
	for _, k := range keys {
		if err := txn.RestoreRow(k, final[k]); err != nil {
			return nil, fmt.Errorf("datastore: commit %d row %s: %w", c.ID, k, err)
		}
	}
	return txn.Root(), nil
}

// ReplaceCommitted makes root, a fresh load of the shared store holding
// commits up to commitID, the configuration, published as one change: a
// follower that fell too far behind (its watch compacted away) resyncs.
// The operational state is kept.
func (d *Datastore) ReplaceCommitted(ctx context.Context, root *tree.Node, commitID uint64) error {
	var err error
	_, serr := d.submit(&pending{ctx: ctx, run: func() { err = d.replaceCommitted(root, commitID) }, reply: make(chan reply, 1)})
	if serr != nil {
		return serr
	}
	return err
}

func (d *Datastore) replaceCommitted(loaded *tree.Node, commitID uint64) error {
	cur := d.snap.Load()
	if commitID < cur.CommitID {
		return fmt.Errorf("datastore: a load at commit %d is older than commit %d served", commitID, cur.CommitID)
	}
	// Carry the configuration over onto the current tree, state kept:
	// every row of either tree takes the loaded value.
	txn := tree.Begin(cur.Root)
	for _, r := range tree.RowsOf(changeset.Compute(cur.Root, loaded).Walk) {
		if err := txn.RestoreRow(r.Key, r.New); err != nil {
			return fmt.Errorf("datastore: resync row %s: %w", r.Key, err)
		}
	}
	root := txn.Root()
	d.val.Reset(root)
	cs := changeset.Compute(cur.Root, root)
	d.publish(root, commitID, cur.Time, []Event{{CommitID: commitID, Time: cur.Time, Changes: cs}})
	return nil
}

// LoadRows builds the configuration tree rows hands to its fn: a
// follower's fresh load, for ReplaceCommitted.
func (d *Datastore) LoadRows(rows func(fn func(key string, value []byte) error) error) (*tree.Node, error) {
	txn := tree.Begin(tree.NewRoot(d.sch))
	if err := rows(txn.LoadRow); err != nil {
		return nil, fmt.Errorf("datastore: load: %w", err)
	}
	return txn.Root(), nil
}
