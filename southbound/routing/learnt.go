package routing

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
)

// Learnt is a VPN route learnt from outside the controller (a BGP peer):
// a prefix reachable by tunnelling to NextHop with Label. It is placed in
// every VRF instance whose import route targets meet RTs, as a route
// with HopLearnt hops. Learnt routes never change the Model: they are
// laid over the computed Result (LearntTable).
type Learnt struct {
	RD      string
	Prefix  netip.Prefix
	NextHop netip.Addr // the tunnel endpoint
	Label   uint32     // sent with the traffic (the VXLAN VNI)
	RTs     []string   // the route's route targets
	Source  string     // who announced it (the peer's address), for status
}

// LearntKey identifies a learnt route: one best path per RD and prefix.
type LearntKey struct {
	RD     string
	Prefix netip.Prefix
}

// Key returns l's key.
func (l *Learnt) Key() LearntKey { return LearntKey{RD: l.RD, Prefix: l.Prefix} }

func compareLearnt(a, b LearntKey) int {
	return cmp.Or(cmp.Compare(a.RD, b.RD), a.Prefix.Compare(b.Prefix))
}

// VRFRef names one VRF instance: a VRF ID on a host.
type VRFRef struct {
	Host, ID string
}

// LearntTable holds the learnt routes and lays them over computed
// Results. A VRF instance keeps its computed routes: a learnt route for
// a prefix the VRF already routes is not placed there (the VPN's own
// routes win), nor one whose label would lead to two tunnel endpoints in
// one VRF (forwarders address a tunnelled hop by its label), nor one a
// backend refused (Refuse) until it is announced again. It is not safe
// for concurrent use.
type LearntTable struct {
	routes  map[LearntKey]*Learnt
	byRT    map[string]map[LearntKey]*Learnt
	refused map[LearntKey]string
	// placed has every VRF instance that imports learnt routes, with the
	// verdict on each: "" installed, otherwise why not.
	placed map[VRFRef]*placement
}

type placement struct {
	tenant, vpn string
	verdicts    map[LearntKey]string
}

// NewLearntTable returns an empty table.
func NewLearntTable() *LearntTable {
	return &LearntTable{
		routes: map[LearntKey]*Learnt{}, byRT: map[string]map[LearntKey]*Learnt{},
		refused: map[LearntKey]string{}, placed: map[VRFRef]*placement{},
	}
}

// Len returns the number of learnt routes held.
func (t *LearntTable) Len() int { return len(t.routes) }

// Update adds or replaces the routes in add and removes those in del
// (absent ones are ignored). It returns the route targets whose
// importers must be placed again. A route announced again is no longer
// refused.
func (t *LearntTable) Update(add []Learnt, del []LearntKey) []string {
	var rts []string
	remove := func(k LearntKey) {
		old := t.routes[k]
		if old == nil {
			return
		}
		for _, rt := range old.RTs {
			delete(t.byRT[rt], k)
			if len(t.byRT[rt]) == 0 {
				delete(t.byRT, rt)
			}
		}
		rts = append(rts, old.RTs...)
		delete(t.routes, k)
		delete(t.refused, k)
	}
	for _, k := range del {
		remove(k)
	}
	for i := range add {
		l := add[i]
		l.RTs = sortedSet(l.RTs)
		k := l.Key()
		remove(k)
		t.routes[k] = &l
		for _, rt := range l.RTs {
			if t.byRT[rt] == nil {
				t.byRT[rt] = map[LearntKey]*Learnt{}
			}
			t.byRT[rt][k] = &l
		}
		rts = append(rts, l.RTs...)
	}
	return sortedSet(rts)
}

// Refuse keeps the routes out of every VRF, with why, until they are
// announced again. It returns their route targets.
func (t *LearntTable) Refuse(keys []LearntKey, why string) []string {
	var rts []string
	for _, k := range keys {
		if l := t.routes[k]; l != nil {
			t.refused[k] = why
			rts = append(rts, l.RTs...)
		}
	}
	return sortedSet(rts)
}

// Importers returns the VRF instances of res that import one of rts.
func Importers(res Result, rts []string) map[VRFRef]bool {
	out := map[VRFRef]bool{}
	for name, h := range res.Hosts {
		for i := range h.VRFs {
			if slices.ContainsFunc(h.VRFs[i].ImportRTs, func(rt string) bool { _, ok := slices.BinarySearch(rts, rt); return ok }) {
				out[VRFRef{Host: name, ID: h.VRFs[i].ID}] = true
			}
		}
	}
	return out
}

// Placement is learnt routes laid over a computed Result (Place,
// Overlay); Keep makes it the table's.
type Placement struct {
	Result Result
	// Changed are the VRF instances whose routes may differ from the
	// previous placement's because of learnt routes, sorted.
	Changed []VRFRef
	placed  map[VRFRef]*placement
}

// Keep makes pl the placement the next Place starts from.
func (t *LearntTable) Keep(pl Placement) {
	if pl.placed != nil {
		t.placed = pl.placed
	}
}

// Holds reports whether any VRF instance imports learnt routes.
func (t *LearntTable) Holds() bool { return len(t.placed) > 0 }

// Overlay places every learnt route in res (a computed Result), from
// nothing: what Place keeps up incrementally.
func (t *LearntTable) Overlay(res Result) Placement {
	return t.place1(Result{}, res, Importers(res, slices.Sorted(maps.Keys(t.byRT))), map[VRFRef]*placement{})
}

// Place lays the learnt routes over res (a computed Result), given prev,
// the Result of the placement kept last: the VRF instances in dirty are
// placed again, the others that hold learnt routes are taken from prev
// (their computed part must not have changed). res, prev and the table
// are not modified.
func (t *LearntTable) Place(prev, res Result, dirty map[VRFRef]bool) Placement {
	return t.place1(prev, res, dirty, maps.Clone(t.placed))
}

func (t *LearntTable) place1(prev, res Result, dirty map[VRFRef]bool, placed map[VRFRef]*placement) Placement {
	hosts := map[string]bool{}
	for r := range dirty {
		hosts[r.Host] = true
	}
	for r := range placed {
		hosts[r.Host] = true
	}
	out := Result{Hosts: maps.Clone(res.Hosts), Warnings: res.Warnings}
	var changed []VRFRef
	seen := map[VRFRef]bool{}
	for name := range hosts {
		hv := res.Hosts[name]
		if hv == nil {
			continue
		}
		nh := *hv
		nh.VRFs = slices.Clone(hv.VRFs)
		for i := range nh.VRFs {
			ref := VRFRef{Host: name, ID: nh.VRFs[i].ID}
			seen[ref] = true
			_, had := placed[ref]
			switch {
			case dirty[ref]:
				v, verdicts := t.place(&nh.VRFs[i])
				nh.VRFs[i] = v
				if verdicts == nil {
					delete(placed, ref)
				} else {
					placed[ref] = &placement{tenant: v.Tenant, vpn: v.VPN, verdicts: verdicts}
				}
				if had || verdicts != nil {
					changed = append(changed, ref)
				}
			case had && prev.Hosts[name] != nil && prev.Hosts[name].VRF(ref.ID) != nil:
				nh.VRFs[i] = *prev.Hosts[name].VRF(ref.ID)
			}
		}
		out.Hosts[name] = &nh
	}
	for ref := range placed {
		if !seen[ref] { // the instance is gone
			delete(placed, ref)
			changed = append(changed, ref)
		}
	}
	slices.SortFunc(changed, compareRefs)
	return Placement{Result: out, Changed: changed, placed: placed}
}

func compareRefs(a, b VRFRef) int {
	return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.ID, b.ID))
}

// place lays the learnt routes v imports over v's computed routes.
// verdicts is nil when v imports none.
func (t *LearntTable) place(v *VRF) (VRF, map[LearntKey]string) {
	var cands []*Learnt
	for _, rt := range v.ImportRTs {
		for _, l := range t.byRT[rt] {
			cands = append(cands, l)
		}
	}
	if len(cands) == 0 {
		return *v, nil
	}
	slices.SortFunc(cands, func(a, b *Learnt) int { return compareLearnt(a.Key(), b.Key()) })
	cands = slices.Compact(cands) // a route with several imported RTs
	tunnels := v.tunnels()
	verdicts := make(map[LearntKey]string, len(cands))
	hops := map[netip.Prefix][]Hop{}
	for _, l := range cands {
		k := l.Key()
		if why, ok := t.refused[k]; ok {
			verdicts[k] = why
			continue
		}
		if _, own := slices.BinarySearchFunc(v.Routes, l.Prefix.Masked(), func(r Route, p netip.Prefix) int { return r.Prefix.Compare(p) }); own {
			verdicts[k] = fmt.Sprintf("the VPN's own route for %s wins", l.Prefix)
			continue
		}
		if u, ok := tunnels[l.Label]; ok && u != l.NextHop {
			verdicts[k] = fmt.Sprintf("label %d already leads to %s in VRF %s", l.Label, tunnelName(u), v.ID)
			continue
		}
		tunnels[l.Label] = l.NextHop
		verdicts[k] = ""
		p := l.Prefix.Masked()
		h := Hop{Kind: HopLearnt, Addr: l.NextHop, Label: l.Label, Underlay: l.NextHop}
		if !slices.Contains(hops[p], h) {
			hops[p] = append(hops[p], h)
		}
	}
	out := *v
	out.Routes = make([]Route, 0, len(v.Routes)+len(hops))
	out.Routes = append(out.Routes, v.Routes...)
	for p, hs := range hops {
		slices.SortFunc(hs, func(a, b Hop) int { return cmp.Or(a.Underlay.Compare(b.Underlay), cmp.Compare(a.Label, b.Label)) })
		out.Routes = append(out.Routes, Route{Prefix: p, NextHops: hs, Mode: LoadBalance})
	}
	slices.SortFunc(out.Routes, func(a, b Route) int { return a.Prefix.Compare(b.Prefix) })
	return out, verdicts
}

// tunnels returns the labels v's computed routes and ports use, with the
// tunnel endpoint each leads to (the zero address for a port's own).
func (v *VRF) tunnels() map[uint32]netip.Addr {
	out := map[uint32]netip.Addr{v.Label: {}}
	for _, p := range v.Ports {
		out[p.Label] = netip.Addr{}
	}
	for i := range v.Routes {
		for _, h := range v.Routes[i].NextHops {
			if h.Kind != HopLocal {
				if _, ok := out[h.Label]; !ok {
					out[h.Label] = h.Underlay
				}
			}
		}
	}
	return out
}

func tunnelName(a netip.Addr) string {
	if !a.IsValid() {
		return "a port of the VRF"
	}
	return a.String()
}

// LearntStatus is a learnt route as a VPN sees it.
type LearntStatus struct {
	Learnt
	Installed bool
	// Reason says why it is not installed, and where.
	Reason string
}

// VPNStatus returns the learnt routes the VRF instances of VPN
// tenant/vpn import, sorted by key: installed when every instance that
// imports a route holds it.
func (t *LearntTable) VPNStatus(tenant, vpn string) []LearntStatus {
	byKey := map[LearntKey]*LearntStatus{}
	refs := slices.SortedFunc(maps.Keys(t.placed), compareRefs)
	for _, ref := range refs {
		p := t.placed[ref]
		if p.tenant != tenant || p.vpn != vpn {
			continue
		}
		for k, why := range p.verdicts {
			s := byKey[k]
			if s == nil {
				s = &LearntStatus{Learnt: *t.routes[k], Installed: true}
				byKey[k] = s
			}
			if why != "" && s.Installed {
				s.Installed, s.Reason = false, fmt.Sprintf("%s (on %s)", why, ref.Host)
			}
		}
	}
	out := make([]LearntStatus, 0, len(byKey))
	for _, k := range slices.SortedFunc(maps.Keys(byKey), compareLearnt) {
		out = append(out, *byKey[k])
	}
	return out
}

// PlacedVPNs returns the VPNs ("tenant/vpn") of the given VRF instances
// that hold or held learnt routes; refs from Place.
func PlacedVPNs(prev, next Result, refs []VRFRef) []string {
	var out []string
	for _, ref := range refs {
		for _, res := range []Result{prev, next} {
			if h := res.Hosts[ref.Host]; h != nil {
				if v := h.VRF(ref.ID); v != nil {
					out = append(out, v.Tenant+"/"+v.VPN)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// LearntChanges returns, per backend, the route changes that take the
// VRF instances refs from prev to next: route deletes, then creates and
// updates. A host that moved backend gets the deletes on the old one and
// the rest on the new one.
func LearntChanges(prev, next Result, refs []VRFRef) map[string][2][]Change {
	out := map[string][2][]Change{}
	for _, ref := range refs {
		var bRoutes, aRoutes []Route
		var bBackend, aBackend string
		if h := prev.Hosts[ref.Host]; h != nil {
			bBackend = h.Backend
			if v := h.VRF(ref.ID); v != nil {
				bRoutes = v.Routes
			}
		}
		if h := next.Hosts[ref.Host]; h != nil {
			aBackend = h.Backend
			if v := h.VRF(ref.ID); v != nil {
				aRoutes = v.Routes
			}
		}
		var p [6][]Change
		if bBackend == aBackend {
			diffRoutes(&p, ref.Host, ref.ID, bRoutes, aRoutes)
		} else {
			diffRoutes(&p, ref.Host, ref.ID, bRoutes, nil)
			diffRoutes(&p, ref.Host, ref.ID, nil, aRoutes)
		}
		if len(p[phRouteDel]) > 0 {
			c := out[bBackend]
			c[0] = append(c[0], p[phRouteDel]...)
			out[bBackend] = c
		}
		if len(p[phRouteSet]) > 0 {
			c := out[aBackend]
			c[1] = append(c[1], p[phRouteSet]...)
			out[aBackend] = c
		}
	}
	return out
}

// Splice puts learnt route changes (LearntChanges of refs) into a diff of
// computed Results: the diff's own route changes of refs are replaced,
// the deletes go first and the creates and updates last, so every VRF
// exists before its routes are set and after they are deleted.
func Splice(diffs map[string][]Change, learnt map[string][2][]Change, refs []VRFRef) map[string][]Change {
	if len(refs) == 0 {
		return diffs
	}
	fixed := make(map[VRFRef]bool, len(refs))
	for _, r := range refs {
		fixed[r] = true
	}
	out := make(map[string][]Change, len(diffs)+len(learnt))
	for backend, cs := range diffs {
		lc := learnt[backend]
		all := slices.Clone(lc[0])
		for _, c := range cs {
			if c.Kind != KindRoute || !fixed[VRFRef{Host: c.Host, ID: c.VRF}] {
				all = append(all, c)
			}
		}
		if all = append(all, lc[1]...); len(all) > 0 {
			out[backend] = all
		}
	}
	for backend, lc := range learnt {
		if _, done := diffs[backend]; !done && len(lc[0])+len(lc[1]) > 0 {
			out[backend] = slices.Concat(lc[0], lc[1])
		}
	}
	return out
}

// VPNs returns the VPNs ("tenant/vpn") with VRF instances that import
// learnt routes, sorted.
func (t *LearntTable) VPNs() []string {
	var out []string
	for _, p := range t.placed {
		out = append(out, p.tenant+"/"+p.vpn)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
