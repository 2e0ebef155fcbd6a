package realize

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/routing"
)

// Learn installs learnt VPN routes (add) in the VRF instances that import
// them, and removes withdrawn ones (del): the import of the BGP speaker.
// It runs under the engine's lock, like a transaction, so learnt routes
// reach the backends in order with the Sets and never two at once; the
// caller (one goroutine feeding the peers' updates) waits for it. Learnt
// routes change no configuration: their placement is written as state
// under each importing VPN's learnt-routes (sent on Updates). A route a
// backend could not take is left out of every VRF until it is announced
// again, with the backend's error as the reason.
func (e *Engine) Learn(ctx context.Context, add []routing.Learnt, del []routing.LearntKey) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rts := e.learnt.Update(add, del)
	keys := make([]routing.LearntKey, len(add))
	for i := range add {
		keys[i] = add[i].Key()
	}
	keys = append(keys, del...)
	if st := e.placeLearnt(ctx, rts, keys, keys[:len(add)]); len(st) > 0 {
		e.send(st)
	}
}

// placeLearnt places the learnt routes keys (their route targets rts)
// in the VRF instances importing them and gives the backends the
// difference, at the cost of what the keys touch. If a backend fails,
// the others are undone, the routes added (added) are refused and the
// instances are placed again from scratch. The caller holds e.mu.
func (e *Engine) placeLearnt(ctx context.Context, rts []string, keys, added []routing.LearntKey) realizer.Status {
	if len(rts) == 0 {
		return nil
	}
	res, changes, vpns := e.learnt.Learn(e.result, e.computed, rts, keys)
	jobs := e.learntJobs(changes)
	outcomes := run(ctx, jobs)
	failed := firstFailure(outcomes)
	if failed == nil {
		e.result = res
		e.published()
		return e.learntStatus(vpns, keys)
	}
	refs := routing.Importers(e.computed, rts)
	e.undoLearnt(jobs, outcomes, routing.LearntChanges(res, e.result, slices.SortedFunc(maps.Keys(refs), compareRefs)))
	e.log.Warn("realize: learnt routes refused", "backend", failed.backend, "count", len(added), "err", failed.err)
	e.learnt.Refuse(added, fmt.Sprintf("backend %s: %v", failed.backend, failed.err))
	pl := e.learnt.Place(e.result, e.computed, refs)
	jobs = e.learntJobs(routing.LearntChanges(e.result, pl.Result, pl.Changed))
	if failed := firstFailure(run(ctx, jobs)); failed != nil { // the backend is reconciled by its next transaction
		e.log.Error("realize: placing learnt routes again", "backend", failed.backend, "err", failed.err)
		e.mustReconcile(failed.backend)
	}
	return e.keepLearnt(pl)
}

func compareRefs(a, b routing.VRFRef) int {
	return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.ID, b.ID))
}

// keepLearnt makes a placement the engine's and returns the learnt-routes
// status of the VPNs it changed. The caller holds e.mu.
func (e *Engine) keepLearnt(pl routing.Placement) realizer.Status {
	vpns := routing.PlacedVPNs(e.result, pl.Result, pl.Changed)
	e.learnt.Keep(pl)
	e.result = pl.Result
	e.published()
	return e.learntStatus(vpns, nil)
}

// learntJobs gives each backend its learnt route changes: deletes, then
// creates and updates. Backends without a driver get nothing (nothing
// is realized on them).
func (e *Engine) learntJobs(changes map[string][2][]routing.Change) []job {
	var jobs []job
	for _, name := range slices.Sorted(maps.Keys(changes)) {
		b := e.backends[name]
		if b == nil || b.drv == nil || !b.cfg.AdminUp {
			continue
		}
		jobs = append(jobs, job{backend: name, drv: b.drv, timeout: b.cfg.Timeout, changes: slices.Concat(changes[name][0], changes[name][1])})
	}
	return jobs
}

// undoLearnt gives the backends a learnt job reached the reverse changes;
// one that cannot take them is reconciled by its next transaction.
func (e *Engine) undoLearnt(jobs []job, outcomes []outcome, reverse map[string][2][]routing.Change) {
	var back []job
	for i, j := range jobs {
		switch {
		case outcomes[i].backend == "":
		case outcomes[i].stuck:
			e.mustReconcile(j.backend)
		default:
			j.changes = slices.Concat(reverse[j.backend][0], reverse[j.backend][1])
			back = append(back, j)
		}
	}
	for i, o := range run(context.Background(), back) {
		if o.err != nil {
			e.log.Error("undoing learnt routes failed; the backend will be reconciled", "backend", back[i].backend, "err", o.err)
			e.mustReconcile(back[i].backend)
		}
	}
}

// overlayLearnt lays the learnt routes over a transaction's computed
// result: the VRF instances its diffs touch are placed again, and their
// route changes become those of the placed routes. The caller holds e.mu.
func (e *Engine) overlayLearnt(computed routing.Result, diffs map[string][]routing.Change) (routing.Placement, map[string][]routing.Change) {
	if e.learnt.Len() == 0 && !e.learnt.Holds() {
		return routing.Placement{Result: computed}, diffs
	}
	dirty := map[routing.VRFRef]bool{}
	for _, cs := range diffs {
		for _, c := range cs {
			dirty[routing.VRFRef{Host: c.Host, ID: c.VRF}] = true
		}
	}
	pl := e.learnt.Place(e.result, computed, dirty)
	return pl, routing.Splice(diffs, routing.LearntChanges(e.result, pl.Result, pl.Changed), pl.Changed)
}

// learntStatus returns the edits that bring the learnt-routes state of
// the named VPNs ("tenant/vpn") to the table's placement, from what was
// last written: of the routes keys when given (what a Learn changed),
// else of all. The caller holds e.mu.
func (e *Engine) learntStatus(vpns []string, keys []routing.LearntKey) realizer.Status {
	var out realizer.Status
	for _, key := range vpns {
		tenant, vpn, _ := strings.Cut(key, "/")
		shown := e.learntShown[key]
		if shown == nil {
			shown = map[routing.LearntKey]routing.LearntStatus{}
		}
		now := map[routing.LearntKey]routing.LearntStatus{}
		base := tree.Path{{Schema: e.paths.tenants}, keyed(e.paths.tenant, tenant), {Schema: e.paths.vpns}, keyed(e.paths.vpn, vpn), {Schema: e.paths.learnt}}
		for _, s := range e.learnt.VPNStatus(tenant, vpn, keys) {
			k := s.Key()
			now[k] = s
			if old, ok := shown[k]; ok && sameLearnt(old, s) {
				continue
			}
			ep := append(base[:5:5], tree.Elem{Schema: e.paths.learntRoute, Keys: []value.Value{k.RD, k.Prefix.String()}})
			leaf := func(name string, v value.Value) {
				out = append(out, realizer.Edit{Path: append(ep[:6:6], tree.Elem{Schema: child(e.paths.learntRoute, name)}), Object: 4, Value: v})
			}
			leaf("next-hop", s.NextHop.String())
			leaf("label", uint64(s.Label))
			leaf("peer", s.Source)
			leaf("installed", s.Installed)
			leaf("reason", s.Reason)
		}
		deleted := false
		gone := func(k routing.LearntKey) {
			if _, ok := now[k]; !ok {
				if _, was := shown[k]; was {
					deleted = true
					out = append(out, realizer.Edit{Path: append(base[:5:5], tree.Elem{Schema: e.paths.learntRoute, Keys: []value.Value{k.RD, k.Prefix.String()}}), Object: 4, Delete: true})
					delete(shown, k)
				}
			}
		}
		if keys == nil {
			for k := range shown {
				gone(k)
			}
		} else {
			for _, k := range keys {
				gone(k)
			}
		}
		maps.Copy(shown, now)
		if len(shown) == 0 {
			if deleted { // no empty container left behind
				out = append(out, realizer.Edit{Path: base, Object: 4, Delete: true})
			}
			delete(e.learntShown, key)
		} else {
			e.learntShown[key] = shown
		}
	}
	return out
}

func sameLearnt(a, b routing.LearntStatus) bool {
	return a.NextHop == b.NextHop && a.Label == b.Label && a.Source == b.Source && a.Installed == b.Installed && a.Reason == b.Reason
}

// learntStatusAgain rewrites the learnt-routes state of every VPN that
// shows or should show some, from nothing (each VPN's container deleted,
// then filled): after a lost commit, whose status was never published.
// The caller holds e.mu.
func (e *Engine) learntStatusAgain() realizer.Status {
	vpns := slices.Collect(maps.Keys(e.learntShown))
	vpns = append(vpns, e.learnt.VPNs()...)
	slices.Sort(vpns)
	vpns = slices.Compact(vpns)
	var out realizer.Status
	for _, key := range vpns {
		tenant, vpn, _ := strings.Cut(key, "/")
		out = append(out, realizer.Edit{Path: tree.Path{{Schema: e.paths.tenants}, keyed(e.paths.tenant, tenant), {Schema: e.paths.vpns}, keyed(e.paths.vpn, vpn), {Schema: e.paths.learnt}}, Object: 4, Delete: true})
	}
	clear(e.learntShown)
	return append(out, e.learntStatus(vpns, nil)...)
}
