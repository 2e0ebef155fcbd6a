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
	// ipv6 tells whether a backend's forwarder realizes IPv6 routes
	// (nil: every one does); see SetIPv6.
	ipv6 func(backend string) bool
}

// SetIPv6 tells the table which backends realize IPv6 routes: an IPv6
// route is not placed in a VRF instance of a host on another backend,
// and says why, rather than being handed to a forwarder that would
// refuse it (and with it the batch it came in).
func (t *LearntTable) SetIPv6(realizes func(backend string) bool) { t.ipv6 = realizes }

// takesIPv6 reports whether the VRF instances of backend's hosts take
// IPv6 routes.
func (t *LearntTable) takesIPv6(backend string) bool { return t.ipv6 == nil || t.ipv6(backend) }

// placement is the learnt routes of one VRF instance: the verdict on
// each route it imports, and the indexes that let a change of a few
// routes be placed without visiting the others (LearntTable.Learn).
type placement struct {
	tenant, vpn string
	noIPv6      string // why the instance takes no IPv6 route; "" when it does
	verdicts    map[LearntKey]string
	// tunnels are the labels the computed part uses (see VRF.tunnels).
	tunnels map[uint32]netip.Addr
	// counted are the routes eligible for a hop (imported, not refused,
	// not shadowed, their label free in the computed part), with it.
	counted  map[LearntKey]hopKey
	byLabel  map[uint32]map[netip.Addr]int // eligible routes per label and next hop
	byLabelK map[uint32]map[LearntKey]bool
	// byPrefix has the eligible routes of each prefix: one per RD that
	// announces it, a short slice (a map per prefix cost a step more
	// than the rest of its bookkeeping).
	byPrefix map[netip.Prefix][]LearntKey
	// winner is each label's next hop: the lowest of the eligible
	// routes', so the outcome does not depend on arrival order.
	winner map[uint32]netip.Addr
}

type hopKey struct {
	label uint32
	nh    netip.Addr
}

func newPlacement(v *VRF, backend string, ipv6 bool) *placement {
	noIPv6 := ""
	if !ipv6 {
		noIPv6 = fmt.Sprintf("backend %s of this VRF's host does not realize IPv6 routes", backend)
	}
	return &placement{
		tenant: v.Tenant, vpn: v.VPN, noIPv6: noIPv6, verdicts: map[LearntKey]string{}, tunnels: v.tunnels(),
		counted: map[LearntKey]hopKey{}, byLabel: map[uint32]map[netip.Addr]int{}, byLabelK: map[uint32]map[LearntKey]bool{},
		byPrefix: map[netip.Prefix][]LearntKey{}, winner: map[uint32]netip.Addr{},
	}
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
// announced again.
func (t *LearntTable) Refuse(keys []LearntKey, why string) {
	for _, k := range keys {
		if t.routes[k] != nil {
			t.refused[k] = why
		}
	}
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
				v, p := t.place(&nh.VRFs[i], hv.Backend)
				nh.VRFs[i] = v
				if p == nil {
					delete(placed, ref)
				} else {
					placed[ref] = p
				}
				if had || p != nil {
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
// The placement is nil when v imports none.
func (t *LearntTable) place(v *VRF, backend string) (VRF, *placement) {
	var keys []LearntKey
	for _, rt := range v.ImportRTs {
		for k := range t.byRT[rt] {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return *v, nil
	}
	p := newPlacement(v, backend, t.takesIPv6(backend))
	out := *v
	out.Learnt, _ = t.update(p, v, LearntRoutes{}, keys)
	return out, p
}

// update places the routes keys (changed since p was last brought up to
// date, or all of them) in the VRF instance whose computed part is comp
// and whose learnt routes are now eff. It returns the new learnt routes
// and the changes to the prefixes it touched, costing what the keys
// touch (log VRF each), not what the VRF holds.
func (t *LearntTable) update(p *placement, comp *VRF, eff LearntRoutes, keys []LearntKey) (LearntRoutes, []Change) {
	labels := map[uint32]bool{}
	again := make(map[LearntKey]bool, len(keys))
	for _, k := range keys {
		again[k] = true
		if hk, ok := p.counted[k]; ok {
			p.uncount(k, hk)
			labels[hk.label] = true
		}
		delete(p.verdicts, k)
		l := t.routes[k]
		if l == nil || !slices.ContainsFunc(l.RTs, func(rt string) bool { _, ok := slices.BinarySearch(comp.ImportRTs, rt); return ok }) {
			continue
		}
		if why, ok := t.refused[k]; ok {
			p.verdicts[k] = why
			continue
		}
		if p.noIPv6 != "" && !k.Prefix.Addr().Is4() {
			p.verdicts[k] = p.noIPv6
			continue
		}
		if hasRoute(comp.Routes, k.Prefix) {
			p.verdicts[k] = fmt.Sprintf("the VPN's own route for %s wins", k.Prefix)
			continue
		}
		if u, ok := p.tunnels[l.Label]; ok && u != l.NextHop {
			p.verdicts[k] = fmt.Sprintf("label %d already leads to %s in VRF %s", l.Label, tunnelName(u), comp.ID)
			continue
		}
		p.count(k, hopKey{l.Label, l.NextHop})
		labels[l.Label] = true
	}
	for label := range labels {
		if w, ok := p.lowest(label); w != p.winner[label] || !ok {
			if ok {
				p.winner[label] = w
			} else {
				delete(p.winner, label)
			}
			for k := range p.byLabelK[label] {
				again[k] = true
			}
		}
	}
	prefixes := make(map[netip.Prefix]bool, len(again))
	for k := range again {
		prefixes[k.Prefix] = true
		if hk, ok := p.counted[k]; ok {
			if w := p.winner[hk.label]; w == hk.nh {
				p.verdicts[k] = ""
			} else {
				p.verdicts[k] = fmt.Sprintf("label %d already leads to %s in VRF %s", hk.label, w, comp.ID)
			}
		}
	}
	return t.rebuild(p, comp, eff, prefixes)
}

// rebuild replaces the learnt routes of prefixes in eff by what p holds
// for them now, and returns the new learnt routes and the changes, in
// prefix order. The new routes share with eff every route not touched,
// so a step costs log VRF per prefix it touches; eff stays as it was:
// readers may hold it without a lock.
func (t *LearntTable) rebuild(p *placement, comp *VRF, eff LearntRoutes, prefixes map[netip.Prefix]bool) (LearntRoutes, []Change) {
	touched := make([]netip.Prefix, 0, len(prefixes))
	for prefix := range prefixes {
		if !hasRoute(comp.Routes, prefix) { // else the computed route stays
			touched = append(touched, prefix)
		}
	}
	if len(touched) == 0 {
		return eff, nil
	}
	slices.SortFunc(touched, netip.Prefix.Compare)
	out := eff.edit()
	changes := make([]Change, 0, len(touched))
	for _, prefix := range touched {
		old, held := eff.Get(prefix)
		fresh, ok := p.learntRoute(prefix)
		switch {
		case held && ok:
			if !sameRoute(&old, &fresh) {
				out.set(fresh)
				changes = append(changes, routeChange(Update, comp.ID, &fresh))
			}
		case held:
			out.remove(prefix)
			changes = append(changes, Change{Op: Delete, Kind: KindRoute, VRF: comp.ID, Prefix: prefix})
		case ok:
			out.set(fresh)
			changes = append(changes, routeChange(Create, comp.ID, &fresh))
		}
	}
	if out.Len() == 0 {
		return LearntRoutes{}, changes
	}
	return out, changes
}

// learntRoute is the route p's eligible learnt routes for prefix make:
// one hop per next hop and label, sorted; false when there is none.
func (p *placement) learntRoute(prefix netip.Prefix) (Route, bool) {
	var hops []Hop
	for _, k := range p.byPrefix[prefix] {
		if hk := p.counted[k]; p.verdicts[k] == "" {
			h := Hop{Kind: HopLearnt, Addr: hk.nh, Label: hk.label, Underlay: hk.nh}
			if !slices.Contains(hops, h) {
				hops = append(hops, h)
			}
		}
	}
	if len(hops) == 0 {
		return Route{}, false
	}
	slices.SortFunc(hops, func(a, b Hop) int { return cmp.Or(a.Underlay.Compare(b.Underlay), cmp.Compare(a.Label, b.Label)) })
	return Route{Prefix: prefix, NextHops: hops, Mode: LoadBalance}, true
}

func routeChange(op Op, vrf string, r *Route) Change {
	rc := cloneRoute(*r)
	return Change{Op: op, Kind: KindRoute, VRF: vrf, Prefix: r.Prefix, Route: &rc}
}

func hasRoute(rs []Route, p netip.Prefix) bool {
	_, ok := slices.BinarySearchFunc(rs, p, func(r Route, p netip.Prefix) int { return r.Prefix.Compare(p) })
	return ok
}

func (p *placement) count(k LearntKey, hk hopKey) {
	p.counted[k] = hk
	if p.byLabel[hk.label] == nil {
		p.byLabel[hk.label], p.byLabelK[hk.label] = map[netip.Addr]int{}, map[LearntKey]bool{}
	}
	p.byLabel[hk.label][hk.nh]++
	p.byLabelK[hk.label][k] = true
	p.byPrefix[k.Prefix] = append(p.byPrefix[k.Prefix], k)
}

func (p *placement) uncount(k LearntKey, hk hopKey) {
	delete(p.counted, k)
	if p.byLabel[hk.label][hk.nh]--; p.byLabel[hk.label][hk.nh] == 0 {
		delete(p.byLabel[hk.label], hk.nh)
	}
	delete(p.byLabelK[hk.label], k)
	if len(p.byLabelK[hk.label]) == 0 {
		delete(p.byLabel, hk.label)
		delete(p.byLabelK, hk.label)
	}
	if ks := slices.DeleteFunc(p.byPrefix[k.Prefix], func(o LearntKey) bool { return o == k }); len(ks) > 0 {
		p.byPrefix[k.Prefix] = ks
	} else {
		delete(p.byPrefix, k.Prefix)
	}
}

// lowest is the lowest next hop of the eligible routes with label.
func (p *placement) lowest(label uint32) (netip.Addr, bool) {
	var w netip.Addr
	for nh := range p.byLabel[label] {
		if !w.IsValid() || nh.Less(w) {
			w = nh
		}
	}
	return w, w.IsValid()
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
// imports a route holds it. With keys, only those routes (the ones a
// change touched) are looked at.
func (t *LearntTable) VPNStatus(tenant, vpn string, keys []LearntKey) []LearntStatus {
	byKey := map[LearntKey]*LearntStatus{}
	refs := slices.SortedFunc(maps.Keys(t.placed), compareRefs)
	for _, ref := range refs {
		p := t.placed[ref]
		if p.tenant != tenant || p.vpn != vpn {
			continue
		}
		verdict := func(k LearntKey, why string) {
			s := byKey[k]
			if s == nil {
				s = &LearntStatus{Learnt: *t.routes[k], Installed: true}
				byKey[k] = s
			}
			if why != "" && s.Installed {
				s.Installed, s.Reason = false, fmt.Sprintf("%s (on %s)", why, ref.Host)
			}
		}
		if keys == nil {
			for k, why := range p.verdicts {
				verdict(k, why)
			}
			continue
		}
		for _, k := range keys {
			if why, ok := p.verdicts[k]; ok {
				verdict(k, why)
			}
		}
	}
	out := make([]LearntStatus, 0, len(byKey))
	for _, k := range slices.SortedFunc(maps.Keys(byKey), compareLearnt) {
		out = append(out, *byKey[k])
	}
	return out
}

// Learn places the routes keys (just changed by Update or Refuse; rts
// their route targets, old and new) in the VRF instances of comp that
// import rts. prev is the Result of the placement kept last, comp its
// computed part. Unlike Place, it brings the table's placement up to
// date in place, at the cost of what the keys touch: it returns the new
// Result, the changes per backend (route deletes, then creates and
// updates), and the VPNs ("tenant/vpn") whose learnt routes it touched.
// If the changes cannot be made, Place the instances again from prev.
func (t *LearntTable) Learn(prev, comp Result, rts []string, keys []LearntKey) (Result, map[string][2][]Change, []string) {
	out := Result{Hosts: maps.Clone(prev.Hosts), Warnings: prev.Warnings}
	changes := map[string][2][]Change{}
	var vpns []string
	copied := map[string]bool{}
	for _, ref := range slices.SortedFunc(maps.Keys(Importers(comp, rts)), compareRefs) {
		cv := comp.Hosts[ref.Host].VRF(ref.ID)
		hv := out.Hosts[ref.Host]
		if !copied[ref.Host] {
			nh := *hv
			nh.VRFs = slices.Clone(hv.VRFs)
			hv, out.Hosts[ref.Host], copied[ref.Host] = &nh, &nh, true
		}
		ev := hv.VRF(ref.ID)
		p := t.placed[ref]
		if p == nil {
			p = newPlacement(cv, hv.Backend, t.takesIPv6(hv.Backend))
			t.placed[ref] = p
		}
		var cs []Change
		ev.Learnt, cs = t.update(p, cv, ev.Learnt, keys)
		if len(p.verdicts) == 0 {
			delete(t.placed, ref)
		}
		c := changes[hv.Backend]
		c[1] = slices.Grow(c[1], len(cs))
		for _, ch := range cs {
			ch.Host = ref.Host
			if ch.Op == Delete {
				c[0] = append(c[0], ch)
			} else {
				c[1] = append(c[1], ch)
			}
		}
		changes[hv.Backend] = c
		vpns = append(vpns, cv.Tenant+"/"+cv.VPN)
	}
	slices.Sort(vpns)
	return out, changes, slices.Compact(vpns)
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
				bRoutes = v.routeList()
			}
		}
		if h := next.Hosts[ref.Host]; h != nil {
			aBackend = h.Backend
			if v := h.VRF(ref.ID); v != nil {
				aRoutes = v.routeList()
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
