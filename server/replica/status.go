package replica

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/store/etcdstore"
	"github.com/netready/netready/server/tree"
)

// DefaultStatusInterval is how often the leader looks for a changed
// realization status to publish: at most this many publications per
// second (10), the changes in between coalesced into one.
const DefaultStatusInterval = 100 * time.Millisecond

// The realization status is the state (config false) data of the tree
// but for the top-level nodes whose state each replica keeps for itself.
// It is published per object: each top-most state node below the
// configuration (a host's status, a backend's reconciliation, ...) is one
// etcd key, tree.PathKey of its path, whose value is the commit id the
// leader's tree held (8 bytes) then the node's RFC 7951 JSON. Each
// object's value is whole and true on its own, so a follower may apply
// any subset of a publication.

// encodeObject is an object's stored status: commit, then its JSON.
func encodeObject(commit uint64, js []byte) []byte {
	out := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(js)), commit)
	return append(out, js...)
}

// stateJSON is the JSON of n's state, nil if it holds none.
func stateJSON(n *tree.Node) []byte {
	if n == nil {
		return nil
	}
	js, ok := tree.AppendJSON(nil, n, true, tree.State)
	if !ok {
		return nil
	}
	return js
}

// stateRoots calls fn with the path and node of each top-most state node
// below root's top-level nodes that own does not name, once each.
func stateRoots(root *tree.Node, own map[string]bool, fn func(p tree.Path, n *tree.Node)) error {
	seen := map[string]bool{}
	return tree.LeavesUnder(root, nil, tree.State, nil, func(chain []*tree.Node) error {
		if own[chain[0].Schema().Name] {
			return nil
		}
		i := firstState(chain)
		if i == len(chain) {
			return nil // a key leaf
		}
		p := tree.ChainPath(chain[:i+1])
		if k := tree.PathKey(p); !seen[k] {
			seen[k] = true
			fn(p, chain[i])
		}
		return nil
	})
}

// firstState is the index of chain's first state node (len(chain): none).
func firstState(chain []*tree.Node) int {
	i := 0
	for i < len(chain) && chain[i].Schema().Config {
		i++
	}
	return i
}

// publisher is what the leader knows of the status it published in this
// term, so that each publication writes only what changed.
type publisher struct {
	own map[string]bool
	// root is the tree the last look saw (nil: none yet, the next look
	// takes every object).
	root *tree.Node
	// sent is each object's status JSON as etcd holds it.
	sent map[string][]byte
	// dirty names the objects whose status may differ from sent, with
	// their paths (nil: not in the tree).
	dirty map[string]tree.Path
}

// newPublisher starts a term's publications from what etcd holds (the
// previous leader's, or this one's from an earlier term): its first
// publication writes every object whose status differs and deletes every
// object it does not hold, so no status of a previous leader survives it.
func newPublisher(ctx context.Context, st *etcdstore.Store, own map[string]bool) (*publisher, error) {
	p := &publisher{own: own, sent: map[string][]byte{}, dirty: map[string]tree.Path{}}
	_, err := st.ReadStatus(ctx, func(e etcdstore.StatusEntry) error {
		if len(e.Val) >= 8 {
			p.sent[e.Key] = e.Val[8:]
		} else {
			p.sent[e.Key] = nil // unreadable: rewritten or deleted
		}
		return nil
	})
	return p, err
}

// look marks dirty every object whose status may have changed between
// the tree the last look saw and root: the first look every object etcd
// or root holds, later ones what tree.Diff finds (the cost follows the
// change: subtrees the two trees share are not read).
func (p *publisher) look(root *tree.Node) error {
	defer func() { p.root = root }()
	if p.root == nil {
		for k := range p.sent {
			p.dirty[k] = nil
		}
		return stateRoots(root, p.own, func(path tree.Path, _ *tree.Node) { p.dirty[tree.PathKey(path)] = path })
	}
	tree.Diff(p.root, root, func(chain []*tree.Node, _, _ *tree.Node) bool {
		if p.own[chain[0].Schema().Name] {
			return false
		}
		i := firstState(chain)
		if i == len(chain) {
			return true // configuration: state may change below
		}
		path := tree.ChainPath(chain[:i+1])
		p.dirty[tree.PathKey(path)] = path
		return false
	})
	return nil
}

// changes is what makes etcd hold root's status (at commit) for the
// dirty objects, in key order; dirty objects whose status etcd already
// holds are no longer dirty.
func (p *publisher) changes(root *tree.Node, commit uint64) []etcdstore.StatusEntry {
	var out []etcdstore.StatusEntry
	for k, path := range p.dirty {
		var js []byte
		if path != nil {
			js = stateJSON(tree.Lookup(root, path))
		}
		old, had := p.sent[k]
		switch {
		case js == nil && had:
			out = append(out, etcdstore.StatusEntry{Key: k})
		case js != nil && (!had || !bytes.Equal(js, old)):
			out = append(out, etcdstore.StatusEntry{Key: k, Val: encodeObject(commit, js)})
		default:
			delete(p.dirty, k)
		}
	}
	slices.SortFunc(out, func(a, b etcdstore.StatusEntry) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// wrote records that etcd holds entries.
func (p *publisher) wrote(entries []etcdstore.StatusEntry) {
	for _, e := range entries {
		delete(p.dirty, e.Key)
		if e.Val == nil {
			delete(p.sent, e.Key)
		} else {
			p.sent[e.Key] = e.Val[8:]
		}
	}
}

// publishCPUShare bounds the leader's publication work: after a
// publication whose looking and encoding took d, the next waits at least
// d/publishCPUShare (a large change, slow to encode, is published less
// often).
const publishCPUShare = 0.25

// publishStatus writes the leader's changed realization status to the
// store each interval, until ctx (the term) ends.
func (r *Replica) publishStatus(ctx context.Context, ds *datastore.Datastore) {
	wait := time.NewTimer(r.opts.StatusInterval)
	defer wait.Stop()
	var (
		p   *publisher
		seq uint64
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-wait.C:
		}
		var (
			err  error
			work time.Duration
		)
		if p == nil {
			p, err = newPublisher(ctx, r.st, r.own)
			if err != nil {
				p = nil
			}
		}
		if p != nil {
			seq, work, err = r.publishOnce(ctx, p, ds.Snapshot(), seq)
		}
		if errors.Is(err, etcdstore.ErrNotLeader) {
			return
		}
		if err != nil && ctx.Err() == nil {
			r.log.Warn("publishing the realization status failed; retrying", "err", err)
		}
		wait.Reset(max(r.opts.StatusInterval, time.Duration(float64(work)/publishCPUShare)))
	}
}

// publishOnce writes what changed in snap's status (if snap is not the
// one seen at seq) and what an earlier publication left unwritten; it
// returns the snapshot's sequence and how long the leader worked on it
// (looking and encoding; waiting for etcd is not its work: the Txns are
// bounded by the interval and their size).
func (r *Replica) publishOnce(ctx context.Context, p *publisher, snap *datastore.Snapshot, seq uint64) (uint64, time.Duration, error) {
	began := time.Now()
	if p.root == nil || snap.Seq != seq {
		if err := p.look(snap.Root); err != nil {
			return seq, time.Since(began), err
		}
	}
	if len(p.dirty) == 0 {
		return snap.Seq, time.Since(began), nil
	}
	entries := p.changes(snap.Root, snap.CommitID)
	work := time.Since(began)
	n, err := r.st.PutStatus(ctx, entries)
	p.wrote(entries[:n])
	return snap.Seq, work, err
}

// objStatus is one object's published status as a follower read it.
type objStatus struct {
	path   tree.Path
	node   *tree.Node // nil: the object has none
	commit uint64     // the commit the leader's tree held
}

// update is published status a follower read and has not applied yet.
type update struct {
	// full: the whole status, objects it does not name have none.
	full bool
	// commit is the newest commit its objects were built at: the
	// follower applies it once its copy holds that commit.
	commit uint64
	objs   map[string]objStatus
}

// decodeUpdate reads the entries FollowStatus handed over (outside the
// writer); an unreadable entry is left out, told in the error.
func decodeUpdate(sch *schema.Schema, entries []etcdstore.StatusEntry, full bool) (*update, error) {
	u := &update{full: full, objs: make(map[string]objStatus, len(entries))}
	var errs []error
	for _, e := range entries {
		o, err := decodeObject(sch, e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		u.objs[e.Key] = o
		u.commit = max(u.commit, o.commit)
	}
	if len(errs) > 0 {
		return u, fmt.Errorf("replica: %d published statuses unreadable, the first: %w", len(errs), errs[0])
	}
	return u, nil
}

// decodeObject reads one object's published status.
func decodeObject(sch *schema.Schema, e etcdstore.StatusEntry) (objStatus, error) {
	path, err := tree.ParsePathKey(sch.Root, e.Key)
	if err != nil || len(path) == 0 {
		return objStatus{}, fmt.Errorf("status key %q: %w", e.Key, err)
	}
	o := objStatus{path: path}
	if e.Val == nil {
		return o, nil
	}
	if len(e.Val) < 8 {
		return objStatus{}, fmt.Errorf("status of %s: %d bytes", e.Key, len(e.Val))
	}
	o.commit = binary.BigEndian.Uint64(e.Val)
	if o.node, err = tree.DecodeStateAt(path, e.Val[8:]); err != nil {
		return objStatus{}, fmt.Errorf("status of %s: %w", e.Key, err)
	}
	return o, nil
}

// merge is u followed by next: a full next replaces u.
func (u *update) merge(next *update) *update {
	if u == nil || next.full {
		return next
	}
	maps.Copy(u.objs, next.objs)
	u.commit = max(u.commit, next.commit)
	return u
}

// statusEdit replaces the state node at path with node (nil: deletes it).
type statusEdit struct {
	path tree.Path
	node *tree.Node
}

// statusEdits is what makes root's realization status u's: each object
// u names gets its status where it differs (an object holding it
// unchanged is left as it is, so a follower's subscribers hear only what
// changed); a full u also deletes the status of every object it does not
// name. It reads root only: a follower computes it outside its writer.
func statusEdits(root *tree.Node, u *update, own map[string]bool) ([]statusEdit, error) {
	var edits []statusEdit
	for _, o := range u.objs {
		if own[o.path[0].Schema.Name] {
			continue // never the leader's
		}
		cur := tree.Lookup(root, o.path)
		switch {
		case o.node == nil && cur != nil:
			edits = append(edits, statusEdit{path: o.path})
		case o.node != nil && (cur == nil || !sameState(cur, o.node)):
			edits = append(edits, statusEdit{path: o.path, node: o.node})
		}
	}
	if !u.full {
		return edits, nil
	}
	err := stateRoots(root, own, func(p tree.Path, _ *tree.Node) {
		if _, ok := u.objs[tree.PathKey(p)]; !ok {
			edits = append(edits, statusEdit{path: p})
		}
	})
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

// sameState reports whether two state nodes hold the same data.
func sameState(a, b *tree.Node) bool {
	ja, _ := tree.AppendJSON(nil, a, true, tree.All)
	jb, _ := tree.AppendJSON(nil, b, true, tree.All)
	return bytes.Equal(ja, jb)
}

// errLeading stops following the status: a leader shows its own engine's.
var errLeading = errors.New("replica: leading")

// followStatus takes the leader's published status while this replica
// follows, until ctx ends. A replica elected stops following; deposed,
// it follows again from a whole read, since it skipped what its
// successor published meanwhile.
func (r *Replica) followStatus(ctx context.Context, ds *datastore.Datastore) {
	for ctx.Err() == nil {
		if r.leading.Load() {
			sleep(ctx, r.opts.StatusInterval)
			continue
		}
		_ = r.st.FollowStatus(ctx, func(entries []etcdstore.StatusEntry, full bool) error {
			if r.leading.Load() {
				return errLeading // its own publications
			}
			if full && len(entries) == 0 {
				return nil // no leader published yet: nothing to show instead
			}
			u, err := decodeUpdate(ds.Schema(), entries, full)
			if err != nil {
				r.log.Warn("ignoring published statuses", "err", err)
			}
			r.queue(u)
			r.applyStatus(ctx, ds)
			return nil
		}, func(err error) {
			r.log.Warn("following the realization status broke; reading it again", "err", err)
		})
	}
}

// pendingStatus holds what a follower read and has not applied yet.
type pendingStatus struct {
	mu sync.Mutex
	u  *update
}

// queue adds u to what waits to be applied.
func (r *Replica) queue(u *update) {
	r.pending.mu.Lock()
	defer r.pending.mu.Unlock()
	r.pending.u = r.pending.u.merge(u)
}

// hasPending reports whether published status waits to be applied.
func (r *Replica) hasPending() bool {
	r.pending.mu.Lock()
	defer r.pending.mu.Unlock()
	return r.pending.u != nil
}

// take returns what waits to be applied, if a copy at commit holds every
// commit it was built at (nil otherwise), and no longer keeps it.
func (r *Replica) take(commit uint64) *update {
	r.pending.mu.Lock()
	defer r.pending.mu.Unlock()
	u := r.pending.u
	if u == nil || u.commit > commit {
		return nil
	}
	r.pending.u = nil
	return u
}

// applyStatus applies the published status read so far once this
// follower's configuration has the commits it was built at (the status
// and the log are separate watches); the commit follower calls it again
// after each commit. The edits are worked out from a snapshot outside the
// writer (a follower's realization status changes only here, one call at
// a time), which then only writes them. The leader's own status is its
// engine's: it applies none.
func (r *Replica) applyStatus(ctx context.Context, ds *datastore.Datastore) {
	r.applying.Lock()
	defer r.applying.Unlock()
	snap := ds.Snapshot()
	if r.leading.Load() {
		return
	}
	u := r.take(snap.CommitID)
	if u == nil {
		return
	}
	edits, err := statusEdits(snap.Root, u, r.own)
	if err == nil && len(edits) > 0 {
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
	r.take(^uint64(0))
	return ds.UpdateState(ctx, func(t *tree.Txn) error {
		edits, err := statusEdits(t.Root(), &update{full: true}, r.own)
		if err != nil {
			return err
		}
		return applyEdits(t, edits)
	})
}
