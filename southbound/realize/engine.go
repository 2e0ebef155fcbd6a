// Package realize is the realization core: it turns every accepted Set
// into changes on the southbound backends, applies them to all backends at
// once as one transaction, and reports what each backend holds.
//
// For each transaction that touches what realization reads (backends,
// hosts, ports, interfaces, VPNs), the engine reads the desired network
// from the candidate tree (southbound/desired), computes every host's
// forwarding state (southbound/routing), diffs it against what the
// backends hold, and gives each affected backend its ordered changes, in
// parallel, each bounded by the backend's timeout. Only when every backend
// succeeded does the Set go on to be stored; if any failed or timed out,
// the others are reverted by the reverse changes and the Set fails with
// Aborted, so the store, the published tree and every backend are as
// before.
//
// The engine runs in the datastore's single writer (datastore.Realizer),
// so transactions reach the backends in commit order; Get and Subscribe
// read published snapshots and are never held up by a backend.
package realize

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/desired"
	"github.com/netready/netready/southbound/routing"
)

// StateKey is the key under which the engine stores its label and route
// distinguisher assignments with each commit (store.Commit.State).
const StateKey = "realize/assignments"

// Config configures an Engine.
type Config struct {
	// Registry has the drivers backends may name.
	Registry southbound.Registry
	// Routing tunes the route computation (RD and label ranges).
	Routing routing.Options
	Logger  *slog.Logger
}

// Engine is the realization core. Realize is called by the datastore
// writer; Reconcile by whoever triggers a resync outside a Set (start-up).
type Engine struct {
	sch     *schema.Schema
	reg     southbound.Registry
	opts    routing.Options
	log     *slog.Logger
	filter  *desired.Filter
	paths   *statusPaths
	publish Publisher

	// mu serializes Realize, Reconcile and status writes: the backends
	// take one transaction at a time.
	mu       sync.Mutex
	backends map[string]*backend
	// root is the configuration the backends hold (data backends get
	// their part of it), model and result what the forwarders hold.
	root   *tree.Node
	model  routing.Model
	result routing.Result
	asg    routing.Assignments
	// attempts is when each object (see statusKey) was last sent to its
	// backend, for status last-attempt.
	attempts map[string]time.Time
	// status is what the last status write was based on.
	status statusMark
}

// Publisher publishes operational state outside a Set (the datastore's
// UpdateState): the engine reports reconciliations and failed
// transactions through it.
type Publisher func(ctx context.Context, fn func(*tree.Txn) error) error

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
	return &Engine{
		sch:      sch,
		reg:      cfg.Registry,
		opts:     cfg.Routing,
		log:      cfg.Logger,
		filter:   desired.NewFilter(),
		paths:    newStatusPaths(sch),
		backends: map[string]*backend{},
		attempts: map[string]time.Time{},
	}
}

// Start loads the committed state: the configuration root and the
// assignments stored with the newest commit (nil for none), and keeps
// publish for status changes outside Sets. It opens the configured
// backends' drivers but changes nothing on them: call Reconcile to bring
// them to root.
func (e *Engine) Start(ctx context.Context, root *tree.Node, state []byte, publish Publisher) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.publish = publish
	if state != nil {
		if err := json.Unmarshal(state, &e.asg); err != nil {
			return fmt.Errorf("realize: stored assignments: %w", err)
		}
	}
	model, err := desired.Model(root)
	if err != nil {
		return fmt.Errorf("realize: %w", err)
	}
	e.root, e.model = root, model
	e.result, e.asg = e.opts.Compute(model, e.asg)
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
	return nil
}

// open opens a backend's driver and, for a data driver, resolves the data
// it carries.
func (e *Engine) open(ctx context.Context, cfg desired.Backend) (*driver, carried, error) {
	d, err := e.reg.Open(ctx, cfg.Backend)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := d.(southbound.DataDriver); !ok {
		return newDriver(d), nil, nil
	}
	c, err := parseCarried(e.sch, cfg.Options[southbound.PathsOption])
	if err != nil {
		_ = d.Close()
		return nil, nil, fmt.Errorf("backend %s: %w", cfg.Name, err)
	}
	return newDriver(d), c, nil
}

// Close closes every driver.
func (e *Engine) Close() {
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
	root   *tree.Node
	model  routing.Model
	result routing.Result
	asg    routing.Assignments
}

func (e *Engine) save() snapshot {
	bs := make(map[string]*backend, len(e.backends))
	for n, b := range e.backends {
		c := *b
		bs[n] = &c
	}
	return snapshot{backends: bs, root: e.root, model: e.model, result: e.result, asg: e.asg}
}

func (e *Engine) restore(s snapshot) {
	e.backends, e.root, e.model, e.result, e.asg = s.backends, s.root, s.model, s.result, s.asg
}

// Realize implements datastore.Realizer.
func (e *Engine) Realize(ctx context.Context, prev, cur *tree.Node) (*datastore.Realization, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	data := e.dataChanges(prev, cur)
	if len(data) == 0 && !e.filter.Relevant(prev, cur) {
		return nil, nil
	}
	model, err := desired.Model(cur)
	if err != nil {
		return nil, &tree.Error{Code: codes.FailedPrecondition, Msg: "cannot read the desired network: " + err.Error()}
	}
	result, asg := e.opts.Compute(model, e.asg)
	state, err := json.Marshal(asg)
	if err != nil {
		return nil, fmt.Errorf("realize: encode assignments: %w", err)
	}
	plan, err := e.plan(ctx, desired.Backends(cur))
	if err != nil {
		return nil, err
	}
	diffs := routing.Diff(e.result, result)
	jobs := plan.jobs(e.result, diffs, result, data, cur)
	now := time.Now()
	outcomes := runOrdered(ctx, jobs, e.result, result)
	if failed := firstFailure(outcomes); failed != nil {
		e.undo(jobs, outcomes, e.result, result, plan, prev, cur)
		plan.abort()
		e.recordFailure(*failed, now)
		e.publishStatus()
		return nil, &tree.Error{
			Code: codes.Aborted, Path: backendPath(failed.backend),
			Msg: fmt.Sprintf("backend %s could not realize the transaction: %v; it was undone on every backend", failed.backend, failed.err),
		}
	}
	before := e.save()
	plan.commit(e)
	e.root, e.model, e.result, e.asg = cur, model, result, asg
	e.recordSuccess(outcomes, diffs, now)
	touched := make([]string, len(jobs))
	for i, j := range jobs {
		touched[i] = j.backend
	}
	return &datastore.Realization{
		State:  map[string][]byte{StateKey: state},
		Status: e.writeStatus,
		Undo:   func(ctx context.Context) { e.revert(ctx, before, touched) },
	}, nil
}

// undo reverts the backends a failed transaction reached: each gets the
// reverse of what it was given (idempotent drivers make that safe for the
// backend that failed half-way); a reconciled backend is reconciled back.
// A backend the undo cannot reach is marked for reconciliation.
func (e *Engine) undo(jobs []job, outcomes []outcome, before, after routing.Result, p *plan, prev, cur *tree.Node) {
	reverse := routing.Diff(after, before)
	var back []job
	for i, j := range jobs {
		c := p.carries[j.backend]
		switch {
		case outcomes[i].backend == "": // not started
			continue
		case outcomes[i].stuck:
			e.mustReconcile(j.backend)
			continue
		case c != nil && j.reconcile:
			j.data = c.state(prev)
		case c != nil:
			j.data = c.changes(cur, prev)
		case j.reconcile:
			j.views = viewsOf(before, j.backend, hostsOf(j)...)
		default:
			j.changes = reverse[j.backend]
		}
		back = append(back, j)
	}
	for i, o := range runOrdered(context.Background(), back, after, before) {
		if o.err != nil {
			e.log.Error("undo failed; the backend will be reconciled", "backend", back[i].backend, "err", o.err)
			e.mustReconcile(back[i].backend)
		}
	}
}

// dataChanges returns, per data backend, the changes between prev and cur
// below the paths it carries (only backends with changes).
func (e *Engine) dataChanges(prev, cur *tree.Node) map[string][]southbound.DataChange {
	out := map[string][]southbound.DataChange{}
	for name, b := range e.backends {
		if b.carries == nil {
			continue
		}
		if cs := b.carries.changes(prev, cur); len(cs) > 0 {
			out[name] = cs
		}
	}
	return out
}

func (e *Engine) mustReconcile(name string) {
	if b := e.backends[name]; b != nil {
		b.mustReconcile = true
	}
}

// revert undoes a realized transaction whose commit could not be stored:
// the engine goes back to its state before the transaction and reconciles
// the backends it touched, reopening drivers the transaction retired.
func (e *Engine) revert(ctx context.Context, before snapshot, touched []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	after := e.backends
	e.restore(before)
	e.status.root = nil // the status written with the lost commit was never published
	inUse := map[*driver]bool{}
	for name, b := range e.backends {
		if b.drv != nil && b.drv.isClosed() {
			b.drv = nil
			if d, c, err := e.open(ctx, b.cfg); err == nil {
				b.drv, b.carries = d, c
			} else {
				e.log.Error("revert: backend not reopened", "backend", name, "err", err)
			}
		}
		inUse[b.drv] = true
	}
	for _, b := range after {
		if b.drv != nil && !inUse[b.drv] {
			b.drv.close(e.log)
		}
	}
	for _, name := range touched {
		e.mustReconcile(name)
	}
	e.reconcileLocked(ctx, touched)
}

// recordFailure keeps the failing backend's error for its status.
func (e *Engine) recordFailure(o outcome, at time.Time) {
	if b := e.backends[o.backend]; b != nil {
		b.sync = syncState{state: "error", msg: o.err.Error(), at: at}
	}
}

// recordSuccess marks every backend that took part as in sync, and the
// objects they were given as attempted now: those a diff named, or every
// object of a reconciled backend.
func (e *Engine) recordSuccess(outcomes []outcome, diffs map[string][]routing.Change, at time.Time) {
	for _, o := range outcomes {
		b := e.backends[o.backend]
		if b == nil { // removed with this transaction
			continue
		}
		b.sync = syncState{state: "in-sync", at: at}
		b.mustReconcile = false
		if o.drift != nil {
			b.recon = &reconciliation{at: at, drift: *o.drift}
			e.touchBackend(o.backend, at)
		}
	}
	for _, changes := range diffs {
		for _, c := range changes {
			for _, k := range touchedKeys(c) {
				e.attempts[k] = at
			}
			e.markDirty(c.VRF)
		}
	}
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

// touchBackend marks every object realized on a backend as attempted.
func (e *Engine) touchBackend(name string, at time.Time) {
	e.status.root = nil // objects in every tenant: the next status write is a full one
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
}

// Reconcile brings the named backends (every admin-up backend when names
// is empty) to the committed state and publishes their status. It returns
// the drift each reconciled backend reported, and the first error.
func (e *Engine) Reconcile(ctx context.Context, names ...string) (map[string][]string, error) {
	e.mu.Lock()
	drift, err := e.reconcileLocked(ctx, names)
	e.mu.Unlock()
	e.publishStatus()
	return drift, err
}

func (e *Engine) reconcileLocked(ctx context.Context, names []string) (map[string][]string, error) {
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
		if b.carries != nil {
			j.data = b.carries.state(e.root)
		} else {
			j.views = viewsOf(e.result, name)
		}
		jobs = append(jobs, j)
	}
	now := time.Now()
	drift := map[string][]string{}
	var first error
	for _, o := range run(ctx, jobs) {
		if o.err != nil {
			e.recordFailure(o, now)
			e.mustReconcile(o.backend)
			if first == nil {
				first = fmt.Errorf("backend %s: %w", o.backend, o.err)
			}
			continue
		}
		drift[o.backend] = *o.drift
		e.recordSuccess([]outcome{o}, nil, now)
	}
	for name, d := range drift {
		if len(d) > 0 {
			e.log.Warn("backend drift corrected", "backend", name, "count", len(d), "first", d[0])
		}
	}
	return drift, first
}

// publishStatus writes the current status outside a Set, in the
// background: it runs from the datastore writer's own calls, which must
// not wait for the writer.
func (e *Engine) publishStatus() {
	if e.publish == nil {
		return
	}
	go func() {
		err := e.publish(context.Background(), func(t *tree.Txn) error {
			e.writeStatus(t)
			return nil
		})
		if err != nil && !errors.Is(err, datastore.ErrClosed) {
			e.log.Warn("publishing realization status", "err", err)
		}
	}()
}

func backendPath(name string) string { return "/backends/backend[name=" + name + "]" }
