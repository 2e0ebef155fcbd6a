package datastore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/server/validate"
)

// admitAndApply asks the gate about req, computes the rows a restore
// brings back, and applies req on top of root. stored is the newest
// stored commit; batch the commits accepted before req in its batch, not
// stored yet.
func (d *Datastore) admitAndApply(root *tree.Node, req *Request, stored uint64, batch []*store.Commit) (*changeset.Set, *validate.Delta, error) {
	if d.gate != nil {
		if err := d.gate.Admit(req); err != nil {
			return nil, nil, err
		}
	} else if req.Action != nil {
		// Ignored, a commit-confirmed would never roll back.
		return nil, nil, &tree.Error{Kind: tree.KindUnimplemented, Msg: "this server takes no commit-confirmed steps"}
	}
	var rows []store.RowChange
	if req.Restore != nil {
		var err error
		if rows, err = d.restoreRows(req.Restore.To, stored, batch); err != nil {
			return nil, nil, err
		}
	}
	return d.apply(root, req, rows)
}

// restoreRows returns every row changed after commit to, with (as New)
// the value it had right after commit to: the first old value the commit
// log holds for it after that commit. Parents come before their
// children (key order), as RestoreRow needs them.
func (d *Datastore) restoreRows(to, stored uint64, batch []*store.Commit) ([]store.RowChange, error) {
	newest := stored + uint64(len(batch))
	if to > newest {
		return nil, &tree.Error{Kind: tree.KindInvalid, Msg: fmt.Sprintf("commit %d does not exist (the newest is %d)", to, newest)}
	}
	seen := map[string]bool{}
	var rows []store.RowChange
	take := func(c *store.Commit) {
		for _, ch := range c.Changes {
			if !seen[ch.Key] {
				seen[ch.Key] = true
				rows = append(rows, store.RowChange{Key: ch.Key, New: ch.Old})
			}
		}
	}
	if to < stored {
		first := true
		err := d.st.Commits(context.Background(), to+1, stored, func(c *store.Commit) error {
			if first && c.ID != to+1 {
				return pruned(to, c.ID)
			}
			first = false
			take(c)
			return nil
		})
		if err == nil && first {
			err = pruned(to, 0)
		}
		if err != nil {
			return nil, err
		}
	}
	for _, c := range batch {
		if c.ID > to {
			take(c)
		}
	}
	slices.SortFunc(rows, func(a, b store.RowChange) int { return strings.Compare(a.Key, b.Key) })
	return rows, nil
}

// pruned is the error for a restore past the commit log's retention.
func pruned(to, oldest uint64) error {
	msg := fmt.Sprintf("commit %d can no longer be restored: the commit log no longer holds the commits after it", to)
	if oldest > 0 {
		msg += fmt.Sprintf(" (the oldest it keeps is %d)", oldest)
	}
	return &tree.Error{Kind: tree.KindConflict, Msg: msg}
}

func (d *Datastore) gateDone(stored bool) {
	if d.gate != nil {
		d.gate.Done(stored)
	}
}
