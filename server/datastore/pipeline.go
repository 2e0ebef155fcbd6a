package datastore

import (
	"context"

	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/server/validate"
)

// The writer pipelines group commit, two batches deep: while the syncer
// writes batch N to the store (one batch at a time, in commit order), the
// writer applies the Sets that arrive in memory, on top of N's tree, not
// yet durable, into batch N+1, which stays open (it grows with every Set
// that arrives, up to MaxBatch) until N is written. The invariants:
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
// flying, open and the hand-over to the syncer belong to the writer
// goroutine alone; the syncer only writes and closes done.

// flight is a batch of Sets applied in memory, open or handed to the
// store.
type flight struct {
	base     uint64     // the commit id the batch applies on
	root     *tree.Node // the tree after the batch
	last     uint64     // the batch's newest commit id
	accepted []*pending
	refused  []refusal // replied once the batch below is durable
	commits  []*store.Commit
	deltas   []*validate.Delta
	preps    []realizer.Prepared
	events   []Event
	hooked   bool          // the commit hooks recorded it (launch)
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

// newFlight starts a batch on the newest tree: the batch being written's,
// or the published one.
func (d *Datastore) newFlight() *flight {
	f := &flight{done: make(chan struct{})}
	if b := d.flying; b != nil {
		f.root, f.base = b.root, b.last
	} else {
		cur := d.snap.Load()
		f.root, f.base = cur.Root, cur.CommitID
	}
	f.last = f.base
	return f
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

// room is how many more requests the writer takes now: the open batch
// holds at most MaxBatch.
func (d *Datastore) room() int {
	if d.open == nil {
		return d.max
	}
	return max(0, d.max-len(d.open.accepted)-len(d.open.refused))
}

// intake is the queue while the open batch has room (nil: full).
func (d *Datastore) intake() <-chan *pending {
	if d.room() == 0 {
		return nil
	}
	return d.reqs
}

// landed is closed once the batch being written is written (nil: none).
func (d *Datastore) landed() <-chan struct{} {
	if d.flying == nil {
		return nil
	}
	return d.flying.done
}

// launch answers f's refusals and hands its accepted Sets to the syncer,
// with the commit hooks' records; no batch is being written.
func (d *Datastore) launch(f *flight) {
	f.replyRefused()
	if len(f.accepted) == 0 {
		return
	}
	f.root = d.runHooks(f.root, f.accepted, f.commits, f.events)
	f.hooked = true
	d.flying = f
	d.flights <- f
}

// drain waits until the pipeline is empty: every batch applied is written
// and published, or refused.
func (d *Datastore) drain() {
	for d.flying != nil {
		d.settle()
	}
}

// settle waits for the batch being written and publishes it, then
// launches the open batch. If the write failed, the open batch (applied
// on top of it) is refused and undone first, then the batch itself.
func (d *Datastore) settle() {
	f, next := d.flying, d.open
	d.flying, d.open = nil, nil
	<-f.done
	if f.err != nil {
		if next != nil {
			d.notStored(next, f.err, true)
		}
		d.notStored(f, f.err, false)
		return
	}
	d.finish(f)
	if next != nil {
		d.launch(next)
	}
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
	at := f.commits[len(f.commits)-1].Time
	d.publish(f.root, f.last, at, f.events)
	for i, p := range f.accepted {
		p.reply <- reply{res: &Result{CommitID: f.commits[i].ID, Time: f.commits[i].Time}}
	}
}
