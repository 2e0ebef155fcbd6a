package routing

import (
	"iter"
	"net/netip"
	"slices"

	"github.com/google/btree"
)

// LearntRoutes are the learnt routes placed in a VRF instance
// (VRF.Learnt), ordered by prefix: a persistent ordered set. A VRF can
// import 100,000 learnt routes and a learn step changes a few hundred,
// so successive Results share what a step did not touch (a lazy
// copy-on-write B-tree): a step of k routes costs O(k log n), not a
// copy of the n routes, and the Result before it stays as it was, for
// the readers that hold it without a lock. The zero value is empty.
//
// Readers may use a LearntRoutes concurrently; the LearntTable, its only
// writer, derives new ones (edit) under the caller's serialization (the
// realize engine's lock), since deriving marks the shared nodes
// read-only in the source too.
type LearntRoutes struct {
	t *btree.BTreeG[Route]
}

// learntDegree is the B-tree's degree: nodes of up to 63 routes keep a
// step's copied path short and the tree shallow (3 levels at 100,000).
const learntDegree = 32

func routeLess(a, b Route) bool { return a.Prefix.Compare(b.Prefix) < 0 }

// Len returns the number of routes.
func (l LearntRoutes) Len() int {
	if l.t == nil {
		return 0
	}
	return l.t.Len()
}

// Get returns the route for prefix p.
func (l LearntRoutes) Get(p netip.Prefix) (Route, bool) {
	if l.t == nil {
		return Route{}, false
	}
	return l.t.Get(Route{Prefix: p})
}

// All yields the routes in prefix order.
func (l LearntRoutes) All() iter.Seq[Route] {
	return func(yield func(Route) bool) {
		if l.t != nil {
			l.t.Ascend(func(r Route) bool { return yield(r) })
		}
	}
}

// edit returns a copy of l to change; l stays as it is. It costs O(1):
// the copy shares l's nodes and copies those a change touches.
func (l LearntRoutes) edit() LearntRoutes {
	if l.t == nil {
		return LearntRoutes{t: btree.NewG(learntDegree, routeLess)}
	}
	return LearntRoutes{t: l.t.Clone()}
}

// set adds or replaces r; l must come from edit.
func (l LearntRoutes) set(r Route) { l.t.ReplaceOrInsert(r) }

// remove removes the route for p; l must come from edit.
func (l LearntRoutes) remove(p netip.Prefix) { l.t.Delete(Route{Prefix: p}) }

// AllRoutes yields every route of v in prefix order: its computed Routes
// and its Learnt routes merged (they never share a prefix). It is what
// a forwarder must hold for v.
func (v *VRF) AllRoutes() iter.Seq[Route] {
	return func(yield func(Route) bool) {
		own, i := v.Routes, 0
		for r := range v.Learnt.All() {
			for ; i < len(own) && own[i].Prefix.Compare(r.Prefix) < 0; i++ {
				if !yield(own[i]) {
					return
				}
			}
			if !yield(r) {
				return
			}
		}
		for ; i < len(own); i++ {
			if !yield(own[i]) {
				return
			}
		}
	}
}

// NumRoutes returns the number of routes AllRoutes yields.
func (v *VRF) NumRoutes() int { return len(v.Routes) + v.Learnt.Len() }

// routeList returns AllRoutes as a slice: Routes itself when v holds no
// learnt route, else a merged copy (for a whole-VRF diff).
func (v *VRF) routeList() []Route {
	if v.Learnt.Len() == 0 {
		return v.Routes
	}
	return slices.AppendSeq(make([]Route, 0, v.NumRoutes()), v.AllRoutes())
}
