// Package datastore is the running configuration: the current tree that
// readers see, and the single writer that turns Set requests into durable
// transactions.
//
// Readers take a Snapshot (an immutable tree and the commit it reflects)
// without locking. Writers submit a Request; one goroutine applies requests
// in arrival order to the newest tree, validates each, and writes every
// request that passed in one durable store transaction (group commit: one
// fsync for all the Sets that queued up while the previous fsync ran). Only
// then are the requests acknowledged and the new tree published, so a
// reader never sees a change that is not durable, and never half of one.
package datastore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/server/validate"
)

// ErrClosed is returned by Apply once Close has begun.
var ErrClosed = errors.New("datastore: closed")

// OpKind is a Set operation.
type OpKind uint8

// Set operations, applied in the order given (gNMI: deletes, then replaces,
// then updates, each in request order; the caller orders them).
const (
	Delete OpKind = iota
	Replace
	Update
)

func (k OpKind) String() string { return [...]string{"delete", "replace", "update"}[k] }

// Op is one operation of a transaction. Payload is nil for Delete. A
// delete with wildcards (or a list without its keys) has Pattern instead
// of Path: the writer matches it against the tree the transaction has
// built so far, so it removes exactly the configuration that matches at
// that point of the transaction.
type Op struct {
	Kind    OpKind
	Path    tree.Path
	Payload *tree.Node
	Pattern []*gpb.PathElem
}

// Request is one transaction.
type Request struct {
	Ops   []Op
	User  string
	Roles []string
	Peer  string
	// Operations describe Ops for people ("update /tenants/tenant[name=b]").
	Operations []string
	Summary    string
	// Access, if set, judges every change the transaction makes.
	Access validate.Authorizer
	// Restore, if set, first brings the configuration back to what it was
	// right after a past commit (rollback), from the commit log; Ops
	// then apply on top.
	Restore *Restore
	// Kind marks the commit in the commit log (store.Commit.Kind); ""
	// for a plain Set.
	Kind string
	// Action is what the Gate reads (a commit-confirmed step); nil for a
	// plain Set. The datastore does not look into it.
	Action any
}

// Restore names the commit whose configuration a request restores.
type Restore struct {
	To uint64
}

// Snapshot is a published version of the tree: CommitID is the newest
// commit it contains, Seq the newest event (commit or state change).
type Snapshot struct {
	Root     *tree.Node
	CommitID uint64
	Seq      uint64
	Time     time.Time
}

// Result tells a writer its transaction is durable.
type Result struct {
	CommitID uint64
	Time     time.Time
}

// Options tune a Datastore.
type Options struct {
	// MaxBatch bounds how many queued requests share one store transaction.
	MaxBatch int
	Logger   *slog.Logger
	// Hooks record every accepted Set, in commit order, in one
	// transaction per batch (see CommitHook).
	Hooks []CommitHook
	// Realizer, if set, carries every accepted Set out to the network
	// before it is stored (see package realizer for the contract).
	Realizer realizer.Realizer
	// Gate, if set, admits every Set before it is applied.
	Gate Gate
	// Writable, if set, is asked before each batch of Sets: an error (a
	// replica that does not lead) refuses the whole batch before anything
	// is applied, realized or stored.
	Writable func() error
}

// Gate keeps server state that must change in the same durable
// transaction as the commits it concerns (a pending commit-confirmed):
// the writer asks it about every Set, in commit order, so its answers
// cannot race with other Sets.
type Gate interface {
	// Admit runs before req is applied, against the state the commits
	// accepted so far leave (those of the batch included). An error
	// refuses req. Admit may set req.Restore (a rollback the gate owns).
	Admit(req *Request) error
	// Accepted says req passed validation and realization and becomes
	// commit id: the gate moves to its new state and returns what to
	// record with the commit (store.Commit.Detail, kept when req.Kind is
	// set; nil for nothing).
	Accepted(req *Request, id uint64, at time.Time) (detail []byte)
	// Done ends a batch that had accepted requests: stored says whether
	// the store wrote them; if not, the gate returns to its state before
	// the batch.
	Done(stored bool)
}

// CommitHook adds the server's own bookkeeping to accepted Sets.
type CommitHook interface {
	// Committing runs for each accepted Set before it is stored, in
	// commit order, all Sets of a batch in one transaction t on top of
	// the batch's configuration. It may write operational state into t
	// (the server's commit counters, the audit log's view), which is then
	// published with the batch's last commit, and may return an audit
	// entry to store durably with the commit (nil for none).
	Committing(t *tree.Txn, req *Request, commitID uint64, at time.Time) (audit []byte)
	// NotStored says that the newest n transactions Committing saw were
	// not stored (the store write failed): whatever they took, such as
	// audit ids, is given back.
	NotStored(n int)
}

// Datastore holds the running configuration.
type Datastore struct {
	sch   *schema.Schema
	st    store.Store
	val   *validate.Validator
	log   *slog.Logger
	max   int
	hooks []CommitHook
	rz    realizer.Realizer
	gate  Gate
	// writable is Options.Writable (nil: always).
	writable func() error
	snap     atomic.Pointer[Snapshot]
	feed     atomic.Pointer[Feed]
	reqs     chan *pending
	quit     chan struct{}
	done     chan struct{}
}

// pending is a queued request: a Set (req), a state change (state), or
// work that must see the newest tree in order with the Sets (run).
type pending struct {
	ctx   context.Context
	req   *Request
	state func(*tree.Txn) error
	run   func()
	reply chan reply
}

type reply struct {
	res *Result
	err error
}

// Open rebuilds the tree from the store and starts the writer.
func Open(ctx context.Context, sch *schema.Schema, st store.Store, rules []validate.Rule, opts Options) (*Datastore, error) {
	val, err := validate.New(sch, rules)
	if err != nil {
		return nil, err
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	d := &Datastore{
		sch: sch, st: st, val: val, log: opts.Logger, max: opts.MaxBatch, hooks: opts.Hooks, rz: opts.Realizer, gate: opts.Gate, writable: opts.Writable,
		reqs: make(chan *pending, opts.MaxBatch),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	root, err := load(ctx, sch, st)
	if err != nil {
		return nil, err
	}
	val.Reset(root)
	d.snap.Store(&Snapshot{Root: root, CommitID: st.LastCommitID(), Time: time.Now()})
	go d.run()
	return d, nil
}

func load(ctx context.Context, sch *schema.Schema, st store.Store) (*tree.Node, error) {
	txn := tree.Begin(tree.NewRoot(sch))
	err := st.Load(ctx, func(key string, val []byte) error {
		return txn.LoadRow(key, val)
	})
	if err != nil {
		return nil, fmt.Errorf("datastore: load: %w", err)
	}
	return txn.Root(), nil
}

// Snapshot returns the newest committed tree. It never blocks.
func (d *Datastore) Snapshot() *Snapshot { return d.snap.Load() }

// Schema returns the schema the datastore validates against.
func (d *Datastore) Schema() *schema.Schema { return d.sch }

// Apply runs req as one transaction and returns once it is durable, or
// the reason it was refused (a *tree.Error for invalid data). Nothing of a
// refused transaction is applied.
func (d *Datastore) Apply(ctx context.Context, req *Request) (*Result, error) {
	return d.submit(&pending{ctx: ctx, req: req, reply: make(chan reply, 1)})
}

// UpdateState changes operational (config false) state: fn edits a
// transaction on the newest tree. The change is published like a Set but
// neither validated as configuration nor stored: state is rebuilt at
// start-up by whoever owns it.
func (d *Datastore) UpdateState(ctx context.Context, fn func(t *tree.Txn) error) error {
	_, err := d.submit(&pending{ctx: ctx, state: fn, reply: make(chan reply, 1)})
	return err
}

// Watch returns the feed of events published from now on. There is one
// feed: call Watch once, from the component that fans events out.
func (d *Datastore) Watch() *Feed {
	f := newFeed()
	d.feed.Store(f)
	return f
}

func (d *Datastore) submit(p *pending) (*Result, error) {
	ctx := p.ctx
	select {
	case <-d.quit:
		return nil, ErrClosed
	default:
	}
	select {
	case d.reqs <- p:
	case <-d.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-p.reply:
		return r.res, r.err
	case <-d.done:
		select {
		case r := <-p.reply:
			return r.res, r.err
		default:
			return nil, ErrClosed
		}
	}
}

// Close stops taking requests, finishes those already queued and stops the
// writer. It does not close the store.
func (d *Datastore) Close() error {
	select {
	case <-d.quit:
	default:
		close(d.quit)
	}
	<-d.done
	return nil
}

func (d *Datastore) run() {
	defer close(d.done)
	var updates <-chan realizer.Status
	if d.rz != nil {
		updates = d.rz.Updates()
	}
	for {
		select {
		case p := <-d.reqs:
			d.commitBatch(d.collect(p))
		case st := <-updates:
			d.applyStates([]*pending{{state: func(t *tree.Txn) error { st.Apply(t); return nil }, reply: make(chan reply, 1)}})
		case <-d.quit:
			for {
				select {
				case p := <-d.reqs:
					d.commitBatch(d.collect(p))
				default:
					return
				}
			}
		}
	}
}

// collect returns first plus whatever else is already queued, up to MaxBatch.
func (d *Datastore) collect(first *pending) []*pending {
	batch := []*pending{first}
	for len(batch) < d.max {
		select {
		case p := <-d.reqs:
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

// commitBatch runs the Sets of a batch, then its state changes.
func (d *Datastore) commitBatch(batch []*pending) {
	var sets, states []*pending
	for _, p := range batch {
		switch {
		case p.run != nil: // after the Sets queued before it
			if len(sets) > 0 {
				d.commitSets(sets)
				sets = nil
			}
			p.run()
			p.reply <- reply{}
		case p.state != nil:
			states = append(states, p)
		default:
			sets = append(sets, p)
		}
	}
	if len(sets) > 0 {
		d.commitSets(sets)
	}
	if len(states) > 0 {
		d.applyStates(states)
	}
}

// commitSets applies each Set to the newest tree in turn, writes the
// accepted ones in one store transaction, then publishes and replies.
func (d *Datastore) commitSets(batch []*pending) {
	if d.writable != nil {
		if err := d.writable(); err != nil {
			for _, p := range batch {
				p.reply <- reply{err: err}
			}
			return
		}
	}
	cur := d.snap.Load()
	root, next := cur.Root, cur.CommitID+1
	var (
		accepted []*pending
		commits  []*store.Commit
		deltas   []*validate.Delta
		preps    []realizer.Prepared
		events   []Event
	)
	now := time.Now()
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.reply <- reply{err: err}
			continue
		}
		cs, delta, err := d.admitAndApply(root, p.req, cur.CommitID, commits)
		if err != nil {
			p.reply <- reply{err: err}
			continue
		}
		prep, err := d.prepare(p.ctx, cs)
		if err != nil {
			p.reply <- reply{err: err}
			continue
		}
		d.val.Commit(delta) // later requests of the batch validate against it
		c := &store.Commit{
			ID: next, Time: now, User: p.req.User, Peer: p.req.Peer,
			Summary: p.req.Summary, Kind: p.req.Kind, Changes: storeRows(tree.RowsOf(cs.Walk)),
		}
		if prep != nil {
			c.State = prep.State()
			cs = withStatus(cs, prep.Status())
		}
		if d.gate != nil {
			c.Detail = d.gate.Accepted(p.req, next, now)
		}
		preps, commits = append(preps, prep), append(commits, c)
		events = append(events, Event{CommitID: next, Time: now, Changes: cs})
		accepted, deltas = append(accepted, p), append(deltas, delta)
		root, next = cs.New, next+1
	}
	if len(accepted) == 0 {
		return
	}
	root = d.runHooks(root, accepted, commits, events)
	if err := d.st.Apply(context.Background(), commits); err != nil {
		d.gateDone(false)
		d.notStored(err, accepted, deltas, preps)
		return
	}
	d.gateDone(true)
	for _, prep := range preps {
		if prep != nil {
			prep.Commit()
		}
	}
	d.publish(root, next-1, now, events)
	for i, p := range accepted {
		p.reply <- reply{res: &Result{CommitID: commits[i].ID, Time: now}}
	}
}

// notStored refuses a batch whose store write failed: the validator's
// index, the realizer and the hooks go back to where they were, newest
// first.
func (d *Datastore) notStored(err error, accepted []*pending, deltas []*validate.Delta, preps []realizer.Prepared) {
	d.log.Error("commit failed; transactions refused", "err", err, "count", len(accepted))
	for i := len(deltas) - 1; i >= 0; i-- {
		d.val.Commit(deltas[i].Inverse())
		if preps[i] != nil {
			preps[i].Abort()
		}
	}
	for _, h := range d.hooks {
		h.NotStored(len(accepted))
	}
	kind := tree.KindUnavailable
	if errors.Is(err, store.ErrTooLarge) && len(accepted) == 1 {
		// The same transaction will never fit; a batch of several may
		// fit when sent again in smaller ones, so it stays Unavailable.
		kind = tree.KindExhausted
	}
	for _, p := range accepted {
		p.reply <- reply{err: &tree.Error{Kind: kind, Msg: "could not store the transaction durably: " + err.Error()}}
	}
}

// prepare hands an accepted transaction to the realizer; nil when there is
// none or the transaction concerns no backend.
func (d *Datastore) prepare(ctx context.Context, cs *changeset.Set) (realizer.Prepared, error) {
	if d.rz == nil {
		return nil, nil
	}
	return d.rz.Prepare(ctx, cs)
}

// withStatus writes the realization status of an accepted transaction
// into it: the objects it realized say what the network now holds in the
// same commit.
func withStatus(cs *changeset.Set, status realizer.Status) *changeset.Set {
	if len(status) == 0 {
		return cs
	}
	t := tree.Begin(cs.New)
	status.Apply(t)
	return cs.Then(changeset.Compute(cs.New, t.Root()))
}

// runHooks lets the commit hooks record every accepted Set of a batch, in
// commit order, in ONE transaction on top of the batch's configuration,
// and returns the tree with their state. The hooks keep lists of up to
// 10,000 entries (audit log) in the tree: in a transaction of their own
// per Set, every Set copied the path to its entry and was diffed alone;
// here the first Set's edit copies it and the others edit in place, and
// their changes are diffed once. What they changed is published with the
// batch's last event, so a subscriber gets it in the same push as the
// batch's commits, and readers, as always, only the batch's final tree.
// Each commit gets its own audit entry.
func (d *Datastore) runHooks(root *tree.Node, accepted []*pending, commits []*store.Commit, events []Event) *tree.Node {
	if len(d.hooks) == 0 {
		return root
	}
	t := tree.Begin(root)
	for i, p := range accepted {
		c := commits[i]
		for _, h := range d.hooks {
			if a := h.Committing(t, p.req, c.ID, c.Time); a != nil {
				c.Audit = a
			}
		}
	}
	last := &events[len(events)-1]
	last.Changes = last.Changes.Then(changeset.Compute(root, t.Root()))
	return t.Root()
}

// applyStates applies state changes in order and publishes them.
func (d *Datastore) applyStates(batch []*pending) {
	cur := d.snap.Load()
	root, now := cur.Root, time.Now()
	var events []Event
	errs := make([]error, len(batch))
	for i, p := range batch {
		t := tree.Begin(root)
		if errs[i] = p.state(t); errs[i] != nil {
			continue
		}
		if t.Root() == root {
			continue
		}
		if cs := changeset.Compute(root, t.Root()); !cs.Empty() {
			events = append(events, Event{Time: now, Changes: cs})
			root = t.Root()
		}
	}
	if len(events) > 0 {
		d.publish(root, cur.CommitID, now, events)
	}
	for i, p := range batch {
		if errs[i] != nil {
			p.reply <- reply{err: errs[i]}
		} else {
			p.reply <- reply{res: &Result{CommitID: cur.CommitID, Time: now}}
		}
	}
}

// publish makes root the snapshot readers see and hands the events, in
// order and numbered, to the feed.
func (d *Datastore) publish(root *tree.Node, commitID uint64, at time.Time, events []Event) {
	seq := d.snap.Load().Seq
	for i := range events {
		seq++
		events[i].Seq = seq
	}
	d.snap.Store(&Snapshot{Root: root, CommitID: commitID, Seq: seq, Time: at})
	if f := d.feed.Load(); f != nil {
		f.push(events)
	}
}

// apply builds the tree req produces from root (restoring rows first)
// and validates what it changed (diffed once, here).
func (d *Datastore) apply(root *tree.Node, req *Request, restore []store.RowChange) (*changeset.Set, *validate.Delta, error) {
	txn := tree.Begin(root)
	for _, r := range restore {
		if err := txn.RestoreRow(r.Key, r.New); err != nil {
			return nil, nil, &tree.Error{Kind: tree.KindInternal, Path: r.Key, Msg: fmt.Sprintf("restoring commit %d: %v", req.Restore.To, err)}
		}
	}
	for i, op := range req.Ops {
		var err error
		switch op.Kind {
		case Delete:
			err = deleteOp(txn, op, req.Access)
		case Replace:
			err = txn.Replace(op.Path, op.Payload)
		case Update:
			err = txn.Merge(op.Path, op.Payload)
		}
		if err != nil {
			return nil, nil, &tree.Error{Kind: tree.KindInvalid, Path: tree.PathString(op.Path), Msg: fmt.Sprintf("%s (operation %d, %s)", err, i+1, op.Kind)}
		}
	}
	cs := changeset.Compute(root, txn.Root())
	delta, err := d.val.Check(cs, req.Access)
	if err != nil {
		return nil, nil, err
	}
	return cs, delta, nil
}

// deleteOp deletes a path, or every configuration node a pattern matches
// in the transaction's tree so far that the caller may read (access nil:
// everything). A wildcard stands for the instances the caller can see, as
// in a Get: what it may not read is neither deleted nor named in a
// refusal, so the answer tells nothing about it.
func deleteOp(txn *tree.Txn, op Op, access validate.Authorizer) error {
	if op.Pattern == nil {
		txn.Delete(op.Path)
		return nil
	}
	var paths []tree.Path
	err := tree.Match(txn.Root(), op.Pattern, func(chain []*tree.Node) error {
		if len(chain) == 0 || !chain[len(chain)-1].Schema().Config {
			return nil
		}
		p := tree.ChainPath(chain)
		if access == nil || access.Readable(tree.GNMIElems(p)) != tree.Hidden {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range paths {
		txn.Delete(p)
	}
	return nil
}

func storeRows(rows []tree.RowChange) []store.RowChange {
	out := make([]store.RowChange, len(rows))
	for i, r := range rows {
		out[i] = store.RowChange(r)
	}
	return out
}
