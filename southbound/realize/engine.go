// Package realize is the realization core: it turns every accepted Set
// into changes on the southbound backends, applies them to all backends at
// once as one transaction, and reports what each backend holds.
//
// The engine implements the two-phase contract of server/realizer. For
// each transaction whose change set touches what realization reads
// (backends, hosts, ports, interfaces, VPNs), Prepare reads the desired
// network from the candidate tree (southbound/desired), computes every
// host's forwarding state (southbound/routing), diffs it against what the
// backends hold, and gives each affected backend its ordered changes, in
// parallel, each bounded by the backend's timeout. Only when every backend
// succeeded does the Set go on to be stored; if any failed or timed out,
// the others are reverted by the reverse changes and the Set fails with
// Aborted, so the store, the published tree and every backend are as
// before. If the store write then fails, Abort returns the engine to its
// state before the transaction and reconciles the touched backends in the
// background.
//
// Prepare runs in the datastore's single writer, so transactions reach
// the backends in commit order; Get and Subscribe read published
// snapshots and are never held up by a backend. Reconciliation runs
// outside the writer and holds no engine lock while it talks to a
// backend: a Set waits only for the backends it touches.
package realize

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/gnmipath"
	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/desired"
	"github.com/netready/netready/southbound/l2"
	"github.com/netready/netready/southbound/routing"
)

// Config configures an Engine.
type Config struct {
	// Registry has the drivers backends may name.
	Registry southbound.Registry
	// Routing tunes the route computation (RD and label ranges).
	Routing routing.Options
	Logger  *slog.Logger
	// Announcer, when set, announces what is realized (the BGP speaker).
	Announcer Announcer
	// ProbeEvery is how often the forwarders that probe are asked which
	// instances stopped answering (VNF liveness, liveness.go); 0: never.
	ProbeEvery time.Duration
	// Observer, when set, is told of every driver call (metrics).
	Observer DriverObserver
	// RestAfterTimeout is how long a backend whose call timed out is not
	// called by transactions (default 1 s), doubling with every timeout
	// in a row up to maxRest. A transaction waits for a backend up to its
	// timeout in the datastore's writer, and so does every Set queued
	// behind it: a hung backend must not hold the server by each Set
	// that needs it (see rest).
	RestAfterTimeout time.Duration
}

// maxRest bounds a timed-out backend's rest.
const maxRest = time.Minute

// DriverObserver is told of every call the engine makes to a driver: the
// backend, the operation ("apply", "reconcile", "apply-l2",
// "reconcile-l2", "counters", "probe"), how long it took and its error.
// Observing at the engine, not by wrapping drivers, measures every
// optional interface a driver has without hiding it from the engine.
type DriverObserver interface {
	ObserveDriver(backend, op string, took time.Duration, err error)
}

// Engine is the realization core. Realize is called by the datastore
// writer; Reconcile by whoever triggers a resync outside a Set (start-up).
type Engine struct {
	sch    *schema.Schema
	reg    southbound.Registry
	opts   routing.Options
	log    *slog.Logger
	ann    Announcer
	obs    DriverObserver
	filter *desired.Filter
	paths  *statusPaths

	// restAfterTimeout is Config.RestAfterTimeout.
	restAfterTimeout time.Duration

	// updates carries status found outside transactions to the writer;
	// sendMu serializes senders (see send).
	updates chan realizer.Status
	sendMu  sync.Mutex
	// carries is what each data backend carries, read by Prepare before
	// it takes mu (to decide whether the transaction concerns anyone).
	carries atomic.Pointer[map[string]carried]
	// target is what the backends must hold: read by reconciliations once
	// they hold a backend's driver, so a reconciliation never undoes a
	// transaction that reached the driver before it.
	target atomic.Pointer[target]
	// counting are the drivers ReadLive asks, probing those the liveness
	// probe asks, published with target.
	counting atomic.Pointer[map[string]liveDriver]
	probing  atomic.Pointer[map[string]liveDriver]
	// probeEvery is the liveness probe's interval (0: off); stopProbe
	// ends it.
	probeEvery time.Duration
	stopProbe  context.CancelFunc
	// bg tracks background reconciliations, for Close.
	bg sync.WaitGroup
	// probes wake each resting backend's probe when its rest ends
	// (probeRested); closing stops them. Both under mu.
	probes  map[string]*time.Timer
	closing bool

	// setsWaiting counts the Prepare calls waiting for mu: Learn gives
	// way to them between its slices (learn.go).
	setsWaiting atomic.Int32
	// mu guards the engine's state below; Prepare holds it for the whole
	// transaction, reconciliations only to read and record.
	mu       sync.Mutex
	backends map[string]*backend
	// root is the configuration the backends hold (data backends get
	// their part of it), model and result what the forwarders hold.
	root   *tree.Node
	model  routing.Model
	result routing.Result
	asg    routing.Assignments
	// legacyState: the store holds the assignments as one legacy
	// document, which the next stored state replaces (state.go).
	legacyState bool
	// l2model and l2 are the L2 networks of root and what the forwarders
	// hold of them (southbound/l2; recomputed in full by each relevant
	// transaction: there are few).
	l2model l2.Model
	l2      l2.Result
	// ix and inc follow root incrementally: Prepare re-reads and
	// recomputes only what a transaction touched.
	ix  *desired.Index
	inc *routing.Incremental
	// computed is inc's result; result is it with the learnt routes laid
	// over it (learn.go), learntShown the learnt-routes state readers
	// are shown (live state, learn.go), by VPN key, guarded by learntMu
	// so that readers need not wait for the engine lock.
	computed    routing.Result
	learnt      *routing.LearntTable
	learntMu    sync.RWMutex
	learntShown map[string]map[routing.LearntKey]routing.LearntStatus
	// attempts is when each object (see statusKey) was last sent to its
	// backend, for status last-attempt.
	attempts map[string]time.Time
	// attemptsSwept is len(attempts) after the last forgetAttempts sweep.
	attemptsSwept int
	// status is what the last status write was based on.
	status statusMark
	// dead are the bindings whose instance stopped answering, with the
	// reason; seen those that answered at least once (liveness.go).
	dead map[routing.BindingRef]string
	seen map[routing.BindingRef]bool
}

// target is the configuration and forwarding state the backends must
// hold.
type target struct {
	root   *tree.Node
	result routing.Result
	l2     l2.Result
}

// backend is one configured backend and its driver.
type backend struct {
	cfg desired.Backend
	drv *driver // nil while admin down or not openable
	// carries is what a data backend carries (nil for a forwarder).
	carries carried
	// reconcileReq is the reconcile-request value last acted on.
	reconcileReq uint64
	// mustReconcile is set when the backend may not hold what the engine
	// thinks (an undo failed, a call was abandoned): its next
	// transaction reconciles it.
	mustReconcile bool
	sync          syncState
	// recon is the outcome of the newest reconciliation.
	recon *reconciliation
	// mayHold are hosts the backend may hold without serving them: given
	// to it by a call that was abandoned or whose commit was lost. Its
	// reconciliation names them, so it removes what they hold (drivers
	// reconcile only the hosts they are given).
	mayHold []string
	// rest is how long the backend rests after its last call timed out
	// (0: it did not), until restUntil: transactions that need it are
	// refused at once meanwhile.
	rest      time.Duration
	restUntil time.Time
	// probing is set while the probe at the end of a rest runs: it
	// holds the driver, so transactions stay refused until it answers.
	probing bool
}

// syncState is a backend's realization status.
type syncState struct {
	state string // pending, in-sync, error
	msg   string
	at    time.Time
}

// reconciliation is the outcome of one reconciliation of a backend.
type reconciliation struct {
	at    time.Time
	drift []string
}

// New returns an engine for sch's models. Call Start before use.
func New(sch *schema.Schema, cfg Config) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RestAfterTimeout <= 0 {
		cfg.RestAfterTimeout = time.Second
	}
	e := &Engine{
		sch:      sch,
		reg:      cfg.Registry,
		opts:     cfg.Routing,
		log:      cfg.Logger,
		ann:      cfg.Announcer,
		obs:      cfg.Observer,
		filter:   desired.NewFilter(),
		paths:    newStatusPaths(sch),
		updates:  make(chan realizer.Status, 1),
		backends: map[string]*backend{},
		attempts: map[string]time.Time{},
		dead:     map[routing.BindingRef]string{},
		seen:     map[routing.BindingRef]bool{},

		probeEvery: cfg.ProbeEvery,
		learnt:     routing.NewLearntTable(),

		learntShown: map[string]map[routing.LearntKey]routing.LearntStatus{},

		restAfterTimeout: cfg.RestAfterTimeout,
		probes:           map[string]*time.Timer{},
	}
	e.learnt.SetIPv6(e.realizesIPv6)
	return e
}

// realizesIPv6 reports whether backend's driver realizes IPv6 routes
// (learnt VPNv6 routes go only to VRF instances on such backends), as
// the configuration being realized says: the index's tree, which a
// Prepare updates before it places learnt routes (so a backend added in
// the same transaction counts) and steps back when it refuses. The
// caller holds e.mu, as every placement of learnt routes does.
func (e *Engine) realizesIPv6(backend string) bool {
	if e.ix == nil {
		return false
	}
	kind, ok := desired.DriverOf(e.ix.Root(), backend)
	return ok && e.reg[kind].Caps.IPv6
}

// Start loads the committed state: the configuration root and the
// assignments stored with the newest commit (nil for none). It opens the
// configured backends' drivers but changes nothing on them: call
// Reconcile to bring them to root.
func (e *Engine) Start(ctx context.Context, root *tree.Node, state map[string][]byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	asg, err := DecodeAssignments(state)
	if err != nil {
		return fmt.Errorf("realize: %w", err)
	}
	e.asg, e.legacyState = asg, state[legacyStateKey] != nil
	e.root = root
	if err := e.recompute(); err != nil {
		return fmt.Errorf("realize: %w", err)
	}
	if key, why := e.inc.Unlabelled(); key != "" {
		// A Set is refused before it runs out of labels, so only a
		// narrower label range than the data was stored with gets here.
		// Realizing it would leave VRFs or bindings no host can reach.
		return fmt.Errorf("realize: the stored configuration needs more labels than this server's range gives (%s: %s); start it with the range it was configured with, or a wider one (--label-min)", labelPath(key), why)
	}
	for name, cfg := range desired.Backends(root) {
		b := &backend{cfg: cfg, reconcileReq: cfg.ReconcileRequest, mustReconcile: true, sync: syncState{state: "pending"}}
		if cfg.AdminUp {
			d, carries, err := e.open(ctx, cfg)
			if err != nil {
				b.sync = syncState{state: "error", msg: err.Error(), at: time.Now()}
				e.log.Error("backend not opened", "backend", name, "err", err)
			} else {
				b.drv, b.carries = d, carries
			}
		}
		e.backends[name] = b
	}
	e.published()
	e.announceCurrent(ctx)
	if e.probeEvery > 0 {
		pctx, cancel := context.WithCancel(context.Background())
		e.stopProbe = cancel
		e.bg.Go(func() { e.watchLiveness(pctx, e.probeEvery) })
	}
	return nil
}

// Updates implements realizer.Realizer.
func (e *Engine) Updates() <-chan realizer.Status { return e.updates }

// published makes the engine's current state the one reconciliations and
// Prepare's pre-lock check read. The caller holds e.mu.
func (e *Engine) published() {
	e.target.Store(&target{root: e.root, result: e.result, l2: e.l2})
	cs := map[string]carried{}
	for name, b := range e.backends {
		if b.carries != nil {
			cs[name] = b.carries
		}
	}
	e.carries.Store(&cs)
	cds, pds := e.countingDrivers(), e.probingDrivers()
	e.counting.Store(&cds)
	e.probing.Store(&pds)
}

// open opens a backend's driver and, for a data driver, resolves the data
// it carries.
func (e *Engine) open(ctx context.Context, cfg desired.Backend) (*driver, carried, error) {
	d, err := e.reg.Open(ctx, cfg.Backend)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := d.(southbound.DataDriver); !ok {
		return newDriver(d, cfg.Name, e.obs), nil, nil
	}
	c, err := parseCarried(e.sch, cfg.Options[southbound.PathsOption])
	if err != nil {
		_ = d.Close()
		return nil, nil, fmt.Errorf("backend %s: %w", cfg.Name, err)
	}
	return newDriver(d, cfg.Name, e.obs), c, nil
}

// Close waits for background reconciliations and closes every driver.
func (e *Engine) Close() {
	e.mu.Lock()
	e.closing = true
	for _, t := range e.probes {
		t.Stop()
	}
	e.mu.Unlock()
	if e.stopProbe != nil {
		e.stopProbe()
	}
	e.bg.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range e.backends {
		if b.drv != nil {
			b.drv.close(e.log)
			b.drv = nil
		}
	}
}

// snapshot is the engine state a failed transaction returns to.
type snapshot struct {
	backends map[string]*backend
	// root is the configuration the backends hold (data backends get
	// their part of it), model and result what the forwarders hold.
	root     *tree.Node
	model    routing.Model
	computed routing.Result
	result   routing.Result
	asg      routing.Assignments
	legacy   bool
	l2model  l2.Model
	l2       l2.Result
}

func (e *Engine) save() snapshot {
	bs := make(map[string]*backend, len(e.backends))
	for n, b := range e.backends {
		c := *b
		bs[n] = &c
	}
	return snapshot{backends: bs, root: e.root, model: e.model, computed: e.computed, result: e.result, asg: e.asg, legacy: e.legacyState, l2model: e.l2model, l2: e.l2}
}

func (e *Engine) restore(s snapshot) {
	e.backends, e.root, e.model, e.computed, e.result, e.asg = s.backends, s.root, s.model, s.computed, s.result, s.asg
	e.legacyState = s.legacy
	e.l2model, e.l2 = s.l2model, s.l2
}

// l2Step is a transaction's L2 part: what the forwarders hold, what they
// must hold, and the changes per backend.
type l2Step struct {
	before, after l2.Result
	diffs         map[string][]l2.Change
	model         l2.Model
}

// l2Of computes the L2 part of moving the forwarders to cs.New, from
// what cs changes of what the L2 model reads (desired.L2Changes): nothing
// for an L3 Set, the tenants it touched for an L2 one (l2.Update computes
// only the networks that changed), everything when the hosts changed.
// A change costs its networks, not every L2 network.
func (e *Engine) l2Of(cs *changeset.Set) l2Step {
	sc := desired.L2Changes(cs.Walk)
	switch {
	case sc.Empty():
		return l2Step{before: e.l2, after: e.l2, model: e.l2model}
	case sc.Hosts:
		m := desired.L2(cs.New)
		after := l2.Compute(m)
		return l2Step{before: e.l2, after: after, diffs: l2.Diff(e.l2, after), model: m}
	}
	m := desired.L2Patch(e.l2model, cs.New, sc.Tenants)
	after, diffs := l2.Update(e.l2, e.l2model, m)
	return l2Step{before: e.l2, after: after, diffs: diffs, model: m}
}

// Prepare implements realizer.Realizer. A transaction that concerns no
// backend returns at once, without the engine lock, so it never waits for
// a transaction or a reconciliation in progress.
func (e *Engine) Prepare(ctx context.Context, cs *changeset.Set) (realizer.Prepared, error) {
	data := e.dataChanges(cs)
	if len(data) == 0 && !e.filter.Relevant(cs.Walk) && !e.announces(cs) {
		return nil, nil
	}
	if err := e.check(cs); err != nil {
		return nil, err
	}
	e.setsWaiting.Add(1)
	e.mu.Lock()
	e.setsWaiting.Add(-1)
	defer e.mu.Unlock()
	cur := cs.New
	cfgs := desired.Backends(cur)
	if err := e.refuseUnrealizable(cs, cfgs); err != nil {
		return nil, err
	}
	plan, err := e.plan(ctx, cfgs)
	if err != nil {
		return nil, err
	}
	touched, err := e.ix.Update(cur)
	if err != nil {
		plan.abort(e.log)
		return nil, &tree.Error{Kind: tree.KindConflict, Msg: "cannot read the desired network: " + err.Error()}
	}
	model := e.withLiveness(e.ix.Model())
	computed, diffs, asg := e.inc.Apply(model, touched)
	if key, why := e.inc.Unlabelled(); key != "" {
		e.backOut(plan, cs) // the computation is undone: no status to rewrite
		return nil, &tree.Error{Kind: tree.KindExhausted, Path: labelPath(key),
			Msg: why + ": the change is not realized; remove bindings or VPNs, or give this server a lower --label-min"}
	}
	e.markRecomputed()
	placed, diffs := e.overlayLearnt(computed, diffs)
	result := placed.Result
	state := e.stateOf(asg)
	ls := e.l2Of(cs)
	jobs := plan.jobs(e.result, diffs, result, ls, data, cur)
	now := time.Now()
	if b := e.resting(jobs, plan, now); b != nil {
		e.backOut(plan, cs)
		return nil, restingError(b, now)
	}
	e.target.Store(&target{root: cur, result: result, l2: ls.after})
	outcomes := runOrdered(ctx, jobs, e.result, result)
	if failed := firstFailure(outcomes); failed != nil {
		e.undo(jobs, outcomes, e.result, result, ls, plan, cs)
		e.backOut(plan, cs)
		e.recordFailure(*failed, now)
		e.send(e.statusEdits(e.root, nil))
		return nil, &tree.Error{
			Kind: tree.KindAborted, Path: backendPath(failed.backend),
			Msg: fmt.Sprintf("backend %s could not realize the transaction: %v; it was undone on every backend", failed.backend, failed.err),
		}
	}
	if err := e.announce(ctx, cur, result, func(b string) bool { return plan.drivers[b] != nil }); err != nil {
		e.undo(jobs, outcomes, e.result, result, ls, plan, cs)
		e.backOut(plan, cs)
		e.announceCurrent(ctx)
		return nil, announceFailed(err)
	}
	p := &prepared{e: e, before: e.save(), plan: plan, result: result, state: state}
	for _, j := range jobs {
		p.touched = append(p.touched, j.backend)
	}
	plan.install(e)
	learntVPNs := routing.PlacedVPNs(e.result, result, placed.Changed)
	e.learnt.Keep(placed)
	e.root, e.model, e.computed, e.result, e.asg = cur, model, computed, result, asg
	e.legacyState = e.legacyState && state == nil
	e.l2model, e.l2 = ls.model, ls.after
	e.published()
	e.recordSuccess(outcomes, diffs, ls.diffs, now)
	e.forgetPorts(diffs)
	e.showLearnt(learntVPNs, nil)
	p.status = e.statusEdits(cur, cs)
	return p, nil
}

// stateOf is what to store with the commit: the assignments that
// changed (most transactions keep every RD and label, and store nothing).
func (e *Engine) stateOf(asg routing.Assignments) map[string][]byte {
	labels, known := e.inc.ChangedLabels()
	return stateDelta(e.asg, asg, labels, known, e.legacyState)
}

// backOut forgets a transaction Prepare refused after computing it: the
// incremental state steps back, the drivers it opened are closed.
func (e *Engine) backOut(plan *plan, cs *changeset.Set) {
	e.inc.Rollback()
	if _, err := e.ix.Update(cs.Old); err != nil {
		e.log.Warn("realize: re-reading the committed network", "err", err)
	}
	plan.abort(e.log)
	e.published()
}

// recompute rebuilds the desired-network index and the incremental route
// computation from e.root and e.asg: at start, and after a lost commit
// (rare: it costs a full computation). The caller holds e.mu.
func (e *Engine) recompute() error {
	ix, err := desired.NewIndex(e.root)
	if err != nil {
		return err
	}
	model := e.withLiveness(ix.Model())
	e.ix, e.inc = ix, e.opts.NewIncremental(model, e.asg)
	e.model, e.computed, e.asg = model, e.inc.Result(), e.inc.Assignments()
	pl := e.learnt.Overlay(e.computed)
	e.learnt.Keep(pl)
	e.result = pl.Result
	e.l2model = desired.L2(e.root)
	e.l2 = l2.Compute(e.l2model)
	return nil
}

// prepared is a transaction the backends hold, awaiting its store write.
type prepared struct {
	e       *Engine
	before  snapshot // the engine before the transaction
	plan    *plan
	result  routing.Result // what the transaction gave the backends
	touched []string       // backends that were given work
	state   map[string][]byte
	status  realizer.Status
}

func (p *prepared) State() map[string][]byte { return p.state }
func (p *prepared) Status() realizer.Status  { return p.status }

// Commit closes the drivers the transaction retired: only now is it
// certain that nobody goes back to them.
func (p *prepared) Commit() { p.plan.closeRetired(p.e.log) }

// Abort returns the engine to its state before the transaction, closes the
// drivers the transaction opened, and reconciles the backends it touched
// in the background: the writer does not wait for the network.
func (p *prepared) Abort() {
	e := p.e
	e.mu.Lock()
	e.restore(p.before)
	if err := e.recompute(); err != nil {
		e.log.Error("realize: recomputing after a lost commit", "err", err)
	}
	e.status.valid = false // the status written with the lost commit was never published
	e.showLearntAgain()
	for _, name := range p.touched {
		e.mustReconcile(name, hostNames(viewsOf(p.result, name))...)
	}
	e.published()
	e.announceCurrent(context.Background())
	e.mu.Unlock()
	p.plan.abort(e.log)
	if len(p.touched) > 0 {
		e.ReconcileInBackground(p.touched...)
	}
}

// undo reverts the backends a failed transaction reached: each gets the
// reverse of what it was given (idempotent drivers make that safe for the
// backend that failed half-way); a reconciled backend is reconciled back.
// A backend the undo cannot reach is marked for reconciliation.
func (e *Engine) undo(jobs []job, outcomes []outcome, before, after routing.Result, ls l2Step, p *plan, cs *changeset.Set) {
	reverse := routing.Diff(after, before)
	l2reverse := l2.Diff(ls.after, ls.before)
	var back []job
	for i, j := range jobs {
		c := p.carries[j.backend]
		switch {
		case outcomes[i].backend == "": // not started
			continue
		case outcomes[i].stuck:
			e.mustReconcile(j.backend, hostsOf(j)...)
			continue
		case c != nil && j.reconcile:
			j.data = c.state(cs.Old)
		case c != nil:
			j.data = c.changes(diffWalk(cs.New, cs.Old))
		case j.reconcile:
			hosts := hostsOf(j)
			j.views, j.l2views = viewsOf(before, j.backend, hosts...), l2.ViewsOf(ls.before, j.backend, hosts...)
		default:
			j.changes, j.l2 = reverse[j.backend], l2reverse[j.backend]
		}
		back = append(back, j)
	}
	for i, o := range runOrdered(context.Background(), back, after, before) {
		if o.err != nil {
			e.log.Error("undo failed; the backend will be reconciled", "backend", back[i].backend, "err", o.err)
			e.mustReconcile(back[i].backend, hostsOf(back[i])...)
		}
	}
}

// dataChanges returns, per data backend, the changes of a transaction
// below the paths it carries (only backends with changes).
func (e *Engine) dataChanges(cs *changeset.Set) map[string][]southbound.DataChange {
	out := map[string][]southbound.DataChange{}
	for name, c := range *e.carries.Load() {
		if changes := c.changes(cs.Walk); len(changes) > 0 {
			out[name] = changes
		}
	}
	return out
}

// mustReconcile marks a backend for reconciliation; hosts are hosts it
// may hold without serving them (see backend.mayHold).
func (e *Engine) mustReconcile(name string, hosts ...string) {
	if b := e.backends[name]; b != nil {
		b.mustReconcile = true
		// a new slice (snapshots share the old one), without duplicates
		b.mayHold = slices.Compact(slices.Sorted(slices.Values(slices.Concat(b.mayHold, hosts))))
	}
}

// recordFailure keeps the failing backend's error for its status and,
// when its call timed out, sends it to rest for twice as long as last
// time. A call that failed fast costs the next transaction nothing more.
func (e *Engine) recordFailure(o outcome, at time.Time) {
	b := e.backends[o.backend]
	if b == nil {
		return
	}
	b.sync = syncState{state: "error", msg: o.err.Error(), at: at}
	b.probing = false
	if o.stuck {
		// Refused until the probe at the end of the rest answers; the
		// probe's own timeout bounds that should its timer run late.
		b.rest = min(max(2*b.rest, e.restAfterTimeout), maxRest)
		b.restUntil = time.Now().Add(b.rest + callTimeout(b.cfg.Timeout))
		b.sync.msg += fmt.Sprintf("; a probe calls it in %v, transactions that need it are refused until it answers", b.rest)
		e.probeAfter(o.backend, b.rest)
	}
}

// probeAfter has a resting backend probed when its rest ends, so that it
// is found answering again without a transaction refused for it, and
// its status says so. The caller holds mu.
func (e *Engine) probeAfter(name string, rest time.Duration) {
	if e.closing {
		return
	}
	if t := e.probes[name]; t != nil {
		t.Stop()
	}
	e.probes[name] = time.AfterFunc(rest, func() { e.probeRested(name) })
}

// probeRested reconciles a backend whose rest ended, in the background.
// Transactions stay refused while the probe runs (probing; restUntil
// covers its timeout too, should the flag outlive a replaced driver):
// they would wait for the same driver. A probe that times out
// too sends the backend to rest twice as long (recordFailure); one that
// succeeds ends the rest (recordSuccess).
func (e *Engine) probeRested(name string) {
	e.mu.Lock()
	delete(e.probes, name)
	b := e.backends[name]
	if e.closing || b == nil || b.rest == 0 {
		e.mu.Unlock()
		return
	}
	b.probing = true
	e.bg.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.bg.Done()
		if _, err := e.Reconcile(context.Background(), name); err != nil {
			e.log.Warn("a resting backend still fails", "backend", name, "err", err)
			return
		}
		e.log.Info("a resting backend answers again", "backend", name)
	}()
}

// resting is the first backend of jobs that rests, or is being probed
// at the end of its rest (see recordFailure), and is not to be
// reconciled anyway: an operator's reconcile-request or a driver opened
// again is tried at once.
func (e *Engine) resting(jobs []job, p *plan, now time.Time) *backend {
	for _, j := range jobs {
		if b := e.backends[j.backend]; b != nil && !p.reconcile[j.backend] && (b.probing || now.Before(b.restUntil)) {
			return b
		}
	}
	return nil
}

// restingError refuses a transaction that needs the resting backend b.
func restingError(b *backend, now time.Time) error {
	return &tree.Error{
		Kind: tree.KindUnavailable, Path: backendPath(b.cfg.Name),
		Msg: fmt.Sprintf("backend %s rests after a call timed out (its status has the last error) and is not called again for %v: retry then, or change its reconcile-request to call it now",
			b.cfg.Name, max(b.restUntil.Sub(now), 0).Round(time.Millisecond)),
	}
}

// recordSuccess marks every backend that took part as in sync, and the
// objects they were given as attempted now: those a diff named, or every
// object of a reconciled backend.
func (e *Engine) recordSuccess(outcomes []outcome, diffs map[string][]routing.Change, l2diffs map[string][]l2.Change, at time.Time) {
	for _, o := range outcomes {
		b := e.backends[o.backend]
		if b == nil { // removed with this transaction
			continue
		}
		b.sync = syncState{state: "in-sync", at: at}
		b.mustReconcile, b.mayHold = false, nil
		b.rest, b.restUntil, b.probing = 0, time.Time{}, false
		if o.drift != nil {
			b.recon = &reconciliation{at: at, drift: *o.drift}
			e.touchBackend(o.backend, at)
		}
	}
	for _, changes := range diffs {
		for _, c := range changes {
			for _, k := range touchedKeys(c) {
				e.attempts[k] = at
				e.markKey(k)
			}
			e.markDirty(c.VRF)
		}
	}
	for _, changes := range l2diffs {
		for _, c := range changes {
			e.attemptedL2(c.Segment, at)
		}
	}
	e.forgetAttempts()
}

// forgetAttempts drops the attempt times of objects the engine no longer
// realizes, once the map has doubled since the last sweep: deleted
// objects must not hold memory for ever, and a sweep per transaction
// would cost what the network costs (this way a sweep is paid for by the
// insertions before it).
func (e *Engine) forgetAttempts() {
	if len(e.attempts) < 2*e.attemptsSwept+1024 {
		return
	}
	live := map[string]bool{}
	for _, h := range e.model.Hosts {
		live[hostKey(h.Name)] = true
	}
	for _, v := range e.model.VPNs {
		live[vpnKey(v.Tenant, v.Name)] = true
		for _, b := range v.Bindings {
			live[bindingKey(v.Tenant, v.Name, b.Interface)] = true
		}
	}
	for _, hv := range e.l2 {
		for _, seg := range hv.Networks {
			live[l2NetKey(seg.ID)] = true
			for _, p := range seg.Ports {
				live[l2BindingKey(seg.ID, p.Interface)] = true
			}
		}
	}
	for k := range e.attempts {
		if !live[k] {
			delete(e.attempts, k)
		}
	}
	e.attemptsSwept = len(e.attempts)
}

// attemptedL2 marks an L2 segment, and its ports, as sent now.
func (e *Engine) attemptedL2(s l2.Segment, at time.Time) {
	e.attempts[l2NetKey(s.ID)] = at
	for _, p := range s.Ports {
		e.attempts[l2BindingKey(s.ID, p.Interface)] = at
	}
	e.markDirty(s.ID)
	e.markKey(l2NetKey(s.ID))
}

// markDirty notes that the tenant of a VRF ID ("tenant/vpn[/interface]")
// has objects whose status must be written again.
func (e *Engine) markDirty(vrf string) {
	tenant, _, _ := strings.Cut(vrf, "/")
	if e.status.dirty == nil {
		e.status.dirty = map[string]bool{}
	}
	e.status.dirty[tenant] = true
}

// markRecomputed notes the VPNs whose reasons
// (routing.Incremental.VPNStatus) the last route computation changed,
// though the transaction may not have touched them (a VPN importing from
// one it touched).
func (e *Engine) markRecomputed() {
	for _, k := range e.inc.ReasonsChanged() {
		e.markDirty(k)
		tenant, vpn, _ := strings.Cut(k, "/")
		e.markKey(vpnKey(tenant, vpn))
	}
}

// markKey notes an object (statusKey form) whose status must be written
// again.
func (e *Engine) markKey(k string) {
	if e.status.keys == nil {
		e.status.keys = map[string]bool{}
	}
	e.status.keys[k] = true
}

// touchBackend marks every object realized on a backend as attempted.
func (e *Engine) touchBackend(name string, at time.Time) {
	e.status.valid = false // objects in every tenant: the next status write is a full one
	hosts := map[string]bool{}
	for _, h := range e.model.Hosts {
		if h.Backend == name {
			hosts[h.Name] = true
			e.attempts[hostKey(h.Name)] = at
		}
	}
	for _, v := range e.model.VPNs {
		for _, b := range v.Bindings {
			if hosts[b.Host] {
				e.attempts[bindingKey(v.Tenant, v.Name, b.Interface)] = at
				e.attempts[vpnKey(v.Tenant, v.Name)] = at
			}
		}
	}
	for h := range hosts {
		if hv := e.l2[h]; hv != nil {
			for _, s := range hv.Networks {
				e.attemptedL2(s, at)
			}
		}
	}
}

// Reconcile brings the named backends (every admin-up backend when names
// is empty) to what they must hold and publishes their status. It returns
// the drift each reconciled backend reported, and the first error. It
// holds the engine lock only to find the drivers and to record the
// outcome; each backend's state is read once its driver is free, so a
// transaction that reached the driver first is never undone.
func (e *Engine) Reconcile(ctx context.Context, names ...string) (map[string][]string, error) {
	jobs := e.reconcileJobs(names)
	outs := run(ctx, jobs)
	e.mu.Lock()
	drift, first := e.recordReconciled(jobs, outs)
	st := e.statusEdits(e.root, nil)
	e.mu.Unlock()
	e.send(st)
	for name, d := range drift {
		if len(d) > 0 {
			e.log.Warn("backend drift corrected", "backend", name, "count", len(d), "first", d[0])
		}
	}
	return drift, first
}

// ReconcileInBackground reconciles the named backends (every one when
// names is empty) outside the caller's goroutine: at start-up, and after
// a lost commit. Close waits for it.
func (e *Engine) ReconcileInBackground(names ...string) {
	e.bg.Add(1)
	go func() {
		defer e.bg.Done()
		start := time.Now()
		drift, err := e.Reconcile(context.Background(), names...)
		if err != nil {
			e.log.Error("reconciliation", "err", err, "took", time.Since(start).String())
			return
		}
		e.log.Info("backends reconciled", "backends", len(drift), "took", time.Since(start).String())
	}()
}

// reconcileJobs returns a reconciliation job per named admin-up backend
// with an open driver; each job reads its target when it runs.
func (e *Engine) reconcileJobs(names []string) []job {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(names) == 0 {
		names = slices.Sorted(maps.Keys(e.backends))
	}
	var jobs []job
	for _, name := range names {
		b := e.backends[name]
		if b == nil || b.drv == nil || !b.cfg.AdminUp {
			continue
		}
		j := job{backend: name, drv: b.drv, timeout: b.cfg.Timeout, reconcile: true}
		c, also := b.carries, b.mayHold
		j.load = func(j *job) {
			t := e.target.Load()
			j.loaded = t.root
			if c != nil {
				j.data = c.state(t.root)
			} else {
				j.views, j.l2views = viewsOf(t.result, j.backend, also...), l2.ViewsOf(t.l2, j.backend, also...)
			}
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// recordReconciled records the outcomes of reconciliation jobs, ignoring
// backends whose driver was replaced meanwhile. The caller holds e.mu.
func (e *Engine) recordReconciled(jobs []job, outs []outcome) (map[string][]string, error) {
	now := time.Now()
	drift := map[string][]string{}
	var first error
	for i, o := range outs {
		if b := e.backends[o.backend]; b == nil || b.drv != jobs[i].drv {
			continue
		}
		if o.err != nil {
			e.recordFailure(o, now)
			e.mustReconcile(o.backend)
			if first == nil {
				first = fmt.Errorf("backend %s: %w", o.backend, o.err)
			}
			continue
		}
		drift[o.backend] = *o.drift
		e.recordSuccess([]outcome{o}, nil, nil, now)
		if o.loaded != e.root {
			// The target moved while the job ran: it read a transaction
			// in progress (perhaps undone since) or one came after it.
			// What the backend holds is not known.
			e.mustReconcile(o.backend, o.hosts...)
		}
	}
	return drift, first
}

// send hands status found outside a transaction to the writer without
// waiting: a status the writer has not taken yet is taken back and sent
// again followed by st, so edits that only say what changed (learnt
// routes) are never lost and the newest value of a leaf wins.
func (e *Engine) send(st realizer.Status) {
	e.sendMu.Lock()
	defer e.sendMu.Unlock()
	for {
		select {
		case e.updates <- st:
			return
		default:
		}
		select {
		case old := <-e.updates:
			st = append(old[:len(old):len(old)], st...)
		default:
		}
	}
}

// backendPath is the path (key escaped) of a backend.
func backendPath(name string) string {
	p := gnmipath.AppendName(gnmipath.AppendName(nil, "backends"), "backend")
	return string(gnmipath.AppendKey(p, "name", name))
}

// labelPath is the path (keys escaped) of what a label key ("vrf tenant/vpn[/interface]",
// "port tenant/vpn/interface") labels: the binding, or the VPN.
func labelPath(key string) string {
	_, id, _ := strings.Cut(key, " ")
	parts := strings.SplitN(id, "/", 3)
	p := gnmipath.AppendName(nil, "tenants")
	if len(parts) < 2 {
		return string(p)
	}
	p = gnmipath.AppendKey(gnmipath.AppendName(p, "tenant"), "name", parts[0])
	p = gnmipath.AppendKey(gnmipath.AppendName(gnmipath.AppendName(p, "vpns"), "vpn"), "name", parts[1])
	if len(parts) == 3 { // a binding's label, or its per-port VRF's
		p = gnmipath.AppendKey(gnmipath.AppendName(gnmipath.AppendName(p, "bindings"), "binding"), "interface", parts[2])
	}
	return string(p)
}
