package routing

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
)

// Compute computes the forwarding state of every host from the Model, with
// the zero Options. See Options.Compute.
func Compute(m Model, prior Assignments) (Result, Assignments) {
	return Options{}.Compute(m, prior)
}

// Compute computes the forwarding state of every host from the Model: the
// VRFs each host must hold, their RDs, route targets, ports and routing
// tables. prior is the Assignments returned by the previous run (zero value
// the first time); the returned Assignments must be passed to the next run.
// Compute is pure: it reads nothing but its arguments, and the same
// arguments give deep-equal results. See the package documentation for the
// semantics.
func (o Options) Compute(m Model, prior Assignments) (Result, Assignments) {
	c := &computation{}
	c.opt = o.normalized(&c.warn)
	c.loadHosts(m.Hosts)
	c.loadVPNs(m.VPNs)
	reqs := c.instantiate()
	rds, next := c.assignRDs(reqs, prior)
	for _, v := range c.vrfs {
		v.rd = rds[v.id]
	}
	next.Labels = c.assignLabels(prior.Labels)
	c.originate()
	res := Result{Hosts: make(map[string]*HostView, len(c.backend))}
	for name, backend := range c.backend {
		res.Hosts[name] = &HostView{Host: name, Backend: backend, Addr: c.underlay[name]}
	}
	var cands map[netip.Prefix][]*adv
	for _, v := range c.vrfs { // sorted by host, then ID
		h := res.Hosts[v.host]
		cands = c.table(v, cands)
		h.VRFs = append(h.VRFs, v.out)
	}
	res.Warnings = c.warn.sorted()
	return res, next
}

// computation is the working state of one Compute run.
type computation struct {
	opt      Options
	warn     warnings
	backend  map[string]string     // host → backend
	underlay map[string]netip.Addr // host → underlay address
	vpns     []*vpnState           // sorted by key
	vrfs     []*vrfInst            // sorted by host, then ID
	byExport map[string][]*vrfInst
	stamp    int
	// unlabelled is the first key (in Assignments.Labels form) that
	// assignLabels could not give a label: the range is exhausted.
	unlabelled string
}

type vpnState struct {
	key       string
	conflicts int // of its VRF instances (Incremental only; see vrfInst.conflicts)
	cfg       *VPN
	rds       []string     // explicit RDs, without duplicates
	binds     []*bindState // active bindings, sorted by interface
	ifaces    []string     // every configured binding's interface, sorted
	owners    map[netip.Addr][]*bindState
	statics   []staticState
	imports   []string // any-to-any
	exports   []string // any-to-any
}

type bindState struct {
	iface string
	host  string
	vnic  string
	vlan  uint16
	role  Role
	addrs []netip.Addr
	pref  uint32
	vrf   *vrfInst
	label uint32
	// unreachable: the binding has its port but originates no route
	// (Binding.Unreachable).
	unreachable bool
}

// owned returns the addresses the binding is a next hop for: none while
// its instance does not answer.
func (b *bindState) owned() []netip.Addr {
	if b.unreachable {
		return nil
	}
	return b.addrs
}

type staticState struct {
	prefix netip.Prefix
	mode   Mode
	hops   []NextHop
}

type vrfInst struct {
	id      string
	host    string
	vpn     *vpnState
	role    Role
	perPort bool
	binds   []*bindState
	imports []string
	exports []string
	rd      string
	label   uint32
	advs    []adv // routes this VRF originates
	stamp   int
	out     VRF

	// Kept by Incremental only: the routes this VRF originates by
	// prefix, and the warnings of its route for each prefix.
	byPrefix map[netip.Prefix][]*adv
	warned   map[netip.Prefix][]string
	// conflicts counts the prefixes of warned with an importConflict.
	conflicts int
}

// adv is a route a VRF originates: the host route of a local binding's
// address, or a static route whose next hop is a local binding's address.
type adv struct {
	prefix netip.Prefix
	origin *vrfInst
	bind   *bindState
	addr   netip.Addr
	pref   uint32 // Hop.Preference
	pref2  uint32 // binding preference, orders hops of static routes
	static *staticState
}

// loadHosts reads the hosts. Its warnings are for Models built otherwise:
// the server's hosts are keyed by a non-empty name.
func (c *computation) loadHosts(hosts []Host) {
	c.backend = make(map[string]string, len(hosts))
	c.underlay = make(map[string]netip.Addr, len(hosts))
	for _, h := range hosts {
		if h.Name == "" {
			c.warn.add("host without a name ignored")
			continue
		}
		if b, dup := c.backend[h.Name]; dup {
			if b != h.Backend {
				c.warn.add("host %s is listed twice with backends %s and %s; using %s", h.Name, b, h.Backend, b)
			}
			continue
		}
		c.backend[h.Name] = h.Backend
		c.underlay[h.Name] = h.Addr
	}
}

func (c *computation) loadVPNs(vpns []VPN) {
	idx := make([]int, len(vpns))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Or(cmp.Compare(vpns[a].Tenant, vpns[b].Tenant), cmp.Compare(vpns[a].Name, vpns[b].Name))
	})
	boundTo := make(map[string]string) // tenant/interface → VPN key
	for _, i := range idx {
		cfg := &vpns[i]
		key := cfg.Key()
		if n := len(c.vpns); n > 0 && c.vpns[n-1].key == key { // unreachable through the server: VPNs are keyed
			c.warn.add("VPN %s is listed twice; the first one is used", key)
			continue
		}
		v := &vpnState{key: key, cfg: cfg, owners: make(map[netip.Addr][]*bindState)}
		c.vpns = append(c.vpns, v)
		v.rds = dedupKeepOrder(cfg.RDs)
		if cfg.Policy != HubAndSpoke {
			v.imports = sortedSet(cfg.ImportRTs)
			v.exports = sortedSet(cfg.ExportRTs)
		}
		c.loadBindings(v, boundTo)
		c.loadStatics(v)
		if len(v.binds) == 0 {
			continue
		}
		headWarnings(&c.warn, v, spansHosts(v.binds))
	}
}

// spansHosts reports whether active bindings bs are on more than one host.
func spansHosts(bs []*bindState) bool {
	for _, b := range bs[min(1, len(bs)):] {
		if b.host != bs[0].host {
			return true
		}
	}
	return false
}

// noExchange is the warning about an any-to-any VPN whose VRFs on
// several hosts cannot exchange routes. It is valid configuration (the
// route targets may come later; a VPN on one host needs none), so it is
// not refused: the VPN's status says it (Incremental.VPNStatus).
const noExchange = "VPN %s spans several hosts but has no import or no export route target: its members on different hosts do not reach each other"

// headWarnings adds the warnings about v's policy and route targets, for
// a VPN with active bindings (multiHost: on more than one host). Only the
// first is reachable through the server: the vpn-policy rule
// (server/rules) refuses a hub-and-spoke VPN without both route targets
// or with route-target entries, and the schema's enumeration leaves no
// other policy; the other branches are kept for Models built otherwise.
func headWarnings(w *warnings, v *vpnState, multiHost bool) {
	cfg := v.cfg
	switch cfg.Policy {
	case AnyToAny:
		if multiHost && (len(v.imports) == 0 || len(v.exports) == 0) {
			w.add(noExchange, v.key)
		}
	case HubAndSpoke:
		if cfg.HubRT == "" || cfg.SpokeRT == "" {
			w.add("VPN %s is hub-and-spoke without both a hub and a spoke route target", v.key)
		}
		if len(cfg.ImportRTs)+len(cfg.ExportRTs) > 0 {
			w.add("VPN %s is hub-and-spoke: its route-target entries are ignored", v.key)
		}
	default:
		w.add("VPN %s has unknown policy %s; treated as any-to-any", v.key, cfg.Policy)
	}
}

// loadBindings reads v's bindings. Through the server only the warnings
// of loadBinding's run-time conditions are reachable (see
// docs/southbound.md, "Route computation warnings"): bindings are keyed
// by interface, a port's host is a leafref, the one-forwarding-service
// rule refuses an interface bound to two VPNs, vpn-policy a hub-and-spoke
// binding without a role, vpn-addresses an invalid or shared address
// without anycast.
func (c *computation) loadBindings(v *vpnState, boundTo map[string]string) {
	bs := v.cfg.Bindings
	idx := make([]int, len(bs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(bs[a].Interface, bs[b].Interface) })
	for _, i := range idx {
		b := &bs[i]
		if b.Interface == "" {
			c.warn.add("VPN %s: binding without an interface ignored", v.key)
			continue
		}
		if n := len(v.ifaces); n > 0 && v.ifaces[n-1] == b.Interface {
			c.warn.add("VPN %s: interface %s is bound twice; the first binding is used", v.key, b.Interface)
			continue
		}
		v.ifaces = append(v.ifaces, b.Interface)
		if !b.AdminUp || b.Host == "" {
			continue
		}
		if _, ok := c.backend[b.Host]; !ok {
			c.warn.add("VPN %s: binding %s is on unknown host %s; ignored", v.key, b.Interface, b.Host)
			continue
		}
		ti := v.cfg.Tenant + "/" + b.Interface
		if other, ok := boundTo[ti]; ok {
			c.warn.add("interface %s is bound to VPNs %s and %s", ti, other, v.key)
		} else {
			boundTo[ti] = v.key
		}
		s := &bindState{iface: b.Interface, host: b.Host, pref: b.Preference, vnic: b.VNIC, vlan: b.VLAN, unreachable: b.Unreachable}
		if v.cfg.Policy == HubAndSpoke {
			s.role = b.Role
			if s.role != RoleHub && s.role != RoleSpoke {
				c.warn.add("VPN %s: binding %s has no hub or spoke role; treated as a spoke", v.key, b.Interface)
				s.role = RoleSpoke
			}
		}
		for _, a := range b.Addrs {
			if !a.IsValid() {
				c.warn.add("VPN %s: binding %s has an invalid address; ignored", v.key, b.Interface)
				continue
			}
			a = a.Unmap().WithZone("")
			if slices.Contains(s.addrs, a) {
				continue
			}
			s.addrs = append(s.addrs, a)
		}
		slices.SortFunc(s.addrs, netip.Addr.Compare)
		for _, a := range s.owned() {
			v.owners[a] = append(v.owners[a], s)
		}
		v.binds = append(v.binds, s)
	}
	if !v.cfg.Anycast {
		for _, b := range v.binds {
			for _, a := range b.addrs {
				if o := v.owners[a]; len(o) > 1 && o[0] == b {
					c.warn.add("VPN %s: address %s is on several bindings but anycast is disabled; they are used in fail-over", v.key, a)
				}
			}
		}
	}
}

// loadStatics reads v's static routes. Its warnings are unreachable
// through the server: the prefix and address types refuse invalid ones,
// and the vpn-static-routes rule a prefix or next hop written twice.
func (c *computation) loadStatics(v *vpnState) {
	rs := v.cfg.StaticRoutes
	for i := range rs {
		r := &rs[i]
		if !r.Prefix.IsValid() {
			c.warn.add("VPN %s: static route with an invalid prefix ignored", v.key)
			continue
		}
		s := staticState{prefix: r.Prefix.Masked(), mode: r.Mode}
		for _, nh := range r.NextHops {
			if !nh.Addr.IsValid() {
				c.warn.add("VPN %s: static route %s: invalid next hop ignored", v.key, s.prefix)
				continue
			}
			nh.Addr = nh.Addr.Unmap().WithZone("")
			if slices.ContainsFunc(s.hops, func(h NextHop) bool { return h.Addr == nh.Addr }) {
				c.warn.add("VPN %s: static route %s: next hop %s is listed twice", v.key, s.prefix, nh.Addr)
				continue
			}
			s.hops = append(s.hops, nh)
		}
		v.statics = append(v.statics, s)
	}
	slices.SortStableFunc(v.statics, func(a, b staticState) int { return a.prefix.Compare(b.prefix) })
	v.statics = slices.CompactFunc(v.statics, func(a, b staticState) bool {
		if a.prefix == b.prefix {
			c.warn.add("VPN %s: static route %s is listed twice; the first one is used", v.key, a.prefix)
			return true
		}
		return false
	})
}

// instantiate creates the VRF instances and returns the VRF IDs that need
// or may keep an RD (see assignRDs), sorted by ID.
func (c *computation) instantiate() []rdRequest {
	var reqs []rdRequest
	for _, v := range c.vpns {
		cfg := v.cfg
		if cfg.Policy == HubAndSpoke {
			live := make(map[string]*bindState, len(v.binds))
			for _, b := range v.binds {
				live[b.iface] = b
			}
			for _, iface := range v.ifaces {
				id := v.key + "/" + iface
				b := live[iface]
				if b == nil {
					reqs = append(reqs, rdRequest{id: id, vpn: v})
					continue
				}
				inst := &vrfInst{id: id, host: b.host, vpn: v, role: b.role, perPort: true, binds: []*bindState{b}}
				if b.role == RoleHub {
					inst.imports = sortedSet([]string{cfg.HubRT, cfg.SpokeRT})
					inst.exports = sortedSet([]string{cfg.HubRT})
				} else {
					inst.imports = sortedSet([]string{cfg.HubRT})
					inst.exports = sortedSet([]string{cfg.SpokeRT})
				}
				b.vrf = inst
				c.vrfs = append(c.vrfs, inst)
				reqs = append(reqs, rdRequest{id: id, vpn: v, role: b.role, live: true})
			}
			continue
		}
		byHost := make(map[string]*vrfInst)
		for _, b := range v.binds {
			inst := byHost[b.host]
			if inst == nil {
				inst = &vrfInst{id: v.key, host: b.host, vpn: v, imports: v.imports, exports: v.exports}
				byHost[b.host] = inst
				c.vrfs = append(c.vrfs, inst)
			}
			inst.binds = append(inst.binds, b)
			b.vrf = inst
		}
		reqs = append(reqs, rdRequest{id: v.key, vpn: v, live: len(byHost) > 0})
	}
	slices.SortFunc(c.vrfs, func(a, b *vrfInst) int {
		return cmp.Or(cmp.Compare(a.host, b.host), cmp.Compare(a.id, b.id))
	})
	slices.SortFunc(reqs, func(a, b rdRequest) int { return cmp.Compare(a.id, b.id) })
	c.byExport = make(map[string][]*vrfInst)
	for _, v := range c.vrfs {
		for _, rt := range v.exports {
			c.byExport[rt] = append(c.byExport[rt], v)
		}
	}
	return reqs
}

// originate fills the routes each VRF originates: the host routes of its
// bindings' addresses, and the static routes of its VPN whose next-hop
// address belongs to one of its bindings.
func (c *computation) originate() {
	for _, v := range c.vrfs {
		for _, b := range v.binds {
			for _, a := range b.owned() {
				v.advs = append(v.advs, adv{prefix: netip.PrefixFrom(a, a.BitLen()), origin: v, bind: b, addr: a, pref: b.pref})
			}
		}
	}
	for _, p := range c.vpns {
		for i := range p.statics {
			s := &p.statics[i]
			resolved := 0
			for _, nh := range s.hops {
				owners := p.owners[nh.Addr]
				if len(owners) == 0 {
					c.warn.add("VPN %s: static route %s: next hop %s is not the address of an active binding; dropped", p.key, s.prefix, nh.Addr)
					continue
				}
				resolved++
				for _, b := range owners {
					b.vrf.advs = append(b.vrf.advs, adv{prefix: s.prefix, origin: b.vrf, bind: b, addr: nh.Addr, pref: nh.Preference, pref2: b.pref, static: s})
				}
			}
			if resolved == 0 {
				c.warn.add("VPN %s: static route %s has no resolvable next hop; not installed", p.key, s.prefix)
			}
		}
	}
}

// table computes the routing table of v into v.out. cands is a scratch map
// reused across calls.
func (c *computation) table(v *vrfInst, cands map[netip.Prefix][]*adv) map[netip.Prefix][]*adv {
	v.out = VRF{
		ID:        v.id,
		Tenant:    v.vpn.cfg.Tenant,
		VPN:       v.vpn.cfg.Name,
		Role:      v.role,
		RD:        v.rd,
		Label:     v.label,
		ImportRTs: slices.Clone(v.imports),
		ExportRTs: slices.Clone(v.exports),
	}
	for _, b := range v.binds {
		p := Port{Interface: b.iface, VNIC: b.vnic, VLAN: b.vlan, Label: b.label}
		if len(b.addrs) > 0 {
			p.Addr = b.addrs[0]
		}
		v.out.Ports = append(v.out.Ports, p)
	}

	// Sources: v itself and every VRF exporting a route target v imports.
	if cands == nil {
		cands = make(map[netip.Prefix][]*adv)
	} else {
		clear(cands)
	}
	c.stamp++
	v.stamp = c.stamp
	collect := func(src *vrfInst) {
		for i := range src.advs {
			a := &src.advs[i]
			if a.static != nil && src == v && v.perPort {
				// Traffic in a per-port VRF comes from its port: a static
				// route back to that port would loop (the hub's own
				// default route).
				continue
			}
			cands[a.prefix] = append(cands[a.prefix], a)
		}
	}
	collect(v)
	for _, rt := range v.imports {
		for _, src := range c.byExport[rt] {
			if src.stamp != c.stamp {
				src.stamp = c.stamp
				collect(src)
			}
		}
	}
	if len(cands) == 0 {
		return cands
	}

	prefixes := make([]netip.Prefix, 0, len(cands))
	for p := range cands {
		prefixes = append(prefixes, p)
	}
	slices.SortFunc(prefixes, netip.Prefix.Compare)
	v.out.Routes = make([]Route, 0, len(prefixes))
	for _, p := range prefixes {
		v.out.Routes = append(v.out.Routes, c.route(v, p, cands[p]))
	}
	return cands
}

// importConflict is the warning about a prefix that several VPNs give a
// VRF (v's own VPN among them, or VPNs it imports from): valid
// configuration, since VPNs may share addresses, but the VRF can route
// the prefix to one VPN only, so the VPN of the VRF shows it in its
// status (Incremental.VPNStatus). conflictMark tells it from the other
// warnings of a route.
const (
	importConflict = "VRF %s on %s: %s is imported from VPNs %s and %s; %s is used"
	conflictMark   = " is imported from VPNs "
)

// route resolves the candidate routes for prefix p in v into one Route.
func (c *computation) route(v *vrfInst, p netip.Prefix, as []*adv) Route {
	// Member addresses win over static routes with the same prefix.
	if slices.ContainsFunc(as, func(a *adv) bool { return a.static == nil }) {
		as = slices.DeleteFunc(as, func(a *adv) bool {
			if a.static != nil {
				c.warn.add("VPN %s: static route %s is shadowed by a member address", a.origin.vpn.key, p)
				return true
			}
			return false
		})
	}
	// Routes of v's own VPN win over routes leaked from other VPNs; among
	// other VPNs, the first by key wins.
	win := as[0].origin.vpn
	mixed := false
	for _, a := range as[1:] {
		if a.origin.vpn == win {
			continue
		}
		mixed = true
		if a.origin.vpn == v.vpn || (win != v.vpn && a.origin.vpn.key < win.key) {
			win = a.origin.vpn
		}
	}
	if mixed {
		var others []string
		as = slices.DeleteFunc(as, func(a *adv) bool {
			if a.origin.vpn != win {
				if !slices.Contains(others, a.origin.vpn.key) {
					others = append(others, a.origin.vpn.key)
				}
				return true
			}
			return false
		})
		slices.Sort(others)
		c.warn.add(importConflict, v.id, v.host, p, win.key, strings.Join(others, ", "), win.key)
	}

	r := Route{Prefix: p, NextHops: make([]Hop, len(as))}
	if s := as[0].static; s != nil {
		r.Mode = s.mode
	} else if win.cfg.Anycast {
		r.Mode = win.cfg.AnycastMode
	} else if len(as) > 1 {
		r.Mode = FailOver // duplicate address without anycast (warned; the vpn-addresses rule refuses it)
	}
	slices.SortFunc(as, func(x, y *adv) int {
		return cmp.Or(
			cmp.Compare(x.pref, y.pref),
			cmp.Compare(x.pref2, y.pref2),
			cmp.Compare(x.origin.host, y.origin.host),
			cmp.Compare(x.origin.id, y.origin.id),
			cmp.Compare(x.bind.iface, y.bind.iface),
			x.addr.Compare(y.addr),
		)
	})
	for i, a := range as {
		h := Hop{
			Host: a.origin.host, VRF: a.origin.id, Interface: a.bind.iface, Addr: a.addr, Preference: a.pref,
			Label: a.bind.label, Underlay: c.underlay[a.origin.host],
		}
		switch {
		case a.origin == v:
			h.Kind = HopLocal
		case a.origin.host == v.host:
			h.Kind = HopPort
		default:
			h.Kind = HopRemote
		}
		r.NextHops[i] = h
	}
	return r
}

func sortedSet(in []string) []string {
	var out []string
	for _, s := range in {
		if s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func dedupKeepOrder(in []string) []string {
	var out []string
	for _, s := range in {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
