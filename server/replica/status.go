package replica

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/store/etcdstore"
	"github.com/netready/netready/server/tree"
)

// DefaultStatusInterval is how often the leader looks for a changed
// realization status to publish: at most this many status writes to
// etcd per second (10), the changes in between coalesced into one.
const DefaultStatusInterval = 100 * time.Millisecond

// status is a published realization status: the state (config false)
// data of the tree, but for the top-level nodes whose state each replica
// keeps for itself, as the leader's tree held it at commit.
type status struct {
	commit  uint64
	payload *tree.Node
}

// encodeStatus is the realization status of root (at commit) as stored:
// the commit id (8 bytes) then the RFC 7951 JSON of the state.
func encodeStatus(root *tree.Node, commit uint64, own map[string]bool) []byte {
	t := tree.Begin(root)
	for _, k := range root.Children() {
		if own[k.Schema().Name] {
			t.Delete(tree.Path{{Schema: k.Schema()}})
		}
	}
	out := binary.BigEndian.AppendUint64(nil, commit)
	out, _ = tree.AppendJSON(out, t.Root(), true, tree.State)
	return out
}

// decodeStatus reads what encodeStatus wrote.
func decodeStatus(sch *schema.Schema, val []byte) (*status, error) {
	if len(val) < 8 {
		return nil, fmt.Errorf("replica: a published status of %d bytes", len(val))
	}
	payload, err := tree.DecodeStateJSON(sch.Root, val[8:])
	if err != nil {
		return nil, fmt.Errorf("replica: decoding the published status: %w", err)
	}
	return &status{commit: binary.BigEndian.Uint64(val), payload: payload}, nil
}

// stateRoots calls fn with the path and node of each top-most state node
// below root's top-level nodes that own does not name, once each.
func stateRoots(root *tree.Node, own map[string]bool, fn func(p tree.Path, n *tree.Node)) error {
	seen := map[string]bool{}
	return tree.LeavesUnder(root, nil, tree.State, nil, func(chain []*tree.Node) error {
		if own[chain[0].Schema().Name] {
			return nil
		}
		i := 0
		for i < len(chain) && chain[i].Schema().Config {
			i++
		}
		if i == len(chain) {
			return nil // a key leaf
		}
		p := tree.ChainPath(chain[:i+1])
		if k := tree.PathString(p); !seen[k] {
			seen[k] = true
			fn(p, chain[i])
		}
		return nil
	})
}

// statusEdit replaces the state node at path with node (nil: deletes it).
type statusEdit struct {
	path tree.Path
	node *tree.Node
}

// statusEdits is what makes root's realization status st's: the status
// root has that st lacks is deleted, and st's replaces it where it
// differs (a state node st holds unchanged is left as it is, so a
// follower's subscribers hear only what changed). A nil st clears the
// status. It reads root only: a follower computes it outside its writer.
func statusEdits(root *tree.Node, st *status, own map[string]bool) ([]statusEdit, error) {
	old := map[string]*tree.Node{}
	var stale []statusEdit
	err := stateRoots(root, own, func(p tree.Path, n *tree.Node) {
		old[tree.PathString(p)] = n
		stale = append(stale, statusEdit{path: p})
	})
	if err != nil || st == nil {
		return stale, err
	}
	var edits []statusEdit
	kept := map[string]bool{}
	err = stateRoots(st.payload, own, func(p tree.Path, n *tree.Node) {
		k := tree.PathString(p)
		kept[k] = true
		if o := old[k]; o == nil || !sameState(o, n) {
			edits = append(edits, statusEdit{path: p, node: n})
		}
	})
	for _, e := range stale {
		if !kept[tree.PathString(e.path)] {
			edits = append(edits, e)
		}
	}
	return edits, err
}

// applyEdits writes edits into t; a node whose object t no longer holds
// (deleted since the status was built) is not written, so late status
// never resurrects an object.
func applyEdits(t *tree.Txn, edits []statusEdit) error {
	var errs []error
	for _, e := range edits {
		switch {
		case e.node == nil:
			t.Delete(e.path)
		case tree.Lookup(t.Root(), e.path[:len(e.path)-1]) != nil:
			if err := t.Replace(e.path, e.node); err != nil {
				errs = append(errs, fmt.Errorf("status at %s: %w", tree.PathString(e.path), err))
			}
		}
	}
	return errors.Join(errs...)
}

// replaceStatus makes t's realization status st's (nil: none).
func replaceStatus(t *tree.Txn, st *status, own map[string]bool) error {
	edits, err := statusEdits(t.Root(), st, own)
	if err != nil {
		return err
	}
	return applyEdits(t, edits)
}

// sameState reports whether two state nodes hold the same data.
func sameState(a, b *tree.Node) bool {
	ja, _ := tree.AppendJSON(nil, a, true, tree.All)
	jb, _ := tree.AppendJSON(nil, b, true, tree.All)
	return bytes.Equal(ja, jb)
}

// publishCPUShare bounds the leader's publication work: after a
// publication that took d, the next waits at least d/publishCPUShare
// (a large status, slow to encode and store, is published less often).
const publishCPUShare = 0.25

// publishStatus writes the leader's realization status to the store each
// interval in which it changed, until ctx (the term) ends.
func (r *Replica) publishStatus(ctx context.Context, ds *datastore.Datastore) {
	wait := time.NewTimer(r.opts.StatusInterval)
	defer wait.Stop()
	var seq uint64
	var last []byte // the JSON last published
	for {
		select {
		case <-ctx.Done():
			return
		case <-wait.C:
		}
		began := time.Now()
		snap := ds.Snapshot()
		if snap.Seq != seq || last == nil {
			val := encodeStatus(snap.Root, snap.CommitID, r.own)
			switch err := r.putChanged(ctx, val, last); {
			case errors.Is(err, etcdstore.ErrNotLeader):
				return
			case err == nil:
				seq, last = snap.Seq, val[8:]
			}
		}
		wait.Reset(max(r.opts.StatusInterval, time.Duration(float64(time.Since(began))/publishCPUShare)))
	}
}

// putChanged stores val unless its status is last's.
func (r *Replica) putChanged(ctx context.Context, val, last []byte) error {
	if last != nil && bytes.Equal(val[8:], last) {
		return nil // a commit that changed no status
	}
	err := r.st.PutStatus(ctx, val)
	if err != nil && ctx.Err() == nil {
		r.log.Warn("publishing the realization status failed", "err", err, "bytes", len(val))
	}
	return err
}

// followStatus takes the leader's published status while this replica
// follows, until ctx ends.
func (r *Replica) followStatus(ctx context.Context, ds *datastore.Datastore) {
	r.st.FollowStatus(ctx, func(val []byte) {
		if r.leading.Load() {
			return // its own publication
		}
		st, err := decodeStatus(ds.Schema(), val)
		if err != nil {
			r.log.Warn("ignoring a published status", "err", err)
			return
		}
		r.pending.Store(st)
		r.applyStatus(ctx, ds)
	}, func(err error) {
		r.log.Warn("following the realization status broke; reading it again", "err", err)
	})
}

// applyStatus applies the newest published status once this follower's
// configuration has the commit it was built at (the two arrive on
// separate watches); the commit follower calls it again after each
// commit. The edits are worked out from a snapshot outside the writer
// (a follower's realization status changes only here, one call at a
// time), which then only writes them. The leader's own status is its
// engine's: it applies none.
func (r *Replica) applyStatus(ctx context.Context, ds *datastore.Datastore) {
	r.applying.Lock()
	defer r.applying.Unlock()
	st := r.pending.Load()
	snap := ds.Snapshot()
	if st == nil || r.leading.Load() || snap.CommitID < st.commit {
		return
	}
	edits, err := statusEdits(snap.Root, st, r.own)
	if err == nil {
		r.pending.CompareAndSwap(st, nil)
		err = ds.UpdateState(ctx, func(t *tree.Txn) error {
			if r.leading.Load() {
				return nil
			}
			return applyEdits(t, edits)
		})
	}
	if err != nil && ctx.Err() == nil {
		r.log.Warn("applying the leader's status failed", "err", err)
	}
}

// clearStatus removes the realization status a previous leader published,
// before this replica's engine starts: what it shows from then on is its
// own engine's.
func (r *Replica) clearStatus(ctx context.Context, ds *datastore.Datastore) error {
	return ds.UpdateState(ctx, func(t *tree.Txn) error { return replaceStatus(t, nil, r.own) })
}
