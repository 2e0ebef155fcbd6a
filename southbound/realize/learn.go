package realize

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/netready/netready/southbound/routing"
)

// Learn installs learnt VPN routes (add) in the VRF instances that import
// them, and removes withdrawn ones (del): the import of the BGP speaker.
// It runs under the engine's lock, like a transaction, so learnt routes
// reach the backends in order with the Sets and never two at once; the
// caller (one goroutine feeding the peers' updates) waits for it. Learnt
// routes change no configuration, and their placement is not written
// into the tree: readers are shown it as live state (ReadLive), under
// each importing VPN's learnt-routes. A route a
// backend could not take is left out of every VRF until it is announced
// again, with the backend's error as the reason.
//
// The routes are placed in slices of learnSlice (withdrawals first, as
// Update takes them), each under its own hold of the lock, and a Set
// waiting for the lock goes before the next slice: a flood of learnt
// routes delays another tenant's Set by one slice at most, and the
// result is that of the slices applied in order, as if the speaker had
// sent them one by one.
//
// Between slices Learn rests (see learnShare), so that a flood takes at
// most its share of the machine from the Sets and Gets of every tenant.
func (e *Engine) Learn(ctx context.Context, add []routing.Learnt, del []routing.LearntKey) {
	for len(add)+len(del) > 0 {
		e.yieldToSets(ctx)
		nd := min(len(del), learnSlice)
		na := min(len(add), learnSlice-nd)
		start := time.Now()
		e.placeSlice(ctx, add[:na:na], del[:nd:nd])
		add, del = add[na:], del[nd:]
		if len(add)+len(del) > 0 {
			rest(ctx, time.Since(start))
		}
	}
}

// learnShare is the largest share of the wall clock a flood's placement
// takes: after a slice that took d, Learn rests d·(1−share)/share. A
// slice's cost is not only its own goroutine's: the forwarders' kernel
// work, GoBGP and the garbage it leaves run on the same few cores as
// the Sets and Gets of tenants the flood does not concern, and the lock
// hand-over (yieldToSets) does not protect those from it. A half keeps
// a 100,000-route flood within a few tens of seconds (docs/performance.md).
const learnShare = 0.5

// rest waits for the pause that keeps learning to its share after a
// slice that took busy, or until ctx ends.
func rest(ctx context.Context, busy time.Duration) {
	t := time.NewTimer(time.Duration(float64(busy) * (1 - learnShare) / learnShare))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// learnSlice bounds the learnt routes placed under one hold of the
// engine lock, and so a waiting Set's delay. A slice costs what its
// routes touch, whatever the VRFs hold (routing's BenchmarkLearnStep,
// VRFs of 100,000 routes: 2.8 kB and about as much time per route at
// slices of 250 as at 500 or 1,000; below 100 the fixed part shows), so
// 250 halves the wait of 500 for no more work per route.
const learnSlice = 250

// maxYield bounds how long Learn gives way to waiting Sets before a
// slice, so a stream of Sets cannot hold learning off for ever.
const maxYield = 100 * time.Millisecond

// yieldToSets waits until no Set is waiting for the engine lock, for at
// most maxYield: Sets that arrive while it waits are let through too.
// sync.Mutex lets a goroutine that has just unlocked take the lock again
// before a woken waiter, so without this the slices of a flood could pass
// a waiting Set many times in a row.
func (e *Engine) yieldToSets(ctx context.Context) {
	deadline := time.Now().Add(maxYield)
	for e.setsWaiting.Load() > 0 && ctx.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Microsecond)
	}
}

// placeSlice places one slice of Learn's routes under the engine lock.
func (e *Engine) placeSlice(ctx context.Context, add []routing.Learnt, del []routing.LearntKey) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rts := e.learnt.Update(add, del)
	keys := make([]routing.LearntKey, len(add))
	for i := range add {
		keys[i] = add[i].Key()
	}
	keys = append(keys, del...)
	e.placeLearnt(ctx, rts, keys, keys[:len(add)])
}

// placeLearnt places the learnt routes keys (their route targets rts)
// in the VRF instances importing them and gives the backends the
// difference, at the cost of what the keys touch. If a backend fails,
// the others are undone, the routes added (added) are refused and the
// instances are placed again from scratch. The caller holds e.mu.
func (e *Engine) placeLearnt(ctx context.Context, rts []string, keys, added []routing.LearntKey) {
	if len(rts) == 0 {
		return
	}
	res, changes, vpns := e.learnt.Learn(e.result, e.computed, rts, keys)
	jobs := e.learntJobs(changes)
	outcomes := run(ctx, jobs)
	failed := firstFailure(outcomes)
	if failed == nil {
		e.result = res
		e.published()
		e.showLearnt(vpns, keys)
		return
	}
	refs := routing.Importers(e.computed, rts)
	sorted := slices.SortedFunc(maps.Keys(refs), compareRefs)
	e.undoLearnt(jobs, outcomes, routing.LearntChanges(res, e.result, sorted))
	e.log.Warn("realize: learnt routes refused", "backend", failed.backend, "count", len(added), "err", failed.err)
	e.learnt.Refuse(added, fmt.Sprintf("backend %s: %v", failed.backend, failed.err))
	pl := e.learnt.Place(e.result, e.computed, refs)
	pl.Changed = sorted // Learn changed the table's placement of all of them: compare them all
	jobs = e.learntJobs(routing.LearntChanges(e.result, pl.Result, pl.Changed))
	if failed := firstFailure(run(ctx, jobs)); failed != nil { // the backend is reconciled by its next transaction
		e.log.Error("realize: placing learnt routes again", "backend", failed.backend, "err", failed.err)
		e.mustReconcile(failed.backend)
	}
	e.keepLearnt(pl)
}

func compareRefs(a, b routing.VRFRef) int {
	return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.ID, b.ID))
}

// keepLearnt makes a placement the engine's and shows the learnt routes
// of the VPNs it changed. The caller holds e.mu.
func (e *Engine) keepLearnt(pl routing.Placement) {
	vpns := routing.PlacedVPNs(e.result, pl.Result, pl.Changed)
	e.learnt.Keep(pl)
	e.result = pl.Result
	e.published()
	e.showLearnt(vpns, nil)
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

// showLearnt brings the learnt-routes state readers are shown of the
// named VPNs ("tenant/vpn") to the table's placement: of the routes keys
// when given (what a Learn changed), else of all. It costs what changed,
// and holds learntMu only to swap the entries in. The caller holds e.mu.
func (e *Engine) showLearnt(vpns []string, keys []routing.LearntKey) {
	for _, key := range vpns {
		tenant, vpn, _ := strings.Cut(key, "/")
		now := map[routing.LearntKey]routing.LearntStatus{}
		for _, s := range e.learnt.VPNStatus(tenant, vpn, keys) {
			now[s.Key()] = s
		}
		e.learntMu.Lock()
		shown := e.learntShown[key]
		switch {
		case keys == nil:
			shown = now
		case shown == nil:
			shown = now
		default:
			for _, k := range keys {
				if s, ok := now[k]; ok {
					shown[k] = s
				} else {
					delete(shown, k)
				}
			}
		}
		if len(shown) == 0 {
			delete(e.learntShown, key)
		} else {
			e.learntShown[key] = shown
		}
		e.learntMu.Unlock()
	}
}

// showLearntAgain shows every VPN's learnt routes from the table anew:
// after a lost commit, when the engine placed them again from scratch.
// The caller holds e.mu.
func (e *Engine) showLearntAgain() {
	e.learntMu.Lock()
	clear(e.learntShown)
	e.learntMu.Unlock()
	e.showLearnt(e.learnt.VPNs(), nil)
}
