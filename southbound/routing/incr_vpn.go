package routing

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
)

// vpnRec is what an Incremental keeps of one VPN: its state as Compute
// loads it, indexed so that one binding can be taken out and put back, and
// the warnings of each of its parts.
type vpnRec struct {
	v      *vpnState
	active map[string]*bindState // active bindings by interface
	insts  map[string]*vrfInst   // by host (any-to-any) or interface (hub-and-spoke)
	// byAddr lists, per next-hop address, the static routes using it;
	// placed, per static route, the VRFs advertising it.
	byAddr map[netip.Addr][]int
	placed [][]*vrfInst
	// irregular is set when the bindings had an empty or duplicate
	// interface: such a VPN is only ever recomputed whole.
	irregular bool

	loadWarn, headWarn []string
	bindWarn           map[string][]string
	addrWarn           map[netip.Addr][]string
	staticWarn         [][]string
}

// buildVPN loads cfg as Compute does and adds its VRFs and routes, marking
// what they change.
func (x *Incremental) buildVPN(cfg *VPN) {
	v := &vpnState{key: cfg.Key(), cfg: cfg, owners: map[netip.Addr][]*bindState{}, rds: dedupKeepOrder(cfg.RDs)}
	if cfg.Policy != HubAndSpoke {
		v.imports, v.exports = sortedSet(cfg.ImportRTs), sortedSet(cfg.ExportRTs)
	}
	rec := &vpnRec{v: v, active: map[string]*bindState{}, insts: map[string]*vrfInst{},
		bindWarn: map[string][]string{}, addrWarn: map[netip.Addr][]string{}}
	x.vpns[v.key] = rec
	i, _ := slices.BinarySearchFunc(x.c.vpns, v.key, func(s *vpnState, k string) int { return cmp.Compare(s.key, k) })
	x.c.vpns = slices.Insert(x.c.vpns, i, v)

	var load warnings
	for _, b := range sortedBindings(cfg.Bindings) {
		if b.Interface == "" {
			load.add("VPN %s: binding without an interface ignored", v.key)
			rec.irregular = true
			continue
		}
		if n := len(v.ifaces); n > 0 && v.ifaces[n-1] == b.Interface {
			load.add("VPN %s: interface %s is bound twice; the first binding is used", v.key, b.Interface)
			rec.irregular = true
			continue
		}
		v.ifaces = append(v.ifaces, b.Interface)
		x.addBinding(rec, b)
	}
	x.c.warn = load
	x.c.loadStatics(v)
	x.warn.swap(&rec.loadWarn, x.c.warn.sorted())
	rec.byAddr = map[netip.Addr][]int{}
	rec.placed = make([][]*vrfInst, len(v.statics))
	rec.staticWarn = make([][]string, len(v.statics))
	for i, s := range v.statics {
		for _, nh := range s.hops {
			rec.byAddr[nh.Addr] = append(rec.byAddr[nh.Addr], i)
		}
		x.placeStatic(rec, i)
	}
	for a := range v.owners {
		x.addrWarnings(rec, a)
	}
	x.headWarnings(rec)
}

// sortedBindings returns bs ordered by interface, keeping the input order
// of equal interfaces (the first one wins, as in Compute).
func sortedBindings(bs []Binding) []*Binding {
	out := make([]*Binding, len(bs))
	for i := range bs {
		out[i] = &bs[i]
	}
	slices.SortStableFunc(out, func(a, b *Binding) int { return cmp.Compare(a.Interface, b.Interface) })
	return out
}

// teardownVPN removes everything rec added, marking what that changes.
func (x *Incremental) teardownVPN(rec *vpnRec) {
	v := rec.v
	for _, inst := range rec.insts {
		x.mark(keyOf(inst)).whole = true // going: no need to mark its parts
	}
	for i := range v.statics {
		x.unplaceStatic(rec, i)
		x.warn.swap(&rec.staticWarn[i], nil)
	}
	for i := len(v.binds) - 1; i >= 0; i-- { // from the end: removals from sorted slices stay cheap
		x.removeBind(rec, v.binds[i])
	}
	for _, inst := range rec.insts {
		x.unregister(rec, inst)
	}
	for k := range rec.bindWarn {
		swapKey(&x.warn, rec.bindWarn, k, nil)
	}
	for a := range rec.addrWarn {
		swapKey(&x.warn, rec.addrWarn, a, nil)
	}
	x.warn.swap(&rec.loadWarn, nil)
	x.warn.swap(&rec.headWarn, nil)
	delete(x.vpns, v.key)
	x.c.vpns = slices.DeleteFunc(x.c.vpns, func(s *vpnState) bool { return s == v })
}

// patchVPN moves rec to cfg, which differs from it only in the bindings of
// the interfaces ifaces (sorted): each is taken out and put back.
func (x *Incremental) patchVPN(rec *vpnRec, cfg *VPN, ifaces []string) {
	v := rec.v
	v.cfg = cfg
	for _, iface := range ifaces {
		var addrs []netip.Addr
		if old := rec.active[iface]; old != nil {
			addrs = old.addrs
			x.removeBind(rec, old)
			x.restatic(rec, old.addrs)
			if inst := old.vrf; len(inst.binds) == 0 {
				x.unregister(rec, inst)
			}
		}
		swapKey(&x.warn, rec.bindWarn, iface, nil)
		i, was := slices.BinarySearch(v.ifaces, iface)
		j, is := slices.BinarySearchFunc(cfg.Bindings, iface, func(b Binding, k string) int { return cmp.Compare(b.Interface, k) })
		switch {
		case is && !was:
			v.ifaces = slices.Insert(v.ifaces, i, iface)
		case was && !is:
			v.ifaces = slices.Delete(v.ifaces, i, i+1)
		}
		if is {
			if b := x.addBinding(rec, &cfg.Bindings[j]); b != nil {
				addrs = append(slices.Clip(addrs), b.addrs...)
				x.restatic(rec, b.addrs)
			}
		}
		for _, a := range addrs {
			x.addrWarnings(rec, a)
		}
	}
	x.headWarnings(rec)
}

// cleanBindings reports whether bs is sorted by interface without an
// empty or repeated one, so a binding can be found by binary search.
func cleanBindings(bs []Binding) bool {
	for i := range bs {
		if bs[i].Interface == "" || i > 0 && bs[i-1].Interface >= bs[i].Interface {
			return false
		}
	}
	return true
}

// sameHeader reports whether two configurations of a VPN differ at most
// in their bindings.
func sameHeader(a, b *VPN) bool {
	return a.Tenant == b.Tenant && a.Name == b.Name && a.Policy == b.Policy &&
		slices.Equal(a.ImportRTs, b.ImportRTs) && slices.Equal(a.ExportRTs, b.ExportRTs) &&
		a.HubRT == b.HubRT && a.SpokeRT == b.SpokeRT && slices.Equal(a.RDs, b.RDs) &&
		a.Anycast == b.Anycast && a.AnycastMode == b.AnycastMode &&
		slices.EqualFunc(a.StaticRoutes, b.StaticRoutes, func(r, s StaticRoute) bool {
			return r.Prefix == s.Prefix && r.Mode == s.Mode && slices.Equal(r.NextHops, s.NextHops)
		})
}

// addBinding loads binding b of rec (with its warnings) and, when it is
// active, adds it; it returns the active binding or nil.
func (x *Incremental) addBinding(rec *vpnRec, b *Binding) *bindState {
	x.c.warn = nil
	s := x.loadBinding(rec.v, b)
	swapKey(&x.warn, rec.bindWarn, b.Interface, x.c.warn.sorted())
	if s != nil {
		x.addBind(rec, s)
	}
	return s
}

// loadBinding is Compute's reading of one configured binding: nil when it
// is down, unplaced or on an unknown host. Its warnings are unreachable
// through the server (see Compute's loadBindings).
func (x *Incremental) loadBinding(v *vpnState, b *Binding) *bindState {
	if !b.AdminUp || b.Host == "" {
		return nil
	}
	if _, ok := x.c.backend[b.Host]; !ok {
		x.c.warn.add("VPN %s: binding %s is on unknown host %s; ignored", v.key, b.Interface, b.Host)
		return nil
	}
	s := &bindState{iface: b.Interface, host: b.Host, pref: b.Preference, vnic: b.VNIC, vlan: b.VLAN, unreachable: b.Unreachable}
	if v.cfg.Policy == HubAndSpoke {
		s.role = b.Role
		if s.role != RoleHub && s.role != RoleSpoke {
			x.c.warn.add("VPN %s: binding %s has no hub or spoke role; treated as a spoke", v.key, b.Interface)
			s.role = RoleSpoke
		}
	}
	for _, a := range b.Addrs {
		if !a.IsValid() {
			x.c.warn.add("VPN %s: binding %s has an invalid address; ignored", v.key, b.Interface)
			continue
		}
		a = a.Unmap().WithZone("")
		if !slices.Contains(s.addrs, a) {
			s.addrs = append(s.addrs, a)
		}
	}
	slices.SortFunc(s.addrs, netip.Addr.Compare)
	return s
}

// byIface orders bindings by interface.
func byIface(a *bindState, iface string) int { return cmp.Compare(a.iface, iface) }

// addBind adds active binding s to rec: to the owners of its addresses, to
// its VRF (created if needed), with its port and host routes.
func (x *Incremental) addBind(rec *vpnRec, s *bindState) {
	v := rec.v
	i, _ := slices.BinarySearchFunc(v.binds, s.iface, byIface)
	v.binds = slices.Insert(v.binds, i, s)
	rec.active[s.iface] = s
	for _, a := range s.owned() {
		o := v.owners[a]
		j, _ := slices.BinarySearchFunc(o, s.iface, byIface)
		v.owners[a] = slices.Insert(o, j, s)
	}
	x.bind(v, s.iface, true)
	inst := x.instFor(rec, s)
	j, _ := slices.BinarySearchFunc(inst.binds, s.iface, byIface)
	inst.binds = slices.Insert(inst.binds, j, s)
	s.vrf = inst
	x.labels.ref(portLabelKey(v.key, s.iface), 1)
	x.newBinds = append(x.newBinds, s)
	if d := x.part(inst); d != nil {
		d.ports[s.iface] = struct{}{}
	}
	for _, a := range s.owned() {
		x.addAdv(&adv{prefix: netip.PrefixFrom(a, a.BitLen()), origin: inst, bind: s, addr: a, pref: s.pref})
	}
}

// removeBind undoes addBind, except that it leaves an emptied VRF and the
// static routes to the caller.
func (x *Incremental) removeBind(rec *vpnRec, s *bindState) {
	v := rec.v
	if i, ok := slices.BinarySearchFunc(v.binds, s.iface, byIface); ok {
		v.binds = slices.Delete(v.binds, i, i+1)
	}
	delete(rec.active, s.iface)
	for _, a := range s.owned() {
		v.owners[a] = slices.DeleteFunc(v.owners[a], func(o *bindState) bool { return o == s })
		if len(v.owners[a]) == 0 {
			delete(v.owners, a)
		}
	}
	x.bind(v, s.iface, false)
	inst := s.vrf
	if i, ok := slices.BinarySearchFunc(inst.binds, s.iface, byIface); ok {
		inst.binds = slices.Delete(inst.binds, i, i+1)
	}
	x.labels.ref(portLabelKey(v.key, s.iface), -1)
	if d := x.part(inst); d != nil {
		d.ports[s.iface] = struct{}{}
	}
	for _, a := range s.owned() {
		x.dropAdvs(inst, netip.PrefixFrom(a, a.BitLen()), func(d *adv) bool { return d.bind == s && d.static == nil })
	}
}

// instFor returns the VRF active binding s belongs to, creating it.
func (x *Incremental) instFor(rec *vpnRec, s *bindState) *vrfInst {
	v := rec.v
	if v.cfg.Policy != HubAndSpoke {
		if inst := rec.insts[s.host]; inst != nil {
			return inst
		}
		inst := &vrfInst{id: v.key, host: s.host, vpn: v, imports: v.imports, exports: v.exports}
		x.register(rec, s.host, inst)
		return inst
	}
	inst := &vrfInst{id: v.key + "/" + s.iface, host: s.host, vpn: v, role: s.role, perPort: true}
	if s.role == RoleHub {
		inst.imports = sortedSet([]string{v.cfg.HubRT, v.cfg.SpokeRT})
		inst.exports = sortedSet([]string{v.cfg.HubRT})
	} else {
		inst.imports = sortedSet([]string{v.cfg.HubRT})
		inst.exports = sortedSet([]string{v.cfg.SpokeRT})
	}
	x.register(rec, s.iface, inst)
	return inst
}

// register adds a new VRF instance under rec's key at.
func (x *Incremental) register(rec *vpnRec, at string, inst *vrfInst) {
	inst.byPrefix = map[netip.Prefix][]*adv{}
	rec.insts[at] = inst
	k := keyOf(inst)
	x.insts[k] = inst
	x.mark(k).whole = true
	for _, rt := range inst.exports {
		addTo(x.byExport, rt, inst)
	}
	for _, rt := range inst.imports {
		addTo(x.byImport, rt, inst)
	}
	x.labels.ref(vrfLabelKey(inst.id), 1)
	x.newInsts = append(x.newInsts, inst)
}

// unregister removes an instance without bindings (nor routes of its own).
func (x *Incremental) unregister(rec *vpnRec, inst *vrfInst) {
	if rec.v.cfg.Policy != HubAndSpoke {
		delete(rec.insts, inst.host)
	} else {
		delete(rec.insts, inst.id[len(rec.v.key)+1:])
	}
	k := keyOf(inst)
	delete(x.insts, k)
	x.mark(k).whole = true
	for _, rt := range inst.exports {
		delete(x.byExport[rt], inst)
	}
	for _, rt := range inst.imports {
		delete(x.byImport[rt], inst)
	}
	x.labels.ref(vrfLabelKey(inst.id), -1)
	for p := range inst.warned {
		x.setWarned(inst, p, nil)
	}
}

func addTo(m map[string]map[*vrfInst]struct{}, rt string, v *vrfInst) {
	if m[rt] == nil {
		m[rt] = map[*vrfInst]struct{}{}
	}
	m[rt][v] = struct{}{}
}

// addAdv adds a route its origin advertises.
func (x *Incremental) addAdv(a *adv) {
	a.origin.byPrefix[a.prefix] = append(a.origin.byPrefix[a.prefix], a)
	x.markPrefix(a.origin, a.prefix)
}

// dropAdvs removes the routes for p of inst that match.
func (x *Incremental) dropAdvs(inst *vrfInst, p netip.Prefix, match func(*adv) bool) {
	as := slices.DeleteFunc(inst.byPrefix[p], match)
	if len(as) == 0 {
		delete(inst.byPrefix, p)
	} else {
		inst.byPrefix[p] = as
	}
	x.markPrefix(inst, p)
}

// restatic places again the static routes of rec whose next hops are
// among addrs.
func (x *Incremental) restatic(rec *vpnRec, addrs []netip.Addr) {
	var idx []int
	for _, a := range addrs {
		idx = append(idx, rec.byAddr[a]...)
	}
	slices.Sort(idx)
	for _, i := range slices.Compact(idx) {
		x.unplaceStatic(rec, i)
		x.placeStatic(rec, i)
	}
}

// placeStatic advertises static route i of rec from the VRFs of the
// active bindings owning its next hops, as Compute's originate does.
func (x *Incremental) placeStatic(rec *vpnRec, i int) {
	v := rec.v
	s := &v.statics[i]
	x.c.warn = nil
	resolved := 0
	for _, nh := range s.hops {
		owners := v.owners[nh.Addr]
		if len(owners) == 0 {
			x.c.warn.add("VPN %s: static route %s: next hop %s is not the address of an active binding; dropped", v.key, s.prefix, nh.Addr)
			continue
		}
		resolved++
		for _, b := range owners {
			x.addAdv(&adv{prefix: s.prefix, origin: b.vrf, bind: b, addr: nh.Addr, pref: nh.Preference, pref2: b.pref, static: s})
			if !slices.Contains(rec.placed[i], b.vrf) {
				rec.placed[i] = append(rec.placed[i], b.vrf)
			}
		}
	}
	if resolved == 0 {
		x.c.warn.add("VPN %s: static route %s has no resolvable next hop; not installed", v.key, s.prefix)
	}
	x.warn.swap(&rec.staticWarn[i], x.c.warn.sorted())
}

// unplaceStatic withdraws static route i of rec from every VRF.
func (x *Incremental) unplaceStatic(rec *vpnRec, i int) {
	s := &rec.v.statics[i]
	for _, inst := range rec.placed[i] {
		x.dropAdvs(inst, s.prefix, func(d *adv) bool { return d.static == s })
	}
	rec.placed[i] = nil
}

// bind records (on) or forgets that VPN v actively binds iface, and
// renews the warnings about the interface being bound to several VPNs
// (the first VPN by key keeps it, as in Compute).
func (x *Incremental) bind(v *vpnState, iface string, on bool) {
	ti := v.cfg.Tenant + "/" + iface
	ks := x.boundTo[ti]
	i, found := slices.BinarySearch(ks, v.key)
	switch {
	case on && !found:
		ks = slices.Insert(ks, i, v.key)
	case !on && found:
		ks = slices.Delete(ks, i, i+1)
	}
	if len(ks) == 0 {
		delete(x.boundTo, ti)
	} else {
		x.boundTo[ti] = ks
	}
	var ws []string
	for _, k := range ks[min(1, len(ks)):] {
		ws = append(ws, fmt.Sprintf("interface %s is bound to VPNs %s and %s", ti, ks[0], k))
	}
	swapKey(&x.warn, x.boundWarn, ti, ws)
}

// addrWarnings renews the warning about address a of rec being on several
// bindings of a VPN without anycast.
func (x *Incremental) addrWarnings(rec *vpnRec, a netip.Addr) {
	var ws []string
	if !rec.v.cfg.Anycast && len(rec.v.owners[a]) > 1 {
		ws = []string{fmt.Sprintf("VPN %s: address %s is on several bindings but anycast is disabled; they are used in fail-over", rec.v.key, a)}
	}
	swapKey(&x.warn, rec.addrWarn, a, ws)
}

// headWarnings renews the warnings about rec's policy and route targets,
// which Compute gives only for a VPN with active bindings.
func (x *Incremental) headWarnings(rec *vpnRec) {
	var w warnings
	if len(rec.v.binds) > 0 {
		headWarnings(&w, rec.v, rec.v.cfg.Policy != HubAndSpoke && len(rec.insts) > 1)
	}
	ws := w.sorted()
	if !slices.Equal(ws, rec.headWarn) && x.reasons != nil {
		x.reasons[rec.v.key] = struct{}{}
	}
	x.warn.swap(&rec.headWarn, ws)
}

// rdRequests appends the VRF IDs of rec that need or may keep an RD, as
// Compute's instantiate lists them.
func (rec *vpnRec) rdRequests(reqs []rdRequest) []rdRequest {
	v := rec.v
	if v.cfg.Policy != HubAndSpoke {
		return append(reqs, rdRequest{id: v.key, vpn: v, live: len(rec.insts) > 0})
	}
	for _, iface := range v.ifaces {
		r := rdRequest{id: v.key + "/" + iface, vpn: v}
		if b := rec.active[iface]; b != nil {
			r.role, r.live = b.role, true
		}
		reqs = append(reqs, r)
	}
	return reqs
}

// swapKey replaces the warnings of the unit m[k].
func swapKey[K comparable](w *warnSet, m map[K][]string, k K, ws []string) {
	old := m[k]
	w.swap(&old, ws)
	if len(ws) == 0 {
		delete(m, k)
	} else {
		m[k] = ws
	}
}
