package datastore

import (
	"context"
	"time"

	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/server/validate"
)

// The writer pipelines group commit, two batches deep: while the syncer
// writes batch N to the store (one batch at a time, in commit order), the
// writer applies batch N+1 in memory on top of N's tree, not yet durable.
// The invariants:
//
//   - Nothing of a batch is published or replied before it is durable:
//     settle publishes N, then N+1 is handed to the syncer. Readers
//     (Snapshot, Get, Subscribe) see only durable trees, in commit order.
//   - A refusal of a Set of N+1 is held too: it was judged against N.
//   - If N's write fails, N+1 is refused whole as well, and both are
//     undone newest first (validator index, realizer, hooks, gate); the
//     tree and the commit ids go back to the last published ones, which
//     never left them.
//   - Everything that is not a plain Set (state changes, run barriers,
//     restores, commit-confirmed steps) waits until the pipeline is empty
//     (drain), so it sees what it saw when the writer was serial.
//
// flying, the batch the syncer writes, and the syncer hand-over belong to
// the writer goroutine alone; the syncer only writes and closes done.

// flight is a batch of Sets applied in memory and handed to the store.
type flight struct {
	root     *tree.Node // the tree after the batch, hooks' state included
	last     uint64     // the batch's newest commit id
	now      time.Time
	accepted []*pending
	refused  []refusal // replied once the batch below is durable
	commits  []*store.Commit
	deltas   []*validate.Delta
	preps    []realizer.Prepared
	events   []Event
	err      error         // the store's answer, set before done closes
	done     chan struct{} // closed by the syncer once the write returned
}

// refusal is a refused Set and its reason.
type refusal struct {
	p   *pending
	err error
}

func (f *flight) refuse(p *pending, err error) {
	f.refused = append(f.refused, refusal{p: p, err: err})
}

// replyRefused answers the refused Sets of f: the tree they were judged
// against is durable now.
func (f *flight) replyRefused() {
	for _, r := range f.refused {
		r.p.reply <- reply{err: r.err}
	}
	f.refused = nil
}

// sync is the syncer: it writes the batches the writer hands over, one at
// a time, in the order handed. It ends when the writer closes flights.
func (d *Datastore) sync() {
	for f := range d.flights {
		f.err = d.st.Apply(context.Background(), f.commits)
		close(f.done)
	}
}

// base is the tree and the newest commit id the next batch applies on:
// the batch in flight's, or the published snapshot's.
func (d *Datastore) base() (*tree.Node, uint64) {
	if f := d.flying; f != nil {
		return f.root, f.last
	}
	cur := d.snap.Load()
	return cur.Root, cur.CommitID
}

// mustDrain says whether a batch must start on an empty pipeline: a
// commit-confirmed step changes the gate's state, which Done(true) of the
// batch in flight would otherwise take as durable; a restore reads the
// commit log, which does not hold the batch in flight yet.
func mustDrain(batch []*pending) bool {
	for _, p := range batch {
		if p.req.Action != nil || p.req.Restore != nil {
			return true
		}
	}
	return false
}

// fly hands f to the syncer; the syncer is idle, as the batch before f
// has settled.
func (d *Datastore) fly(f *flight) {
	d.flying = f
	d.flights <- f
}

// landed is closed once the batch in flight is written (nil: none).
func (d *Datastore) landed() <-chan struct{} {
	if d.flying == nil {
		return nil
	}
	return d.flying.done
}

// drain waits until the pipeline is empty: the batch in flight is
// written and published, or refused.
func (d *Datastore) drain() {
	if d.flying != nil {
		d.settle(nil)
	}
}

// settle waits for the batch in flight and publishes it; if its write
// failed, next (applied on top of it; nil for none) is refused and undone
// first, then the batch itself. It reports whether the write succeeded.
func (d *Datastore) settle(next *flight) bool {
	f := d.flying
	d.flying = nil
	<-f.done
	if f.err != nil {
		if next != nil {
			d.notStored(next, f.err, true)
		}
		d.notStored(f, f.err, false)
		return false
	}
	d.finish(f)
	return true
}

// finish completes a durable batch: the gate and the realizer learn it is
// stored, readers and the feed see it, its writers get their answers.
func (d *Datastore) finish(f *flight) {
	d.gateDone(true)
	for _, prep := range f.preps {
		if prep != nil {
			prep.Commit()
		}
	}
	d.publish(f.root, f.last, f.now, f.events)
	for i, p := range f.accepted {
		p.reply <- reply{res: &Result{CommitID: f.commits[i].ID, Time: f.now}}
	}
}
