package realize

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/desired"
	"github.com/netready/netready/southbound/l2"
	"github.com/netready/netready/southbound/routing"
)

// Status keys name the objects whose last attempt the engine tracks.
func hostKey(name string) string         { return "host " + name }
func vpnKey(tenant, vpn string) string   { return "vpn " + tenant + "/" + vpn }
func bindingKey(t, vpn, i string) string { return "binding " + t + "/" + vpn + "/" + i }

// L2 networks' keys: id is "tenant/network".
func l2NetKey(id string) string            { return "l2 " + id }
func l2BindingKey(id, iface string) string { return "l2binding " + id + "/" + iface }

// maxDrift bounds the drift lines kept in a backend's status.
const maxDrift = 100

// objStatus is the status of one object (the service-status grouping).
type objStatus struct {
	oper, sync string
	entries    []entry  // per backend, sorted by name
	why        []string // reason leaf-list, for objects that have one (VPNs)
}

// entry is one backend's line in an object's status.
type entry struct {
	name, sync, msg string
	at              time.Time
}

// statusNodes are the schema nodes of one instance of the service-status
// grouping.
type statusNodes struct {
	status, oper, sync, list, lsync, msg, at *schema.Node
	why                                      *schema.Node // reason leaf-list; nil where the object has none
}

func statusOf(entry *schema.Node) statusNodes {
	st := child(entry, "status")
	list := child(st, "backend")
	return statusNodes{
		status: st, oper: child(st, "oper-status"), sync: child(st, "sync-state"),
		list: list, lsync: child(list, "sync-state"), msg: child(list, "message"), at: child(list, "last-attempt"),
		why: st.Child("reason"),
	}
}

// statusPaths are the schema nodes the engine writes status under.
type statusPaths struct {
	backends, backend, hosts, host              *schema.Node
	tenants, tenant, ports, port, ifaces, iface *schema.Node
	vpns, vpn, bindings, binding                *schema.Node
	l2nets, l2net, l2binds, l2bind              *schema.Node

	learnt, learntRoute                               *schema.Node
	statics, static, staticSt, staticIn, staticWhy    *schema.Node
	recon, reconLast, reconCount, reconDrift          *schema.Node
	backendSt, hostSt, portSt, ifaceSt, vpnSt, bindSt statusNodes
	l2netSt, l2bindSt                                 statusNodes
	vpnCnt, bindCnt                                   counterNodes
}

func newStatusPaths(sch *schema.Schema) *statusPaths {
	p := &statusPaths{}
	p.backends = child(sch.Root, "backends")
	p.backend = child(p.backends, "backend")
	p.recon = child(p.backend, "reconciliation")
	p.reconLast, p.reconCount, p.reconDrift = child(p.recon, "last-run"), child(p.recon, "drift-count"), child(p.recon, "drift")
	p.hosts = child(sch.Root, "hosts")
	p.host = child(p.hosts, "host")
	p.tenants = child(sch.Root, "tenants")
	p.tenant = child(p.tenants, "tenant")
	p.ports = child(p.tenant, "ports")
	p.port = child(p.ports, "port")
	p.ifaces = child(p.tenant, "interfaces")
	p.iface = child(p.ifaces, "interface")
	p.vpns = child(p.tenant, "vpns")
	p.vpn = child(p.vpns, "vpn")
	p.bindings = child(p.vpn, "bindings")
	p.learnt = child(p.vpn, "learnt-routes")
	p.learntRoute = child(p.learnt, "route")
	p.binding = child(p.bindings, "binding")
	p.statics = child(p.vpn, "static-routes")
	p.static = child(p.statics, "route")
	p.staticSt = child(p.static, "status")
	p.staticIn, p.staticWhy = child(p.staticSt, "installed"), child(p.staticSt, "reason")
	p.l2nets = child(p.tenant, "l2-networks")
	p.l2net = child(p.l2nets, "l2-network")
	p.l2binds = child(p.l2net, "bindings")
	p.l2bind = child(p.l2binds, "binding")
	p.l2netSt, p.l2bindSt = statusOf(p.l2net), statusOf(p.l2bind)
	p.backendSt, p.hostSt = statusOf(p.backend), statusOf(p.host)
	p.portSt, p.ifaceSt = statusOf(p.port), statusOf(p.iface)
	p.vpnSt, p.bindSt = statusOf(p.vpn), statusOf(p.binding)
	p.vpnCnt, p.bindCnt = countersOf(p.vpn), countersOf(p.binding)
	return p
}

// child returns a schema node the compiled models must have.
func child(s *schema.Node, name string) *schema.Node {
	c := s.Child(name)
	if c == nil {
		panic("realize: schema has no " + name + " under " + s.PathString())
	}
	return c
}

// statusEdits returns the status of the realized objects of root, from
// the engine's current view. With cs (a transaction's changes, root =
// cs.New), objects whose tree already shows their status are left alone
// (see statusWriter.object), and a tenant is skipped altogether when
// nothing its status depends on moved: the transaction did not touch it,
// no change reached its objects, and the backends and hosts are as they
// were at the last write. Without cs, every object's status is given
// (the writer drops what the tree already holds). The caller holds e.mu.
func (e *Engine) statusEdits(root *tree.Node, cs *changeset.Set) realizer.Status {
	w := &statusWriter{p: e.paths, skipShown: cs != nil}
	fp := e.backendsFingerprint()
	var before *tree.Node // the tenant list before the transaction, nil for a full write
	if cs != nil && e.status.valid && fp == e.status.backends && child1(cs.Old, e.paths.hosts) == child1(root, e.paths.hosts) {
		before = child1(child1(cs.Old, e.paths.tenants), e.paths.tenant)
	}
	e.writeInfraStatus(w, root)
	v := e.statusView()
	var scopes map[string]*tenantScope
	if before != nil {
		scopes = e.scopes(cs)
	}
	each(child1(root, e.paths.tenants), e.paths.tenant, func(tn *tree.Node) {
		key := tn.Key()
		if before == nil || before.Entry(key) == nil {
			e.writeTenantStatus(w, tn, v, nil) // everything, or a new tenant
			return
		}
		sc := scopes[key]
		if sc == nil && !e.status.dirty[key] && before.Entry(key) == tn {
			return // nothing its status depends on moved
		}
		if sc == nil {
			sc = &tenantScope{}
		}
		e.writeTenantStatus(w, tn, v, sc)
	})
	if cs != nil {
		e.status = statusMark{valid: true, backends: fp, dirty: map[string]bool{}, keys: map[string]bool{}}
	}
	return w.out
}

// tenantScope is what a transaction changed in one tenant, for its status:
// the objects whose status may differ from what the tree shows.
type tenantScope struct {
	// placement: a port or interface changed (or the tenant itself came
	// or went): every object's placement may have moved.
	placement bool
	vpns      map[string]bool // VPNs changed, by name
	bindings  map[string]bool // bindings changed, by bindingKey
	l2nets    map[string]bool // L2 networks changed, by name
}

// scopes reads, from a transaction's changes, what changed in each tenant
// (by name).
func (e *Engine) scopes(cs *changeset.Set) map[string]*tenantScope {
	out := map[string]*tenantScope{}
	for c := range cs.All() {
		var sc *tenantScope
		var tenant, vpn string
		for i, n := range c.Chain {
			if i == 0 || c.Chain[i-1].Schema() != n.Schema() {
				continue // not a list entry
			}
			switch n.Schema() {
			case e.paths.tenant:
				tenant = n.Key()
				if sc = out[tenant]; sc == nil {
					sc = &tenantScope{vpns: map[string]bool{}, bindings: map[string]bool{}, l2nets: map[string]bool{}}
					out[tenant] = sc
				}
				if i == len(c.Chain)-1 && (c.Old == nil || c.New == nil) {
					sc.placement = true
				}
			case e.paths.port, e.paths.iface:
				sc.placement = true
			case e.paths.vpn:
				vpn = n.Key()
				sc.vpns[vpn] = true
			case e.paths.binding:
				sc.bindings[bindingKey(tenant, vpn, n.Key())] = true
			case e.paths.l2net:
				sc.l2nets[n.Key()] = true
			}
		}
	}
	return out
}

// statusMark is what the last status written with a commit was based on.
type statusMark struct {
	valid    bool   // false: none yet, or it was never published
	backends string // backendsFingerprint then
	// dirty are the tenants with objects attempted since, keys those
	// objects (statusKey form: vpnKey, bindingKey).
	dirty map[string]bool
	keys  map[string]bool
}

// backendsFingerprint changes whenever a backend's status changes.
func (e *Engine) backendsFingerprint() string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(e.backends)) {
		be := e.backends[name]
		fmt.Fprintf(&b, "%q %v %s %q\n", name, be.cfg.AdminUp, be.sync.state, be.sync.msg)
	}
	return b.String()
}

// writeInfraStatus writes the backends' and hosts' status (few objects:
// always written).
func (e *Engine) writeInfraStatus(w *statusWriter, root *tree.Node) {
	each(child1(root, e.paths.backends), e.paths.backend, func(n *tree.Node) {
		name := n.Key()
		path := tree.Path{{Schema: e.paths.backends}, keyed(e.paths.backend, name)}
		w.object(path, n, e.paths.backendSt, e.backendStatus(name))
		if b := e.backends[name]; b != nil && b.recon != nil {
			w.reconciliation(path, b.recon)
		}
	})
	each(child1(root, e.paths.hosts), e.paths.host, func(n *tree.Node) {
		host := n.Key()
		path := tree.Path{{Schema: e.paths.hosts}, keyed(e.paths.host, host)}
		w.object(path, n, e.paths.hostSt, e.placedStatus(backendOf(n), true, e.attempts[hostKey(host)]))
	})
}

// statusView is the engine's model indexed for status: each host's
// backend, and each VPN by "tenant/vpn". Bindings are indexed per VPN
// only when a VPN's status is written (bindingsOf): a transaction writes
// a few VPNs, not all of them.
type statusView struct {
	hostBackend map[string]string
	vpns        map[string]*routing.VPN
	// l2 are the L2 networks, in key order (desired.L2 reads them so):
	// searched, not indexed, so a Set's status costs no pass over every
	// L2 binding.
	l2 []l2.Network
}

func (e *Engine) statusView() statusView {
	v := statusView{hostBackend: map[string]string{}, vpns: map[string]*routing.VPN{}}
	for _, h := range e.model.Hosts {
		v.hostBackend[h.Name] = h.Backend
	}
	for i := range e.model.VPNs {
		v.vpns[e.model.VPNs[i].Key()] = &e.model.VPNs[i]
	}
	v.l2 = e.l2model.Networks
	return v
}

// l2Bindings returns the bindings (in interface order) of a tenant's L2
// network, nil when the model has no such network.
func (v statusView) l2Bindings(tenant, name string) []l2.Binding {
	i, ok := slices.BinarySearchFunc(v.l2, [2]string{tenant, name}, func(n l2.Network, k [2]string) int {
		return cmp.Or(strings.Compare(n.Tenant, k[0]), strings.Compare(n.Name, k[1]))
	})
	if !ok {
		return nil
	}
	return v.l2[i].Bindings
}

// l2Binding returns iface's binding among bs (in interface order).
func l2Binding(bs []l2.Binding, iface string) l2.Binding {
	i, ok := slices.BinarySearchFunc(bs, iface, func(b l2.Binding, s string) int { return strings.Compare(b.Interface, s) })
	if !ok {
		return l2.Binding{}
	}
	return bs[i]
}

// binding returns a VPN's binding of interface iface (the index keeps
// them sorted by interface), false when the VPN or the binding is gone.
func (v statusView) binding(tenant, vpn, iface string) (routing.Binding, bool) {
	m := v.vpns[tenant+"/"+vpn]
	if m == nil {
		return routing.Binding{}, false
	}
	i, ok := slices.BinarySearchFunc(m.Bindings, iface, func(b routing.Binding, s string) int { return strings.Compare(b.Interface, s) })
	if !ok {
		return routing.Binding{}, false
	}
	return m.Bindings[i], true
}

// writeTenantStatus writes the status of a tenant's ports, interfaces,
// VPNs, bindings and L2 networks. With sc (a transaction that moved no
// placement in the tenant), only the VPNs and L2 networks it changed or
// whose objects were attempted are written, and in VPNs only the
// bindings it changed or attempted; the others show their status
// already.
func (e *Engine) writeTenantStatus(w *statusWriter, tn *tree.Node, v statusView, sc *tenantScope) {
	tenant := tn.Key()
	tpath := tree.Path{{Schema: e.paths.tenants}, keyed(e.paths.tenant, tenant)}
	if sc != nil && !sc.placement {
		vpns := child1(child1(tn, e.paths.vpns), e.paths.vpn)
		for _, name := range e.touchedVPNs(tenant, sc) {
			if vn := vpns.Entry(name); vn != nil {
				e.writeVPNStatus(w, tpath, vn, v, e.touchedBindings(tenant, name, sc))
			}
		}
		e.writeL2Status(w, tpath, tn, v, touched(sc.l2nets, e.status.keys, l2NetKey(tenant+"/")))
		return
	}
	placed := func(cont, list *schema.Node, nodes statusNodes, ps []desired.Placement) {
		where := make(map[string]desired.Placement, len(ps))
		for _, p := range ps {
			where[p.Name] = p
		}
		each(child1(tn, cont), list, func(n *tree.Node) {
			pl := where[n.Key()]
			st := e.placedStatus(v.hostBackend[pl.Host], pl.Host != "" && pl.Up, time.Time{})
			w.object(append(tpath[:2:2], tree.Elem{Schema: cont}, keyed(list, n.Key())), n, nodes, st)
		})
	}
	placed(e.paths.ports, e.paths.port, e.paths.portSt, desired.Ports(tn))
	placed(e.paths.ifaces, e.paths.iface, e.paths.ifaceSt, desired.Interfaces(tn))
	each(child1(tn, e.paths.vpns), e.paths.vpn, func(vn *tree.Node) {
		e.writeVPNStatus(w, tpath, vn, v, nil)
	})
	e.writeL2Status(w, tpath, tn, v, nil)
}

// writeL2Status writes the status of a tenant's L2 networks and their
// bindings, as for VPNs: a binding is up and in sync when its host's
// backend holds it (every accepted transaction was realized, and L2
// bindings are refused on backends whose driver does not realize them),
// and its network summarizes its active bindings. Every network of the
// tenant when only is nil, else the networks named.
func (e *Engine) writeL2Status(w *statusWriter, tpath tree.Path, tn *tree.Node, v statusView, only []string) {
	if only == nil {
		each(child1(tn, e.paths.l2nets), e.paths.l2net, func(nn *tree.Node) { e.writeL2NetStatus(w, tpath, nn, v) })
		return
	}
	nets := child1(child1(tn, e.paths.l2nets), e.paths.l2net)
	if nets == nil {
		return // every network gone
	}
	for _, name := range only {
		if nn := nets.Entry(name); nn != nil {
			e.writeL2NetStatus(w, tpath, nn, v)
		}
	}
}

// writeL2NetStatus writes the status of one L2 network and its bindings.
func (e *Engine) writeL2NetStatus(w *statusWriter, tpath tree.Path, nn *tree.Node, v statusView) {
	tenant := tpath[1].Keys[0].(string)
	id := tenant + "/" + nn.Key()
	npath := append(tpath[:2:2], tree.Elem{Schema: e.paths.l2nets}, keyed(e.paths.l2net, nn.Key()))
	bs := v.l2Bindings(tenant, nn.Key())
	var members []objStatus
	var counts []int
	each(child1(nn, e.paths.l2binds), e.paths.l2bind, func(bn *tree.Node) {
		b := l2Binding(bs, bn.Key())
		active := b.Host != "" && b.AdminUp
		st := e.placedStatus(v.hostBackend[b.Host], active, e.attempts[l2BindingKey(id, bn.Key())])
		if active {
			members, counts = append(members, st), append(counts, 1)
		}
		w.object(append(npath[:4:4], tree.Elem{Schema: e.paths.l2binds}, keyed(e.paths.l2bind, bn.Key())), bn, e.paths.l2bindSt, st)
	})
	w.object(npath, nn, e.paths.l2netSt, summarize(members, counts, e.attempts[l2NetKey(id)]))
}

// touchedBindings names, sorted, the bindings of one VPN a transaction
// changed or that were attempted since the last status write; never nil.
func (e *Engine) touchedBindings(tenant, vpn string, sc *tenantScope) []string {
	prefix := bindingKey(tenant, vpn, "")
	names := []string{}
	for _, keys := range []map[string]bool{sc.bindings, e.status.keys} {
		for k := range keys {
			if iface, ok := strings.CutPrefix(k, prefix); ok {
				names = append(names, iface)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// touchedVPNs names, sorted, the VPNs of tenant a transaction changed or
// whose objects were attempted since the last status write.
func (e *Engine) touchedVPNs(tenant string, sc *tenantScope) []string {
	return touched(sc.vpns, e.status.keys, vpnKey(tenant, ""))
}

// touched names, sorted, the objects changed (by name) and those among
// keys (statusKey form) whose key is prefix and the name; never nil.
func touched(changed, keys map[string]bool, prefix string) []string {
	names := maps.Clone(changed)
	if names == nil {
		names = map[string]bool{}
	}
	for k := range keys {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			names[rest] = true
		}
	}
	return append([]string{}, slices.Sorted(maps.Keys(names))...)
}

// writeVPNStatus writes a VPN's status and its bindings': every binding
// when only is nil, else only the bindings of those interfaces. The cost
// is what is written: the VPN's summary is counted from the index, not
// from each binding's status.
func (e *Engine) writeVPNStatus(w *statusWriter, tpath tree.Path, vn *tree.Node, v statusView, only []string) {
	tenant, vpn := tpath[1].Keys[0].(string), vn.Key()
	vpath := append(tpath[:2:2], tree.Elem{Schema: e.paths.vpns}, keyed(e.paths.vpn, vpn))
	write := func(bn *tree.Node) {
		key := bindingKey(tenant, vpn, bn.Key())
		b, _ := v.binding(tenant, vpn, bn.Key())
		st := e.placedStatus(v.hostBackend[b.Host], b.Host != "" && b.AdminUp, e.attempts[key])
		if b.Host != "" && b.AdminUp {
			if reason := e.deadReason(tenant, vpn, bn.Key()); reason != "" {
				st = unreachable(st, reason)
			}
		}
		w.object(append(vpath[:4:4], tree.Elem{Schema: e.paths.bindings}, keyed(e.paths.binding, bn.Key())), bn, e.paths.bindSt, st)
	}
	if only == nil {
		each(child1(vn, e.paths.bindings), e.paths.binding, write)
	} else if list := child1(child1(vn, e.paths.bindings), e.paths.binding); list != nil {
		for _, iface := range only {
			if bn := list.Entry(iface); bn != nil {
				write(bn)
			}
		}
	}
	w.object(vpath, vn, e.paths.vpnSt, e.withReasons(e.vpnSummary(v, tenant, vpn), tenant+"/"+vpn))
	e.writeStaticStatus(w, vpath, vn, tenant+"/"+vpn, v)
}

// withReasons adds to a VPN's status why the network holds less than it
// asks though its configuration is valid (routing.Incremental.VPNStatus):
// a VPN whose members do not all reach each other is at most degraded,
// however well its bindings are realized.
func (e *Engine) withReasons(st objStatus, key string) objStatus {
	if e.inc == nil {
		return st
	}
	if st.why = e.inc.VPNStatus(key); len(st.why) > 0 && st.oper == "up" {
		st.oper = "degraded"
	}
	return st
}

// writeStaticStatus writes whether each static route of a VPN is in the
// network, and why not: a VPN has few static routes, and any change of
// its bindings may move them, so all are written with the VPN's status
// (those already showing theirs are skipped). A route is installed when
// a host whose VRF routes it has a backend that is up and in sync: a
// route computed for a forwarder that failed is not in the network.
func (e *Engine) writeStaticStatus(w *statusWriter, vpath tree.Path, vn *tree.Node, key string, v statusView) {
	if e.inc == nil {
		return
	}
	each(child1(vn, e.paths.statics), e.paths.static, func(rn *tree.Node) {
		prefix, err := netip.ParsePrefix(rn.Key())
		if err != nil {
			return // validation refuses it; nothing to report on
		}
		hosts, why, _ := e.inc.StaticStatus(key, prefix)
		installed := false
		for _, h := range hosts {
			if st := e.placedStatus(v.hostBackend[h], true, time.Time{}); st.oper == "up" {
				installed = true
				break
			}
		}
		if !installed && len(hosts) > 0 {
			why = append(why, fmt.Sprintf("computed for %s, whose backends are not up and in sync", strings.Join(hosts, ", ")))
		}
		path := append(vpath[:4:4], tree.Elem{Schema: e.paths.statics}, keyed(e.paths.static, rn.Key()))
		w.staticRoute(path, rn, installed, why)
	})
}

// vpnSummary is summarize over a VPN's active bindings, from one status
// per backend they are on and whether their instance answers: every
// active binding in such a group has the same status but for its attempt
// time and unreachable reason, and the summary keeps only the first
// one's (in interface order), as summarize over every binding would.
func (e *Engine) vpnSummary(v statusView, tenant, vpn string) objStatus {
	type group struct {
		backend string
		dead    bool
	}
	var members []objStatus
	var counts []int
	at := e.attempts[vpnKey(tenant, vpn)]
	if m := v.vpns[tenant+"/"+vpn]; m != nil {
		seen := map[group]int{} // → index in members
		for _, b := range m.Bindings {
			if b.Host == "" || !b.AdminUp {
				continue
			}
			reason := ""
			if len(e.dead) > 0 {
				reason = e.deadReason(tenant, vpn, b.Interface)
			}
			g := group{v.hostBackend[b.Host], reason != ""}
			if i, ok := seen[g]; ok {
				counts[i]++
				continue
			}
			seen[g] = len(members)
			st := e.placedStatus(g.backend, true, e.attempts[bindingKey(tenant, vpn, b.Interface)])
			if g.dead {
				st = unreachable(st, reason)
			}
			members, counts = append(members, st), append(counts, 1)
		}
	}
	return summarize(members, counts, at)
}

// backendStatus is a backend's own status.
func (e *Engine) backendStatus(name string) objStatus {
	b := e.backends[name]
	if b == nil {
		return objStatus{oper: "unknown", sync: "pending"}
	}
	st := objStatus{oper: operOf(b.sync.state), sync: b.sync.state}
	if !b.cfg.AdminUp {
		st.oper = "down"
	}
	st.entries = []entry{{name: name, sync: b.sync.state, msg: b.sync.msg, at: b.sync.at}}
	return st
}

// placedStatus is the status of an object realized on one backend: in
// sync with it, or, when the object is not realized anywhere (admin down,
// not placed), down and trivially in sync. at is when the object itself
// was last sent to the backend (zero: not tracked, no last-attempt); the
// backend's own last attempt is on the backend.
func (e *Engine) placedStatus(backendName string, active bool, at time.Time) objStatus {
	b := e.backends[backendName]
	if !active || b == nil {
		return objStatus{oper: "down", sync: "in-sync"}
	}
	st := objStatus{oper: operOf(b.sync.state), sync: b.sync.state}
	if !b.cfg.AdminUp {
		st.oper = "unknown"
	}
	st.entries = []entry{{name: backendName, sync: b.sync.state, msg: b.sync.msg, at: at}}
	return st
}

// unreachable is the status of a realized binding whose instance stopped
// answering: down, with the reason in its backend's entry.
func unreachable(st objStatus, reason string) objStatus {
	st.oper = "down"
	for i := range st.entries {
		st.entries[i].msg = "instance not answering (VNF liveness): " + reason
	}
	return st
}

// summarize is a VPN's status from its active bindings' (members[i]
// standing for counts[i] bindings of the same status): up when all are
// up, degraded when some are, down otherwise; the worst sync state; one
// entry per backend.
func summarize(members []objStatus, counts []int, at time.Time) objStatus {
	st := objStatus{oper: "down", sync: "in-sync"}
	up, total := 0, 0
	byName := map[string]entry{}
	for i, m := range members {
		total += counts[i]
		if m.oper == "up" {
			up += counts[i]
		}
		if rank(m.sync) > rank(st.sync) {
			st.sync = m.sync
		}
		for _, en := range m.entries {
			if old, ok := byName[en.name]; !ok || rank(en.sync) > rank(old.sync) {
				if !at.IsZero() {
					en.at = at
				}
				byName[en.name] = en
			}
		}
	}
	switch {
	case total > 0 && up == total:
		st.oper = "up"
	case up > 0:
		st.oper = "degraded"
	}
	for _, en := range byName {
		st.entries = append(st.entries, en)
	}
	sortEntries(st.entries)
	return st
}

func rank(sync string) int {
	switch sync {
	case "error":
		return 2
	case "pending":
		return 1
	}
	return 0
}

func operOf(sync string) string {
	switch sync {
	case "in-sync":
		return "up"
	case "error":
		return "down"
	}
	return "unknown"
}

func sortEntries(es []entry) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].name < es[j-1].name; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

// statusWriter turns objStatus values into status edits.
type statusWriter struct {
	p   *statusPaths
	out realizer.Status
	// skipShown leaves out objects whose node already shows their status.
	skipShown bool
}

func (w *statusWriter) set(p tree.Path, object int, v value.Value) {
	w.out = append(w.out, realizer.Edit{Path: p, Object: object, Value: v})
}

func (w *statusWriter) del(p tree.Path, object int) {
	w.out = append(w.out, realizer.Edit{Path: p, Object: object, Delete: true})
}

// object writes st under the object at path (n is its node in the tree),
// unless the tree already shows it: most objects keep their status from
// one transaction to the next, and reading it from n is far cheaper than
// writing it through path.
func (w *statusWriter) object(path tree.Path, n *tree.Node, sn statusNodes, st objStatus) {
	if w.skipShown && shows(n, sn, st) {
		return
	}
	obj := len(path)
	base := append(path[:len(path):len(path)], tree.Elem{Schema: sn.status})
	w.set(append(base[:len(base):len(base)], tree.Elem{Schema: sn.oper}), obj, st.oper)
	w.set(append(base[:len(base):len(base)], tree.Elem{Schema: sn.sync}), obj, st.sync)
	want := map[string]bool{}
	for _, en := range st.entries {
		want[en.name] = true
		ep := append(base[:len(base):len(base)], keyed(sn.list, en.name))
		leaf := func(s *schema.Node) tree.Path { return append(ep[:len(ep):len(ep)], tree.Elem{Schema: s}) }
		w.set(leaf(sn.lsync), obj, en.sync)
		if en.msg != "" {
			w.set(leaf(sn.msg), obj, en.msg)
		} else {
			w.del(leaf(sn.msg), obj)
		}
		if !en.at.IsZero() {
			w.set(leaf(sn.at), obj, timestamp(en.at))
		}
	}
	each(child1(n, sn.status), sn.list, func(old *tree.Node) {
		if !want[old.Key()] {
			w.del(append(base[:len(base):len(base)], keyed(sn.list, old.Key())), obj)
		}
	})
	if sn.why != nil {
		w.strings(append(base[:len(base):len(base)], tree.Elem{Schema: sn.why}), obj, st.why)
	}
}

// strings writes a leaf-list of strings (deletes it when vals is empty).
func (w *statusWriter) strings(p tree.Path, obj int, vals []string) {
	if len(vals) == 0 {
		w.del(p, obj)
		return
	}
	vs := make([]value.Value, len(vals))
	for i, s := range vals {
		vs[i] = s
	}
	w.out = append(w.out, realizer.Edit{Path: p, Object: obj, Values: vs})
}

// shows reports whether object n's status is already st.
func shows(n *tree.Node, sn statusNodes, st objStatus) bool {
	status := child1(n, sn.status)
	if status == nil || str(child1(status, sn.oper)) != st.oper || str(child1(status, sn.sync)) != st.sync {
		return false
	}
	if sn.why != nil && !slices.Equal(strs(child1(status, sn.why)), st.why) {
		return false
	}
	list := child1(status, sn.list)
	if list == nil {
		return len(st.entries) == 0
	}
	if list.Len() != len(st.entries) {
		return false
	}
	for _, en := range st.entries {
		e := list.Entry(en.name)
		if e == nil || str(child1(e, sn.lsync)) != en.sync || str(child1(e, sn.msg)) != en.msg {
			return false
		}
		if !en.at.IsZero() && str(child1(e, sn.at)) != timestamp(en.at) {
			return false
		}
	}
	return true
}

// str is a string leaf's value, "" when n is nil (or holds a default it
// does not have).
func str(n *tree.Node) string {
	if n == nil {
		return ""
	}
	s, _ := n.Value().(string)
	return s
}

// staticRoute writes a static route's status (n is its node), unless the
// tree already shows it.
func (w *statusWriter) staticRoute(path tree.Path, n *tree.Node, installed bool, why []string) {
	st := child1(n, w.p.staticSt)
	if w.skipShown && st != nil && child1(st, w.p.staticIn) != nil && child1(st, w.p.staticIn).Value() == installed &&
		slices.Equal(strs(child1(st, w.p.staticWhy)), why) {
		return
	}
	obj := len(path)
	base := append(path[:len(path):len(path)], tree.Elem{Schema: w.p.staticSt})
	w.set(append(base[:len(base):len(base)], tree.Elem{Schema: w.p.staticIn}), obj, installed)
	w.strings(append(base[:len(base):len(base)], tree.Elem{Schema: w.p.staticWhy}), obj, why)
}

// strs is a string leaf-list's values, nil when n is nil.
func strs(n *tree.Node) []string {
	if n == nil {
		return nil
	}
	var out []string
	for _, v := range n.Values() {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// reconciliation writes a backend's newest reconciliation outcome.
func (w *statusWriter) reconciliation(path tree.Path, r *reconciliation) {
	obj := len(path)
	base := append(path[:len(path):len(path)], tree.Elem{Schema: w.p.recon})
	leaf := func(s *schema.Node) tree.Path { return append(base[:len(base):len(base)], tree.Elem{Schema: s}) }
	w.set(leaf(w.p.reconLast), obj, timestamp(r.at))
	w.set(leaf(w.p.reconCount), obj, uint64(len(r.drift)))
	drift := r.drift
	if len(drift) > maxDrift {
		drift = drift[:maxDrift]
	}
	if len(drift) == 0 {
		w.del(leaf(w.p.reconDrift), obj)
		return
	}
	vals := make([]value.Value, len(drift))
	for i, d := range drift {
		vals[i] = d
	}
	w.out = append(w.out, realizer.Edit{Path: leaf(w.p.reconDrift), Object: obj, Values: vals})
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func keyed(list *schema.Node, key string) tree.Elem {
	return tree.Elem{Schema: list, Keys: []value.Value{key}}
}

// child1 returns n's child of schema s, nil for a nil n.
func child1(n *tree.Node, s *schema.Node) *tree.Node {
	if n == nil {
		return nil
	}
	return n.Child(s)
}

// each calls fn for every entry of the list of schema list under parent
// (none for a nil parent).
func each(parent *tree.Node, list *schema.Node, fn func(*tree.Node)) {
	if l := child1(parent, list); l != nil {
		l.Entries(func(e *tree.Node) bool { fn(e); return true })
	}
}

// backendOf returns a host entry's backend leaf.
func backendOf(host *tree.Node) string {
	if b := host.ChildByName("backend"); b != nil {
		s, _ := b.Value().(string)
		return s
	}
	return ""
}
