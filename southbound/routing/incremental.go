package routing

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
)

// Touched says what changed in a Model since the Model of the previous
// Incremental run. Anything not named is taken as unchanged: naming too
// much only costs time, naming too little gives a wrong Result.
type Touched struct {
	// All is set when anything may have changed, the host list in
	// particular (a host added or removed, its backend or underlay address
	// changed): everything is recomputed.
	All bool
	// VPNs are the keys ("tenant/vpn") of the VPNs added, removed, or whose
	// own configuration (anything but their bindings) changed. Each is
	// recomputed as a whole.
	VPNs []string
	// Bindings are the bindings added, removed or changed, including a
	// change of the host or admin state of what they sit on. Only the
	// prefixes they advertise are recomputed, in the VRFs that see them.
	Bindings []BindingRef
}

// BindingRef names one binding of a VPN.
type BindingRef struct {
	VPN       string // "tenant/vpn"
	Interface string
}

// Incremental is a route computation kept between runs, so that a run
// costs what the change touches instead of what the network holds: Apply
// recomputes only the VRF routes that can see a touched binding or VPN (a
// VRF sees its own routes and those of every VRF exporting a route target
// it imports; imported routes are not exported again, so that is the
// whole reach of a change).
//
// Every run gives exactly what Compute gives for the same Model and the
// Assignments of the previous run (Result deep-equal, same Assignments,
// and changes equal to Diff of the two Results): the property test holds
// it to that.
//
// The Models given to it must not be modified afterwards (it keeps
// pointers into them). It is not safe for concurrent use.
type Incremental struct {
	opts Options
	c    computation // normalized options, hosts; c.warn collects one unit's warnings at a time

	vpns     map[string]*vpnRec
	insts    map[instKey]*vrfInst
	byExport map[string]map[*vrfInst]struct{}
	byImport map[string]map[*vrfInst]struct{}
	boundTo  map[string][]string // "tenant/interface" → keys of the VPNs binding it (active), sorted
	labels   labelState
	warn     warnSet

	baseWarn, modelWarn, rdWarn, labelWarn []string
	// reasons are the VPNs whose VPNStatus the last run changed; rebuilt:
	// the last run computed everything (any VPN's may have).
	reasons   map[string]struct{}
	rebuilt   bool
	boundWarn map[string][]string // by "tenant/interface"

	res Result
	asg Assignments
	// labelsKnown: the last run changed exactly labels.changed (false
	// after a full computation).
	labelsKnown bool
	model       Model       // the Model of res
	prior       Assignments // the prior asg was computed from
	back        *checkpoint // the state before the last Apply, for Rollback

	// Per run: what to recompute, and what was created this run (and so
	// needs its label).
	dirty    map[instKey]*dirtyInst
	newInsts []*vrfInst
	newBinds []*bindState
}

// checkpoint is what a state is computed from: Compute(model, prior).
type checkpoint struct {
	model Model
	prior Assignments
}

// instKey identifies a VRF instance: a VRF ID on a host.
type instKey struct{ host, id string }

// dirtyInst is what a run must recompute of one VRF instance.
type dirtyInst struct {
	whole    bool // created, deleted or replaced: the whole VRF
	prefixes map[netip.Prefix]struct{}
	ports    map[string]struct{}
}

// NewIncremental computes m from scratch, as Compute(m, prior) does, and
// keeps the computation for Apply.
func (o Options) NewIncremental(m Model, prior Assignments) *Incremental {
	x := &Incremental{opts: o}
	x.rebuild(m, prior)
	return x
}

// Result returns the current forwarding state. It is never modified
// afterwards.
func (x *Incremental) Result() Result { return x.res }

// Warnings returns the current Result's warnings, as Compute gives them in
// Result.Warnings: sorted, without duplicates, nil when there are none.
// The returned list is never modified.
func (x *Incremental) Warnings() []string { return x.warn.list() }

// Assignments returns the assignments of the current state.
func (x *Incremental) Assignments() Assignments { return x.asg }

// ChangedLabels returns the keys of Assignments.Labels that the last Apply
// added, removed or gave another label, so the caller stores only those;
// ok is false when the run recomputed everything and did not track them.
func (x *Incremental) ChangedLabels() (keys []string, ok bool) {
	return x.labels.changed, x.labelsKnown
}

// Apply moves to Model m, which differs from the previous one only as t
// says, and returns what Compute(m, prior) would with prior the previous
// Assignments, and the changes from the previous Result (what Diff would
// return). Returned Results are never modified afterwards.
func (x *Incremental) Apply(m Model, t Touched) (Result, map[string][]Change, Assignments) {
	before, prior := x.res, x.asg
	x.back = &checkpoint{model: x.model, prior: x.prior}
	if t.All || x.starved() {
		x.rebuild(m, prior)
		return x.res, Diff(before, x.res), x.asg
	}
	x.model, x.prior = m, prior
	x.reasons, x.rebuilt = map[string]struct{}{}, false
	x.dirty = map[instKey]*dirtyInst{}
	x.newInsts, x.newBinds = nil, nil
	cfgs := x.index(m)
	whole, patches := x.plan(cfgs, t)
	for _, key := range whole {
		if rec := x.vpns[key]; rec != nil {
			x.teardownVPN(rec)
		}
		if cfg := cfgs[key]; cfg != nil {
			x.buildVPN(cfg)
		}
	}
	for _, p := range patches {
		x.patchVPN(x.vpns[p.vpn], cfgs[p.vpn], p.ifaces)
	}
	if !x.labels.update(x.c.opt.MinLabel, x.c.opt.MaxLabel) {
		// Exhausted: Compute's warning names the whole fresh list; let
		// it do the work.
		x.rebuild(m, prior)
		return x.res, Diff(before, x.res), x.asg
	}
	x.setNewLabels()
	x.labelsKnown = true
	x.finish(prior)
	x.res = x.patchResult(before)
	return x.res, x.diff(before), x.asg
}

// Rollback returns to the state before the last Apply (once), at the cost
// of a full computation: for a transaction that failed after Apply.
func (x *Incremental) Rollback() {
	if x.back == nil {
		return
	}
	b := x.back
	x.rebuild(b.model, b.prior)
}

// patch is the bindings of one VPN to recompute one by one.
type patch struct {
	vpn    string
	ifaces []string
}

// plan splits t into VPNs to recompute whole and binding patches, both in
// key order. A binding patch becomes a whole VPN when the VPN's own
// configuration changed too, or when its bindings are not a clean list
// sorted by interface (the form the desired package gives).
func (x *Incremental) plan(cfgs map[string]*VPN, t Touched) ([]string, []patch) {
	whole := map[string]bool{}
	for _, k := range t.VPNs {
		whole[k] = true
	}
	byVPN := map[string][]string{}
	for _, b := range t.Bindings {
		if !whole[b.VPN] {
			byVPN[b.VPN] = append(byVPN[b.VPN], b.Interface)
		}
	}
	var patches []patch
	for k, ifaces := range byVPN {
		rec, cfg := x.vpns[k], cfgs[k]
		if rec == nil || cfg == nil || rec.irregular || !sameHeader(rec.v.cfg, cfg) || !cleanBindings(cfg.Bindings) {
			whole[k] = true
			continue
		}
		slices.Sort(ifaces)
		patches = append(patches, patch{vpn: k, ifaces: slices.Compact(ifaces)})
	}
	slices.SortFunc(patches, func(a, b patch) int { return cmp.Compare(a.vpn, b.vpn) })
	return slices.Sorted(maps.Keys(whole)), patches
}

// index maps the VPN keys of m to their configuration, the first one for
// a key listed twice (as Compute does).
func (x *Incremental) index(m Model) map[string]*VPN {
	cfgs := make(map[string]*VPN, len(m.VPNs))
	x.c.warn = nil
	for i := range m.VPNs {
		k := m.VPNs[i].Key()
		if _, dup := cfgs[k]; dup {
			x.c.warn.add("VPN %s is listed twice; the first one is used", k)
			continue
		}
		cfgs[k] = &m.VPNs[i]
	}
	x.warn.swap(&x.modelWarn, x.c.warn.sorted())
	return cfgs
}

// rebuild computes m from scratch with prior, as Compute does.
func (x *Incremental) rebuild(m Model, prior Assignments) {
	*x = Incremental{opts: x.opts, back: x.back, model: m, prior: prior, rebuilt: true}
	x.vpns = map[string]*vpnRec{}
	x.insts = map[instKey]*vrfInst{}
	x.byExport = map[string]map[*vrfInst]struct{}{}
	x.byImport = map[string]map[*vrfInst]struct{}{}
	x.boundTo = map[string][]string{}
	x.boundWarn = map[string][]string{}
	x.labels = newLabelState()
	x.dirty = map[instKey]*dirtyInst{}
	x.c.opt = x.opts.normalized(&x.c.warn)
	x.c.loadHosts(m.Hosts)
	x.warn.swap(&x.baseWarn, x.c.warn.sorted())
	cfgs := x.index(m)
	for _, k := range slices.Sorted(maps.Keys(cfgs)) {
		x.buildVPN(cfgs[k])
	}
	x.assignAllLabels(prior.Labels)
	x.finish(prior)
	x.res = x.fullResult()
}

// assignAllLabels assigns every label as Compute does (prior labels kept,
// new ones the lowest free in key order).
func (x *Incremental) assignAllLabels(prior map[string]uint32) {
	x.c.vrfs = slices.Collect(maps.Values(x.insts))
	x.c.warn, x.c.unlabelled = nil, ""
	x.labels.reset(x.c.assignLabels(prior))
	x.c.vrfs = nil
	x.warn.swap(&x.labelWarn, x.c.warn.sorted())
}

// starved reports whether a key lacks a label (the range was exhausted):
// the next run must assign every label again, as Compute would.
func (x *Incremental) starved() bool { return len(x.labelWarn) > 0 }

// Unlabelled says what in the current Result has no label because the
// label range is exhausted: the first such key ("vrf <VRF ID>" or
// "port <tenant/vpn/interface>", as in Assignments.Labels) and the
// warning; "" when every VRF and active binding has its label. Other
// hosts cannot deliver to a VRF or binding without one, so a caller
// refuses the change rather than realize it.
func (x *Incremental) Unlabelled() (key, why string) {
	if !x.starved() {
		return "", ""
	}
	return x.c.unlabelled, x.labelWarn[0]
}

// setNewLabels gives the VRFs and bindings created this run their labels.
func (x *Incremental) setNewLabels() {
	for _, v := range x.newInsts {
		v.label = x.labels.of[vrfLabelKey(v.id)]
	}
	for _, b := range x.newBinds {
		b.label = x.labels.of[portLabelKey(b.vrf.vpn.key, b.iface)]
	}
}

// finish assigns the route distinguishers (over every VRF ID: they
// depend on each other), recomputes the dirty VRFs and records the new
// Assignments.
func (x *Incremental) finish(prior Assignments) {
	var reqs []rdRequest
	for _, rec := range x.vpns {
		reqs = rec.rdRequests(reqs)
	}
	slices.SortFunc(reqs, func(a, b rdRequest) int { return cmp.Compare(a.id, b.id) })
	x.c.warn = nil
	rds, next := x.c.assignRDs(reqs, prior)
	x.warn.swap(&x.rdWarn, x.c.warn.sorted())
	for k, v := range x.insts {
		if rd := rds[v.id]; rd != v.rd {
			v.rd = rd
			x.mark(k).whole = true
		}
	}
	if x.labelsKnown && len(x.labels.changed) == 0 && prior.Labels != nil {
		next.Labels = prior.Labels // unchanged, and never modified once returned
	} else {
		next.Labels = maps.Clone(x.labels.of)
	}
	x.asg = next
	x.refresh()
}

// mark returns the dirty record of instance k, creating it.
func (x *Incremental) mark(k instKey) *dirtyInst {
	d := x.dirty[k]
	if d == nil {
		d = &dirtyInst{prefixes: map[netip.Prefix]struct{}{}, ports: map[string]struct{}{}}
		x.dirty[k] = d
	}
	return d
}

// markPrefix marks prefix p dirty in every VRF that sees the routes of
// origin: origin itself and the VRFs importing a route target it exports.
func (x *Incremental) markPrefix(origin *vrfInst, p netip.Prefix) {
	if d := x.part(origin); d != nil {
		d.prefixes[p] = struct{}{}
	}
	for _, rt := range origin.exports {
		for v := range x.byImport[rt] {
			if d := x.part(v); d != nil {
				d.prefixes[p] = struct{}{}
			}
		}
	}
}

// part returns the dirty record of v for marking parts of it, nil when v
// is recomputed whole anyway.
func (x *Incremental) part(v *vrfInst) *dirtyInst {
	if d := x.mark(keyOf(v)); !d.whole {
		return d
	}
	return nil
}

func keyOf(v *vrfInst) instKey { return instKey{host: v.host, id: v.id} }
