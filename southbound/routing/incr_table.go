package routing

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
)

// refresh recomputes the output of every dirty VRF instance: the whole
// VRF when it is new or its RD changed, else only its dirty ports and
// prefixes. Outputs are replaced, never modified, so earlier Results keep
// their values.
func (x *Incremental) refresh() {
	for k, d := range x.dirty {
		inst := x.insts[k]
		switch {
		case inst == nil:
		case d.whole:
			x.fullTable(inst)
		default:
			out := inst.out
			out.Ports = x.patchPorts(inst, out.Ports, d.ports)
			out.Routes = x.patchRoutes(inst, out.Routes, d.prefixes)
			inst.out = out
		}
	}
}

// fullTable computes the whole output of inst, as Compute's table does.
func (x *Incremental) fullTable(inst *vrfInst) {
	for p := range inst.warned {
		x.setWarned(inst, p, nil)
	}
	inst.label = x.labels.of[vrfLabelKey(inst.id)]
	inst.out = VRF{
		ID: inst.id, Tenant: inst.vpn.cfg.Tenant, VPN: inst.vpn.cfg.Name, Role: inst.role, RD: inst.rd, Label: inst.label,
		ImportRTs: slices.Clone(inst.imports), ExportRTs: slices.Clone(inst.exports),
	}
	for _, b := range inst.binds {
		inst.out.Ports = append(inst.out.Ports, portOf(b))
	}
	srcs := x.sources(inst)
	seen := map[netip.Prefix]struct{}{}
	for _, src := range srcs {
		for p := range src.byPrefix {
			seen[p] = struct{}{}
		}
	}
	for _, p := range slices.SortedFunc(maps.Keys(seen), netip.Prefix.Compare) {
		if r, ok := x.routeAt(inst, srcs, p); ok {
			inst.out.Routes = append(inst.out.Routes, r)
		}
	}
}

func portOf(b *bindState) Port {
	p := Port{Interface: b.iface, VNIC: b.vnic, VLAN: b.vlan, Label: b.label}
	if len(b.addrs) > 0 {
		p.Addr = b.addrs[0]
	}
	return p
}

// sources returns inst and every other VRF exporting a route target inst
// imports: the VRFs whose routes it sees.
func (x *Incremental) sources(inst *vrfInst) []*vrfInst {
	x.c.stamp++
	inst.stamp = x.c.stamp
	out := []*vrfInst{inst}
	for _, rt := range inst.imports {
		for src := range x.byExport[rt] {
			if src.stamp != x.c.stamp {
				src.stamp = x.c.stamp
				out = append(out, src)
			}
		}
	}
	return out
}

// routeAt computes the route of inst for prefix p from the routes of
// srcs (its sources), false when it has none, and renews its warnings.
func (x *Incremental) routeAt(inst *vrfInst, srcs []*vrfInst, p netip.Prefix) (Route, bool) {
	var as []*adv
	for _, src := range srcs {
		for _, a := range src.byPrefix[p] {
			if a.static != nil && src == inst && inst.perPort {
				continue // see table: a static route back to the port would loop
			}
			as = append(as, a)
		}
	}
	x.c.warn = nil
	var r Route
	if len(as) > 0 {
		r = x.c.route(inst, p, as)
	}
	if inst.warned == nil {
		inst.warned = map[netip.Prefix][]string{}
	}
	x.setWarned(inst, p, x.c.warn.sorted())
	return r, len(as) > 0
}

// patchRoutes returns routes with the prefixes in dirty recomputed.
func (x *Incremental) patchRoutes(inst *vrfInst, routes []Route, dirty map[netip.Prefix]struct{}) []Route {
	if len(dirty) == 0 {
		return routes
	}
	ps := slices.SortedFunc(maps.Keys(dirty), netip.Prefix.Compare)
	srcs := x.sources(inst)
	out := make([]Route, 0, len(routes)+len(ps))
	i := 0
	for _, p := range ps {
		for i < len(routes) && routes[i].Prefix.Compare(p) < 0 {
			out = append(out, routes[i])
			i++
		}
		if i < len(routes) && routes[i].Prefix == p {
			i++
		}
		if r, ok := x.routeAt(inst, srcs, p); ok {
			out = append(out, r)
		}
	}
	out = append(out, routes[i:]...)
	if len(out) == 0 {
		return nil
	}
	return out
}

// patchPorts returns ports with the interfaces in dirty taken from inst's
// bindings again.
func (x *Incremental) patchPorts(inst *vrfInst, ports []Port, dirty map[string]struct{}) []Port {
	if len(dirty) == 0 {
		return ports
	}
	out := slices.Clone(ports)
	for _, iface := range slices.Sorted(maps.Keys(dirty)) {
		i, had := slices.BinarySearchFunc(out, iface, func(p Port, k string) int { return cmp.Compare(p.Interface, k) })
		j, has := slices.BinarySearchFunc(inst.binds, iface, byIface)
		switch {
		case had && has:
			out[i] = portOf(inst.binds[j])
		case had:
			out = slices.Delete(out, i, i+1)
		case has:
			out = slices.Insert(out, i, portOf(inst.binds[j]))
		}
	}
	return out
}

// fullResult builds the Result from every instance.
func (x *Incremental) fullResult() Result {
	res := Result{Hosts: make(map[string]*HostView, len(x.c.backend))}
	for name, backend := range x.c.backend {
		res.Hosts[name] = &HostView{Host: name, Backend: backend, Addr: x.c.underlay[name]}
	}
	for _, k := range slices.SortedFunc(maps.Keys(x.insts), compareKeys) {
		h := res.Hosts[k.host]
		h.VRFs = append(h.VRFs, x.insts[k].out)
	}
	return res
}

func compareKeys(a, b instKey) int {
	return cmp.Or(cmp.Compare(a.host, b.host), cmp.Compare(a.id, b.id))
}

// patchResult returns before with the dirty instances replaced, sharing
// every untouched host view.
func (x *Incremental) patchResult(before Result) Result {
	res := Result{Hosts: maps.Clone(before.Hosts)}
	for host, ids := range x.dirtyByHost() {
		old := before.Hosts[host]
		h := *old
		h.VRFs = slices.Clone(old.VRFs)
		for _, id := range ids {
			i, had := slices.BinarySearchFunc(h.VRFs, id, func(v VRF, id string) int { return cmp.Compare(v.ID, id) })
			inst := x.insts[instKey{host: host, id: id}]
			switch {
			case inst != nil && had:
				h.VRFs[i] = inst.out
			case inst != nil:
				h.VRFs = slices.Insert(h.VRFs, i, inst.out)
			case had:
				h.VRFs = slices.Delete(h.VRFs, i, i+1)
			}
		}
		if len(h.VRFs) == 0 {
			h.VRFs = nil
		}
		res.Hosts[host] = &h
	}
	return res
}

// dirtyByHost returns the dirty VRF IDs of each host, sorted.
func (x *Incremental) dirtyByHost() map[string][]string {
	out := map[string][]string{}
	for k := range x.dirty {
		out[k.host] = append(out[k.host], k.id)
	}
	for _, ids := range out {
		slices.Sort(ids)
	}
	return out
}

// diff returns the changes from before to the current Result: Diff of the
// dirty VRFs only, each cut down to its dirty ports and routes unless it is
// whole-dirty or its definition changed.
func (x *Incremental) diff(before Result) map[string][]Change {
	b := Result{Hosts: map[string]*HostView{}}
	a := Result{Hosts: map[string]*HostView{}}
	for host, ids := range x.dirtyByHost() {
		bh, ah := *before.Hosts[host], *x.res.Hosts[host]
		bh.VRFs, ah.VRFs = nil, nil
		for _, id := range ids {
			bv, av := vrfOf(before.Hosts[host], id), vrfOf(x.res.Hosts[host], id)
			d := x.dirty[instKey{host: host, id: id}]
			if bv != nil && av != nil && !d.whole && sameSpec(bv, av) {
				bv, av = cut(bv, d), cut(av, d)
			}
			if bv != nil {
				bh.VRFs = append(bh.VRFs, *bv)
			}
			if av != nil {
				ah.VRFs = append(ah.VRFs, *av)
			}
		}
		b.Hosts[host], a.Hosts[host] = &bh, &ah
	}
	return Diff(b, a)
}

// vrfOf returns the VRF id of h (its VRFs are sorted), or nil.
func vrfOf(h *HostView, id string) *VRF {
	i, ok := slices.BinarySearchFunc(h.VRFs, id, func(v VRF, id string) int { return cmp.Compare(v.ID, id) })
	if !ok {
		return nil
	}
	return &h.VRFs[i]
}

// cut returns v with only the ports and routes d marks.
func cut(v *VRF, d *dirtyInst) *VRF {
	out := *v
	out.Ports, out.Routes = nil, nil
	for _, iface := range slices.Sorted(maps.Keys(d.ports)) {
		if i, ok := slices.BinarySearchFunc(v.Ports, iface, func(p Port, k string) int { return cmp.Compare(p.Interface, k) }); ok {
			out.Ports = append(out.Ports, v.Ports[i])
		}
	}
	for _, p := range slices.SortedFunc(maps.Keys(d.prefixes), netip.Prefix.Compare) {
		if i, ok := slices.BinarySearchFunc(v.Routes, p, func(r Route, p netip.Prefix) int { return r.Prefix.Compare(p) }); ok {
			out.Routes = append(out.Routes, v.Routes[i])
		}
	}
	return &out
}
