package realize

import (
	"context"
	"fmt"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/desired"
	"github.com/netready/netready/southbound/l2"
	"github.com/netready/netready/southbound/routing"
)

// Plan implements realizer.Planner: what Prepare would send for cs, from
// a full computation of cs.New against what the backends hold
// (e.result), under the engine lock and without changing anything: no
// driver is opened or called, the incremental state (e.ix, e.inc) is not
// touched. A backend whose driver kind does not exist refuses the plan as
// it would refuse the Set; a driver that would refuse its options when
// opened is not found, since nothing is opened.
func (e *Engine) Plan(ctx context.Context, cs *changeset.Set) (realizer.Plan, error) {
	if err := e.check(cs); err != nil {
		return nil, err // refused as the Set would be
	}
	data := e.dataChanges(cs)
	if len(data) == 0 && !e.filter.Relevant(cs.Walk) {
		return realizer.Plan{}, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cfgs := desired.Backends(cs.New)
	if err := e.refuseUnrealizable(cs, cfgs); err != nil {
		return nil, err
	}
	reconcile, err := e.planBackends(cfgs)
	if err != nil {
		return nil, err
	}
	model, err := desired.Model(cs.New)
	if err != nil {
		return nil, &tree.Error{Kind: tree.KindConflict, Msg: "cannot read the desired network: " + err.Error()}
	}
	result, _ := e.opts.Compute(model, e.asg)
	out := realizer.Plan{}
	sends := func(name string) bool {
		if cfg, ok := cfgs[name]; ok {
			return cfg.AdminUp
		}
		old := e.backends[name] // removed: its old driver gets the deletes
		return old != nil && old.drv != nil
	}
	for name, changes := range routing.Diff(e.computed, result) { // learnt routes stay as they are
		if sends(name) {
			bp := out[name]
			for _, c := range changes {
				bp.Changes = append(bp.Changes, c.String())
			}
			out[name] = bp
		}
	}
	for name, changes := range l2.Diff(e.l2, l2.Compute(desired.L2(cs.New))) {
		if sends(name) {
			bp := out[name]
			for _, c := range changes {
				bp.Changes = append(bp.Changes, c.String())
			}
			out[name] = bp
		}
	}
	for name, changes := range data {
		if sends(name) {
			bp := out[name]
			for _, c := range changes {
				bp.Changes = append(bp.Changes, c.Op.String()+" "+c.Path)
			}
			out[name] = bp
		}
	}
	for name := range reconcile {
		bp := out[name]
		bp.Reconcile = true
		out[name] = bp
	}
	for name, bp := range out { // marked by an earlier failure: reconciled when it has work
		if old := e.backends[name]; old != nil && old.mustReconcile && len(bp.Changes) > 0 {
			bp.Reconcile = true
			out[name] = bp
		}
	}
	return out, nil
}

// planBackends returns the backends a transaction to cfgs would
// reconcile, as Engine.plan decides it, without opening any driver: new,
// reconfigured, re-enabled or never opened backends, and those whose
// reconcile request changed. An unknown driver kind is refused with the
// error Prepare gives.
func (e *Engine) planBackends(cfgs map[string]desired.Backend) (map[string]bool, error) {
	out := map[string]bool{}
	for name, cfg := range cfgs {
		old := e.backends[name]
		switch {
		case !cfg.AdminUp:
		case old != nil && old.drv != nil && sameDriverConfig(old.cfg, cfg):
			if cfg.ReconcileRequest != old.reconcileReq {
				out[name] = true
			}
		default:
			if _, ok := e.reg[cfg.Driver]; !ok {
				return nil, &tree.Error{Kind: tree.KindConflict, Path: backendPath(name),
					Msg: fmt.Sprintf("backend %s: unknown driver %q (this server has %v)", name, cfg.Driver, e.reg.Kinds())}
			}
			out[name] = true
		}
	}
	return out, nil
}
