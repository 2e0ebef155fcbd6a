package realize

import (
	"context"
	"log/slog"
	"maps"
	"slices"

	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/desired"
	"github.com/netready/netready/southbound/l2"
	"github.com/netready/netready/southbound/routing"
)

// plan is how a transaction changes the backends themselves: drivers to
// open (new, reconfigured or re-enabled backends), drivers to retire, and
// backends to reconcile rather than give a diff.
type plan struct {
	cfgs      map[string]desired.Backend
	old       map[string]*backend
	drivers   map[string]*driver // per admin-up backend, after the transaction
	carries   map[string]carried // per data backend, after the transaction
	opened    []*driver          // closed if the transaction fails
	retired   []*driver          // closed once it succeeded
	reconcile map[string]bool
	// pending are backends marked for reconciliation by an earlier
	// failure: reconciled by the next transaction that has work for them,
	// so that a backend that is down holds up only the Sets that need it.
	pending map[string]bool
}

// plan compares the configured backends with the running ones and opens
// the drivers the transaction needs. A backend whose driver cannot be
// opened (unknown kind, bad options) refuses the transaction.
func (e *Engine) plan(ctx context.Context, cfgs map[string]desired.Backend) (*plan, error) {
	p := &plan{cfgs: cfgs, old: e.backends, drivers: map[string]*driver{}, carries: map[string]carried{}, reconcile: map[string]bool{}, pending: map[string]bool{}}
	for _, name := range slices.Sorted(maps.Keys(cfgs)) {
		cfg, old := cfgs[name], e.backends[name]
		switch {
		case !cfg.AdminUp:
			if old != nil && old.drv != nil {
				p.retired = append(p.retired, old.drv)
			}
		case old != nil && old.drv != nil && sameDriverConfig(old.cfg, cfg):
			p.drivers[name] = old.drv
			if old.carries != nil {
				p.carries[name] = old.carries
			}
			switch {
			case cfg.ReconcileRequest != old.reconcileReq:
				p.reconcile[name] = true
			case old.mustReconcile:
				p.pending[name] = true
			}
		default: // new, reconfigured, back up, or never opened
			nd, carries, err := e.open(ctx, cfg)
			if err != nil {
				p.abort(e.log)
				return nil, &tree.Error{Kind: tree.KindConflict, Path: backendPath(name), Msg: err.Error()}
			}
			p.opened = append(p.opened, nd)
			p.drivers[name] = nd
			if carries != nil {
				p.carries[name] = carries
			}
			p.reconcile[name] = true
			if old != nil && old.drv != nil {
				p.retired = append(p.retired, old.drv)
			}
		}
	}
	for name, old := range e.backends {
		if _, ok := cfgs[name]; !ok && old.drv != nil {
			p.retired = append(p.retired, old.drv)
		}
	}
	return p, nil
}

// sameDriverConfig reports whether a backend can keep its open driver:
// the timeout and description do not need a new one.
func sameDriverConfig(a, b desired.Backend) bool {
	return a.Driver == b.Driver && a.Endpoint == b.Endpoint && maps.Equal(a.Options, b.Options)
}

// jobs gives each backend its part of the transaction: the full state of
// its hosts (or of the data it carries) for a backend being reconciled,
// else its diff (data: the changes below what it carries, computed with
// the paths it carried before the transaction; a backend whose paths
// changed is reconciled). A removed backend still gets the deletes of its
// hosts through its old driver; an admin-down backend gets nothing.
func (p *plan) jobs(prev routing.Result, diffs map[string][]routing.Change, result routing.Result, ls l2Step, data map[string][]southbound.DataChange, curRoot *tree.Node) []job {
	names := slices.Sorted(maps.Keys(diffs))
	names = append(names, slices.Collect(maps.Keys(ls.diffs))...)
	for n := range p.reconcile {
		names = append(names, n)
	}
	for n := range p.carries {
		names = append(names, n)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	var jobs []job
	for _, name := range names {
		j := job{backend: name, drv: p.drivers[name], timeout: p.cfgs[name].Timeout}
		if _, configured := p.cfgs[name]; !configured {
			if old := p.old[name]; old != nil {
				j.drv, j.timeout = old.drv, old.cfg.Timeout
			}
		}
		if j.drv == nil {
			continue
		}
		if c := p.carries[name]; c != nil {
			changes := data[name]
			j.reconcile = p.reconcile[name] || p.pending[name] && len(changes) > 0
			switch {
			case j.reconcile:
				j.data = c.state(curRoot)
			case len(changes) > 0:
				j.data = changes
			default:
				continue
			}
			jobs = append(jobs, j)
			continue
		}
		work := len(diffs[name]) > 0 || len(ls.diffs[name]) > 0
		switch {
		case p.reconcile[name], p.pending[name] && work:
			also := hostNames(viewsOf(prev, name))
			if old := p.old[name]; old != nil {
				also = append(also, old.mayHold...)
			}
			j.reconcile, j.views, j.l2views = true, viewsOf(result, name, also...), l2.ViewsOf(ls.after, name, also...)
		case work:
			j.changes, j.l2 = diffs[name], ls.diffs[name]
		default:
			continue
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// install makes the planned backends e's. The retired drivers stay open
// until the commit is stored (closeRetired): an aborted commit goes back
// to them.
func (p *plan) install(e *Engine) {
	next := make(map[string]*backend, len(p.cfgs))
	for name, cfg := range p.cfgs {
		b := &backend{cfg: cfg, drv: p.drivers[name], carries: p.carries[name], reconcileReq: cfg.ReconcileRequest, sync: syncState{state: "pending"}}
		if old := p.old[name]; old != nil && old.drv == b.drv {
			b.sync, b.recon, b.mustReconcile, b.mayHold = old.sync, old.recon, old.mustReconcile, old.mayHold
			b.rest, b.restUntil, b.probing = old.rest, old.restUntil, old.probing
		}
		if !cfg.AdminUp {
			b.sync = syncState{state: "pending", msg: "admin-state is down: no changes are sent"}
		}
		next[name] = b
	}
	e.backends = next
}

// closeRetired closes the drivers the stored transaction retired.
func (p *plan) closeRetired(log *slog.Logger) {
	for _, d := range p.retired {
		d.close(log)
	}
}

// abort closes the drivers the failed transaction opened.
func (p *plan) abort(log *slog.Logger) {
	for _, d := range p.opened {
		d.close(log)
	}
}

func hostNames(views []*routing.HostView) []string {
	out := make([]string, len(views))
	for i, v := range views {
		out[i] = v.Host
	}
	return out
}
