package daemon

import (
	"context"
	"log/slog"
	"sync"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/live"
	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/bgp"
	"github.com/netready/netready/southbound/interconnect"
	"github.com/netready/netready/southbound/realize"
)

// realizing is the seam between the datastore and the realization
// engine: the engine, the BGP speaker, the gateway's interconnects and
// the loops around them (BGP status, learnt routes) run only while the
// server may touch the network — always when standalone, while elected
// when a replica. The datastore holds this seam as its Realizer, for the
// whole life of the data stack; each term of leadership gets a fresh
// engine started on the committed tree, and a deposed leader closes its
// drivers and speaker without changing any backend.
type realizing struct {
	newTerm func() *term
	log     *slog.Logger
	paths   [][]string // the live paths, the same for every engine
	// updates carries every term's status to the datastore's writer,
	// which reads one channel for its whole life.
	updates chan realizer.Status

	mu  sync.RWMutex // Prepare and Plan hold it read, start and stop write
	cur *term        // nil: not realizing

	roles chan bool // the newest role asked for (true: leading)
	quit  chan struct{}
	done  sync.WaitGroup
}

// term is one run of the engine and what surrounds it.
type term struct {
	eng    *realize.Engine
	bgp    *bgp.Speaker
	gw     *interconnect.Linker
	cancel context.CancelFunc
	loops  sync.WaitGroup
}

func newRealizing(sch *schema.Schema, log *slog.Logger, newTerm func() *term) *realizing {
	return &realizing{
		// The live paths come from the schema alone: an engine never
		// started, which opens nothing, says them.
		newTerm: newTerm, log: log, paths: realize.New(sch, realize.Config{}).LivePaths(),
		updates: make(chan realizer.Status, 1), roles: make(chan bool, 1), quit: make(chan struct{}),
	}
}

// errNotRealizing refuses a transaction while no engine runs here: a
// replica that was just elected starts its engine, one just deposed has
// stopped it.
func errNotRealizing() error {
	return &tree.Error{Kind: tree.KindUnavailable, Msg: "this server is not realizing configuration right now (a replica taking over or deposed); retry"}
}

// Prepare implements realizer.Realizer through the running engine.
func (r *realizing) Prepare(ctx context.Context, cs *changeset.Set) (realizer.Prepared, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.cur == nil {
		return nil, errNotRealizing()
	}
	return r.cur.eng.Prepare(ctx, cs)
}

// Plan implements realizer.Planner (dry runs) through the running engine.
func (r *realizing) Plan(ctx context.Context, cs *changeset.Set) (realizer.Plan, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.cur == nil {
		return nil, errNotRealizing()
	}
	return r.cur.eng.Plan(ctx, cs)
}

// Updates implements realizer.Realizer.
func (r *realizing) Updates() <-chan realizer.Status { return r.updates }

// LivePaths implements live.Source.
func (r *realizing) LivePaths() [][]string { return r.paths }

// ReadLive implements live.Source: a server that is not realizing has no
// drivers to ask, so it shows no counters.
func (r *realizing) ReadLive(ctx context.Context, root *tree.Node, in live.Scope) realizer.Status {
	r.mu.RLock()
	cur := r.cur
	r.mu.RUnlock()
	if cur == nil {
		return nil
	}
	return cur.eng.ReadLive(ctx, root, in)
}

// start begins a term: a fresh engine on the committed tree and the
// stored assignments, its backends reconciled in the background. Sets
// wait meanwhile (the write lock), so the tree it starts on is the newest.
func (r *realizing) start(ctx context.Context, ds *datastore.Datastore, state map[string][]byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur != nil {
		return nil
	}
	t := r.newTerm()
	if err := t.eng.Start(ctx, ds.Snapshot().Root, state); err != nil {
		t.eng.Close()
		t.bgp.Close()
		return err
	}
	tctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	t.loops.Go(func() { r.forward(tctx, t.eng) })
	t.loops.Go(func() { publishBGPStatus(tctx, t.bgp, t.gw, ds, r.log) })
	t.loops.Go(func() { t.bgp.Import(tctx, t.eng) }) // learnt routes, through the engine's lock
	t.eng.ReconcileInBackground()
	r.cur = t
	return nil
}

// stop ends the term without changing any backend: the loops end, the
// drivers close, the speaker stops. A Set being realized finishes first
// (the write lock); the closing happens outside the lock, so readers of
// live state are not held up by a reconciliation finishing.
func (r *realizing) stop() {
	r.mu.Lock()
	t := r.cur
	r.cur = nil
	r.mu.Unlock()
	if t == nil {
		return
	}
	t.cancel()
	t.loops.Wait()
	t.eng.Close()
	t.bgp.Close()
}

// forward hands the engine's status to the writer until the term ends.
func (r *realizing) forward(ctx context.Context, eng *realize.Engine) {
	for {
		select {
		case st := <-eng.Updates():
			select {
			case r.updates <- st:
			case <-ctx.Done():
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// lead asks for a term (true) or its end (false); the newest ask wins.
// It never blocks: the replica calls it under its status lock.
func (r *realizing) lead(leading bool) {
	for {
		select {
		case r.roles <- leading:
			return
		default:
		}
		select {
		case <-r.roles:
		default:
		}
	}
}

// follow starts and stops terms as lead asks, until close; load reads
// what a new term starts on.
func (r *realizing) follow(ds *datastore.Datastore, load func(context.Context) (map[string][]byte, error)) {
	ctx, cancel := context.WithCancel(context.Background())
	r.done.Go(func() { <-r.quit; cancel() })
	r.done.Go(func() {
		for {
			select {
			case <-r.quit:
				return
			case leading := <-r.roles:
				if !leading {
					r.stop()
					continue
				}
				state, err := load(ctx)
				if err == nil {
					err = r.start(ctx, ds, state)
				}
				if err != nil && ctx.Err() == nil {
					r.log.Error("elected but the southbound did not start; Sets are refused", "err", err)
				}
			}
		}
	})
}

// close stops following and ends the term.
func (r *realizing) close() {
	close(r.quit)
	r.done.Wait()
	r.stop()
}
