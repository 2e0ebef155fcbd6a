package linuxfwd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/netready/netready/southbound/routing"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Reconcile makes the kernel hold exactly hosts; see southbound.Forwarder.
// For each host it reads every VRF namespace (<prefix><host>@<label>)
// completely: sysctls, links, rules, routes of every table, neighbour and
// FDB entries on nrx; it deletes what is not wanted (namespaces, links,
// rules, routes, entries), fixes what is wrong, creates what is missing,
// and reports one line per difference. A missing VRF is one difference,
// whatever it holds. In a host namespace only guest ends
// (<prefix>g<digits>) are touched. Namespaces of hosts not in hosts are
// left alone: they may belong to another backend with the same prefix.
func (d *Driver) Reconcile(ctx context.Context, hosts []*routing.HostView) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errors.New("driver closed")
	}
	d.epoch++
	hvs := slices.Clone(hosts)
	slices.SortFunc(hvs, func(a, b *routing.HostView) int { return strings.Compare(a.Host, b.Host) })
	var drift []string
	for _, hv := range hvs {
		if err := ctx.Err(); err != nil {
			return drift, fmt.Errorf("host %s: %w", hv.Host, err)
		}
		r := &reconciler{d: d, ctx: ctx, hv: hv}
		err := r.host()
		drift = append(drift, r.drift...)
		if err != nil {
			if r.hs != nil {
				r.hs.loaded = false
			}
			return drift, fmt.Errorf("host %s: %w", hv.Host, err)
		}
	}
	return drift, nil
}

type reconciler struct {
	d     *Driver
	ctx   context.Context
	hv    *routing.HostView
	hs    *hostState
	drift []string
}

func (r *reconciler) report(format string, args ...any) {
	r.drift = append(r.drift, r.hv.Host+": "+fmt.Sprintf(format, args...))
}

func (r *reconciler) host() error {
	d, hv := r.d, r.hv
	for _, w := range hv.VRFs {
		if err := checkLabel("VRF "+w.ID, w.Label); err != nil {
			return err
		}
		for _, p := range w.Ports {
			if err := checkLabel("VRF "+w.ID+": port "+p.Interface, p.Label); err != nil {
				return err
			}
		}
	}
	// Open the host and read every VRF namespace afresh.
	hs := d.hosts[hv.Host]
	if hs != nil {
		hs.closeVRFs()
	}
	hs, err := d.hostNS(hv.Host)
	if err != nil {
		if len(hv.VRFs) == 0 && errors.Is(err, os.ErrNotExist) {
			return nil // a host that is not up yet and should hold nothing is in sync
		}
		return err
	}
	r.hs = hs
	labels, err := d.vrfNamespaces(hv.Host)
	if err != nil {
		return err
	}
	obs := make(map[uint32]*observed)
	for _, l := range labels {
		name := VRFNamespace(d.prefix, hv.Host, l)
		ref, err := openNS(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("namespace %s: %w", name, err)
		}
		o, err := observe(ref)
		if err != nil {
			ref.close()
			return fmt.Errorf("namespace %s: %w", name, err)
		}
		obs[l] = o
		hs.add(o.state(l, ref))
	}
	hs.loaded = true

	want := make(map[uint32]*routing.VRF)
	byID := make(map[string]*routing.VRF)
	for i := range hv.VRFs {
		w := &hv.VRFs[i]
		want[w.Label] = w
		byID[w.ID] = w
	}

	// Namespaces that do not hold a wanted VRF under their label.
	for _, l := range labels {
		o, v := obs[l], hs.byLabel[l]
		if o == nil || v == nil {
			continue
		}
		id := v.id
		if w := want[l]; w != nil && (id == w.ID || byID[id] == nil) {
			// Labels are unique: a namespace with the label of a wanted
			// VRF that names no other wanted VRF is that VRF's (its nrx
			// is fixed below).
			continue
		}
		if w := byID[id]; w != nil && want[l] == nil && hs.byLabel[w.Label] == nil {
			if err := d.relabelNS(hs, v, w.Label); err != nil {
				return fmt.Errorf("VRF %s: %w", id, err)
			}
			delete(obs, l)
			obs[w.Label] = o
			r.report("VRF %s: namespace has label %d, want %d: renamed to %s", id, l, w.Label, v.ns.name)
			continue
		}
		name := v.ns.name
		if err := d.dropVRF(hs, v); err != nil {
			return fmt.Errorf("namespace %s: %w", name, err)
		}
		delete(obs, l)
		switch {
		case id == "":
			r.report("extra namespace %s (no VRF) removed", name)
		case want[l] != nil:
			r.report("namespace %s holds VRF %s, want %s: removed", name, id, want[l].ID)
		default:
			r.report("extra namespace %s (VRF %s) removed", name, id)
		}
	}

	// The wanted VRFs.
	for i := range hv.VRFs {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		w := &hv.VRFs[i]
		o := obs[w.Label]
		quiet := o == nil
		if quiet {
			old := hs.byLabel[w.Label]
			if old != nil {
				hs.remove(old)
				old.ns.close()
			}
			ref, err := createNS(VRFNamespace(d.prefix, hv.Host, w.Label), vrfSysctls)
			if err != nil {
				return fmt.Errorf("VRF %s: %w", w.ID, err)
			}
			hs.add(newVRFState(w.ID, w.Label, ref))
			o = &observed{links: map[string]netlink.Link{}}
		}
		s := &vrfSync{r: r, w: w, o: o, quiet: quiet}
		if err := s.run(); err != nil {
			return fmt.Errorf("VRF %s: %w", w.ID, err)
		}
		if quiet {
			r.report("VRF %s: missing: created with %d ports and %d routes", w.ID, len(w.Ports), w.NumRoutes())
		}
	}
	return r.guestLinks()
}

// hostNS opens the host's namespace (see host) without reading its VRFs.
func (d *Driver) hostNS(name string) (*hostState, error) {
	hs := d.hosts[name]
	if hs == nil {
		hs = &hostState{name: name, nsName: HostNamespace(d.prefix, name)}
		d.hosts[name] = hs
	}
	if hs.ns != nil {
		ok, err := hs.ns.current()
		if err != nil {
			return nil, err
		}
		if !ok {
			hs.closeAll()
		}
	}
	if hs.ns == nil {
		r, err := openNS(hs.nsName)
		if errors.Is(err, os.ErrNotExist) {
			return nil, notFound(hs.nsName)
		}
		if err != nil {
			return nil, fmt.Errorf("namespace %s: %w", hs.nsName, err)
		}
		hs.ns = r
	}
	hs.checked = d.epoch
	return hs, nil
}

// relabelNS renames a VRF namespace for a new label; nrx is fixed by the
// VRF's sync.
func (d *Driver) relabelNS(hs *hostState, v *vrfState, label uint32) error {
	to := VRFNamespace(d.prefix, hs.name, label)
	if err := renameNS(v.ns.name, to); err != nil {
		return fmt.Errorf("rename namespace %s to %s: %w", v.ns.name, to, err)
	}
	hs.remove(v)
	v.ns.name, v.label = to, label
	hs.add(v)
	return nil
}

// guestLinks removes the guest ends in the host namespace whose port is
// not wanted, and fixes the others.
func (r *reconciler) guestLinks() error {
	hs := r.hs
	links, err := hs.ns.h.LinkList()
	if err != nil {
		return fmt.Errorf("links of %s: %w", hs.nsName, err)
	}
	type portRef struct {
		alias string
	}
	wanted := make(map[uint32]portRef)
	for _, w := range r.hv.VRFs {
		for _, p := range w.Ports {
			wanted[p.Label] = portRef{PortAlias(w.Tenant, w.VPN, p.Interface)}
		}
	}
	slices.SortFunc(links, func(a, b netlink.Link) int { return strings.Compare(a.Attrs().Name, b.Attrs().Name) })
	for _, l := range links {
		a := l.Attrs()
		label, ok := parseLabelled(a.Name, r.d.prefix+"g")
		if !ok {
			continue
		}
		p, ok := wanted[label]
		if !ok {
			if err := delLink(hs.ns.sock, a.Name); err != nil {
				return fmt.Errorf("delete %s: %w", a.Name, err)
			}
			r.report("extra guest link %s removed", a.Name)
			continue
		}
		if a.Alias != p.alias || a.MTU != MTU || a.Flags&net.FlagUp == 0 {
			if err := setLink(hs.ns.sock, a.Index, "", p.alias, MTU); err != nil {
				return fmt.Errorf("set %s: %w", a.Name, err)
			}
			r.report("guest link %s: %s: fixed", a.Name, linkProblems(a, p.alias, MTU))
		}
	}
	return nil
}

func linkProblems(a *netlink.LinkAttrs, alias string, mtu int) string {
	var s []string
	if a.Alias != alias {
		s = append(s, fmt.Sprintf("alias %q, want %q", a.Alias, alias))
	}
	if mtu > 0 && a.MTU != mtu {
		s = append(s, fmt.Sprintf("MTU %d, want %d", a.MTU, mtu))
	}
	if a.Flags&net.FlagUp == 0 {
		s = append(s, "down")
	}
	return strings.Join(s, ", ")
}

// vrfSync makes one VRF namespace hold the wanted VRF.
type vrfSync struct {
	r     *reconciler
	w     *routing.VRF
	o     *observed
	v     *vrfState // the new state
	quiet bool      // a namespace just created: report nothing
	// sendNew says nrx was (re)created: the routes and entries observed on
	// the old one are gone.
	sendNew bool
}

func (s *vrfSync) report(format string, args ...any) {
	if !s.quiet {
		s.r.report("VRF %s: "+format, append([]any{s.w.ID}, args...)...)
	}
}

func (s *vrfSync) run() error {
	hs, w := s.r.hs, s.w
	old := hs.byLabel[w.Label]
	ref := old.ns
	hs.remove(old)
	s.v = newVRFState(w.ID, w.Label, ref)
	hs.add(s.v)
	steps := []func() error{s.sysctls, s.loopback, s.sendLink, s.ports, s.extraLinks, s.rules, s.routes}
	for _, f := range steps {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

func (s *vrfSync) sysctls() error {
	if s.quiet {
		return nil // just set by createNS
	}
	fd := s.v.ns.fd
	wrong, err := readSysctls(fd, vrfSysctls)
	if err != nil {
		return err
	}
	if len(wrong) == 0 {
		return nil
	}
	if err := InNamespace(fd, func() error { return writeSysctls(vrfSysctls) }); err != nil {
		return err
	}
	for _, x := range wrong {
		for _, want := range vrfSysctls {
			if want.path == x.path {
				s.report("sysctl net/%s is %s, want %s: fixed", x.path, x.value, want.value)
			}
		}
	}
	return nil
}

func (s *vrfSync) loopback() error {
	if lo := s.o.links["lo"]; lo != nil && lo.Attrs().Flags&net.FlagUp != 0 {
		return nil
	}
	if err := linkUp(s.v.ns.sock, 1); err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	s.report("loopback down: fixed")
	return nil
}

// vxlanProblems says what is wrong with a VXLAN link the driver made.
func vxlanProblems(l netlink.Link, index int, vni uint32, mac net.HardwareAddr) string {
	x, ok := l.(*netlink.Vxlan)
	if !ok {
		return fmt.Sprintf("is a %s link, not vxlan", l.Type())
	}
	var p []string
	if x.Index != index {
		p = append(p, fmt.Sprintf("index %d, want %d", x.Index, index))
	}
	if x.VxlanId != int(vni) {
		p = append(p, fmt.Sprintf("VNI %d, want %d", x.VxlanId, vni))
	}
	if x.Port != VXLANPort {
		p = append(p, fmt.Sprintf("port %d, want %d", x.Port, VXLANPort))
	}
	if x.Learning {
		p = append(p, "learning on")
	}
	if mac != nil && x.HardwareAddr.String() != mac.String() {
		p = append(p, fmt.Sprintf("MAC %s, want %s", x.HardwareAddr, mac))
	}
	if x.Group != nil && !x.Group.IsUnspecified() {
		p = append(p, fmt.Sprintf("remote %s", x.Group))
	}
	return strings.Join(p, ", ")
}

func (s *vrfSync) sendLink() error {
	hs, v := s.r.hs, s.v
	l := s.o.links[sendLink]
	var why string
	if l == nil {
		why = "missing"
	} else if p := vxlanProblems(l, sendIndex, v.label, nil); p != "" {
		why = p
	}
	if why != "" {
		if l != nil {
			if err := delLink(v.ns.sock, sendLink); err != nil {
				return fmt.Errorf("delete %s: %w", sendLink, err)
			}
		}
		if err := s.r.d.addSendLink(hs, v); err != nil {
			return err
		}
		s.sendNew = true
		s.report("%s %s: recreated", sendLink, why)
		return nil
	}
	if p := linkProblems(l.Attrs(), v.id, 0); p != "" {
		if err := setLink(v.ns.sock, sendIndex, "", v.id, 0); err != nil {
			return fmt.Errorf("set %s: %w", sendLink, err)
		}
		s.report("%s %s: fixed", sendLink, p)
	}
	return nil
}

func (s *vrfSync) ports() error {
	hs, v, d := s.r.hs, s.v, s.r.d
	for _, p := range s.w.Ports {
		ps := &portState{iface: p.Interface, label: p.Label, addr: p.Addr.Unmap()}
		v.ports[ps.iface] = ps
		pl := s.o.links[portLink(p.Label)]
		why := ""
		switch {
		case pl == nil:
			why = "missing"
		case pl.Type() != "veth":
			why = fmt.Sprintf("%s is a %s link, not veth", portLink(p.Label), pl.Type())
		case pl.Attrs().Index != portIndex(p.Label):
			why = fmt.Sprintf("%s has index %d, want %d", portLink(p.Label), pl.Attrs().Index, portIndex(p.Label))
		}
		if why != "" {
			if pl != nil {
				if err := delLink(v.ns.sock, portLink(p.Label)); err != nil {
					return fmt.Errorf("port %s: %w", p.Interface, err)
				}
			}
			if err := delLink(v.ns.sock, recvLink(p.Label)); err != nil {
				return fmt.Errorf("port %s: %w", p.Interface, err)
			}
			if err := d.createPort(hs, v, ps); err != nil {
				return fmt.Errorf("port %s: %w", p.Interface, err)
			}
			s.report("port %s (label %d) %s: created", p.Interface, p.Label, why)
			continue
		}
		alias := v.alias(p.Interface)
		if pr := linkProblems(pl.Attrs(), alias, MTU); pr != "" {
			if err := setLink(v.ns.sock, portIndex(p.Label), "", alias, MTU); err != nil {
				return fmt.Errorf("port %s: %w", p.Interface, err)
			}
			s.report("port %s: %s %s: fixed", p.Interface, portLink(p.Label), pr)
		}
		xl := s.o.links[recvLink(p.Label)]
		why = "missing"
		if xl != nil {
			why = vxlanProblems(xl, recvIndex(p.Label), p.Label, LabelMAC(p.Label))
		}
		if why != "" {
			if xl != nil {
				if err := delLink(v.ns.sock, recvLink(p.Label)); err != nil {
					return fmt.Errorf("port %s: %w", p.Interface, err)
				}
			}
			if err := d.addRecvLink(hs, v, p.Label); err != nil {
				return fmt.Errorf("port %s: %w", p.Interface, err)
			}
			s.report("port %s: %s %s: recreated", p.Interface, recvLink(p.Label), why)
		} else if xl.Attrs().Flags&net.FlagUp == 0 {
			if err := linkUp(v.ns.sock, recvIndex(p.Label)); err != nil {
				return fmt.Errorf("port %s: %w", p.Interface, err)
			}
			s.report("port %s: %s down: fixed", p.Interface, recvLink(p.Label))
		}
		for _, f := range families {
			if slices.ContainsFunc(s.o.rules, func(r netlink.Rule) bool { return r.Family == f && isDeliveryRule(&r, p.Label) }) {
				continue
			}
			if err := addRule(v, p.Label, f); err != nil {
				return fmt.Errorf("port %s: %w", p.Interface, err)
			}
			v6 := ""
			if f == unix.AF_INET6 {
				v6 = "-6 "
			}
			s.report("port %s: rule %siif %s lookup %d missing: added", p.Interface, v6, recvLink(p.Label), portTable(p.Label))
		}
		if !s.o.gw6[portIndex(p.Label)] {
			if err := setPortGateway6(v, p.Label); err != nil {
				return fmt.Errorf("port %s: %w", p.Interface, err)
			}
			s.report("port %s: %s address %s missing: added", p.Interface, portLink(p.Label), PortGateway6)
		}
		if err := s.delivery(ps); err != nil {
			return fmt.Errorf("port %s: %w", p.Interface, err)
		}
	}
	return nil
}

func isDeliveryRule(r *netlink.Rule, label uint32) bool {
	return (r.Family == unix.AF_INET || r.Family == unix.AF_INET6) && r.Priority == rulePriority && r.IifName == recvLink(label) &&
		r.Table == portTable(label) && r.OifName == "" && r.Src == nil && r.Dst == nil && !r.Invert && r.Mark == 0
}

// delivery makes the port's table hold its default routes only (see
// setDelivery).
func (s *vrfSync) delivery(p *portState) error {
	var probs []string
	okVia, okDev := false, false
	for i := range s.o.routes {
		rt := &s.o.routes[i]
		if rt.Table != portTable(p.label) {
			continue
		}
		pfx, _ := routePrefix(rt)
		gw, _ := netip.AddrFromSlice(rt.Gw)
		mine := p.addr.IsValid() && pfx.Bits() == 0 && rt.LinkIndex == portIndex(p.label) && len(rt.MultiPath) == 0
		switch {
		case mine && !okVia && pfx.Addr().Is4() == p.addr.Is4() && gw.Unmap() == p.addr:
			okVia = true
			continue
		case mine && !okDev && pfx.Addr().Is4() != p.addr.Is4() && rt.Gw == nil:
			okDev = true
			continue
		}
		if err := s.v.ns.h.RouteDel(rt); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("table %d: delete %s: %w", portTable(p.label), pfx, err)
		}
		probs = append(probs, fmt.Sprintf("extra route %s via %s removed", pfx, rt.Gw))
	}
	if !(okVia && okDev) && p.addr.IsValid() {
		if err := setDelivery(s.v, p.label, p.addr); err != nil {
			return err
		}
		if !okVia {
			probs = append(probs, fmt.Sprintf("default via %s missing: added", p.addr))
		}
		if !okDev {
			probs = append(probs, fmt.Sprintf("default dev %s (other family) missing: added", portLink(p.label)))
		}
	}
	if len(probs) > 0 {
		s.report("port %s: table %d: %s", p.iface, portTable(p.label), strings.Join(probs, ", "))
	}
	return nil
}

func (s *vrfSync) extraLinks() error {
	want := map[string]bool{"lo": true, sendLink: true}
	for _, p := range s.w.Ports {
		want[portLink(p.Label)] = true
		want[recvLink(p.Label)] = true
	}
	names := make([]string, 0, len(s.o.links))
	for n := range s.o.links {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if want[n] {
			continue
		}
		if err := delLink(s.v.ns.sock, n); err != nil {
			return fmt.Errorf("delete link %s: %w", n, err)
		}
		s.report("extra link %s removed", n)
	}
	return nil
}

func isDefaultRule(r *netlink.Rule) bool {
	if r.IifName != "" || r.OifName != "" || r.Src != nil || r.Dst != nil || r.Mark != 0 || r.Invert {
		return false
	}
	switch r.Priority {
	case 0:
		return r.Table == unix.RT_TABLE_LOCAL
	case 32766:
		return r.Table == unix.RT_TABLE_MAIN
	case 32767:
		return r.Table == unix.RT_TABLE_DEFAULT && r.Family == unix.AF_INET
	}
	return false
}

func ruleString(r *netlink.Rule) string {
	f := []string{fmt.Sprintf("pref %d", r.Priority)}
	if r.Family == unix.AF_INET6 {
		f = append([]string{"-6"}, f...)
	}
	if r.Src != nil {
		f = append(f, "from "+r.Src.String())
	}
	if r.Dst != nil {
		f = append(f, "to "+r.Dst.String())
	}
	if r.IifName != "" {
		f = append(f, "iif "+r.IifName)
	}
	if r.OifName != "" {
		f = append(f, "oif "+r.OifName)
	}
	if r.Mark != 0 {
		f = append(f, fmt.Sprintf("fwmark %#x", r.Mark))
	}
	return strings.Join(append(f, fmt.Sprintf("lookup %d", r.Table)), " ")
}

func (s *vrfSync) rules() error {
	wanted := make(map[uint32]bool)
	for _, p := range s.w.Ports {
		wanted[p.Label] = true
	}
	for i := range s.o.rules {
		r := &s.o.rules[i]
		if isDefaultRule(r) {
			continue
		}
		if l, ok := parseLabelled(r.IifName, "x"); ok && wanted[l] && isDeliveryRule(r, l) {
			continue
		}
		if err := s.v.ns.h.RuleDel(r); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("delete rule %s: %w", ruleString(r), err)
		}
		s.report("extra rule %s removed", ruleString(r))
	}
	return nil
}

func (s *vrfSync) routes() error {
	v, d := s.v, s.r.d
	want := make(map[netip.Prefix]*kRoute)
	var prefixes []netip.Prefix
	remotes := make(map[uint32]netip.Addr)
	for r := range s.w.AllRoutes() {
		kr, err := d.kroute(v, &r)
		if err != nil {
			return fmt.Errorf("route %s: %w", r.Prefix, err)
		}
		if _, dup := want[kr.prefix]; !dup {
			prefixes = append(prefixes, kr.prefix)
		}
		want[kr.prefix] = kr
		for _, h := range kr.hops {
			if !h.local {
				remotes[h.label] = h.underlay
			}
		}
	}

	// Neighbour and FDB entries first.
	var obsNeigh, obsFDB []netlink.Neigh
	if !s.sendNew {
		obsNeigh, obsFDB = s.o.neighs, s.o.fdb
	}
	okNeigh := make(map[netip.Addr]bool) // by gateway: a label has one per family
	for _, n := range obsNeigh {
		a, _ := netip.AddrFromSlice(n.IP)
		if n.Family != unix.AF_INET6 {
			a = a.Unmap()
		}
		l, isGw := gatewayLabel(a)
		_, wanted := remotes[l]
		switch {
		case isGw && wanted && n.State&netlink.NUD_PERMANENT != 0 && n.HardwareAddr.String() == LabelMAC(l).String() && !okNeigh[a]:
			okNeigh[a] = true
		case n.State&netlink.NUD_PERMANENT != 0 || isGw:
			n.LinkIndex = sendIndex
			if err := v.ns.h.NeighDel(&n); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("delete neighbour %s: %w", n.IP, err)
			}
			if !isGw || !wanted {
				s.report("extra neighbour %s lladdr %s removed", n.IP, n.HardwareAddr)
			}
		}
	}
	okFDB := make(map[uint32]bool)
	badFDB := make(map[uint32]bool)
	for _, n := range obsFDB {
		l, isOurs := macLabel(n.HardwareAddr)
		ul, wanted := remotes[l]
		ip, _ := netip.AddrFromSlice(n.IP)
		if isOurs && wanted && ip.Unmap() == ul && n.VNI == int(l) && n.State&netlink.NUD_PERMANENT != 0 && !okFDB[l] {
			okFDB[l] = true
			continue
		}
		// Entries are deleted with their destination: without one the
		// kernel would look for an IPv6 one.
		del := &netlink.Neigh{LinkIndex: sendIndex, Family: unix.AF_BRIDGE, Flags: netlink.NTF_SELF, HardwareAddr: n.HardwareAddr, IP: n.IP, VNI: n.VNI}
		if err := v.ns.h.NeighDel(del); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("delete FDB entry %s dst %s: %w", n.HardwareAddr, n.IP, err)
		}
		if isOurs && wanted {
			badFDB[l] = true
			continue
		}
		s.report("extra FDB entry %s dst %s removed", n.HardwareAddr, n.IP)
	}
	labels := make([]uint32, 0, len(remotes))
	for l := range remotes {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	for _, l := range labels {
		if badFDB[l] {
			okFDB[l] = false // replaced by setRemote
		}
		if okNeigh[labelGateway(l)] && okNeigh[labelGateway6(l)] && okFDB[l] {
			v.remotes[l] = remotes[l]
			continue
		}
		if err := setRemote(v, l, remotes[l]); err != nil {
			return err
		}
		if !s.sendNew {
			var what []string
			for _, gw := range []netip.Addr{labelGateway(l), labelGateway6(l)} {
				if !okNeigh[gw] {
					what = append(what, "neighbour "+gw.String())
				}
			}
			if !okFDB[l] {
				if badFDB[l] {
					what = append(what, "FDB entry (wrong)")
				} else {
					what = append(what, "FDB entry")
				}
			}
			s.report("label %d: %s missing: added", l, strings.Join(what, " and "))
		}
	}

	// The main table, then the others.
	fdb := make(map[uint32]netip.Addr)
	for l, ul := range remotes {
		fdb[l] = ul
	}
	seen := make(map[netip.Prefix]bool)
	ports := make(map[int]bool)
	for _, p := range s.w.Ports {
		ports[portTable(p.Label)] = true
	}
	for i := range s.o.routes {
		rt := &s.o.routes[i]
		switch {
		case rt.Table == unix.RT_TABLE_LOCAL || ports[rt.Table]:
			continue
		case rt.Table != unix.RT_TABLE_MAIN:
			if err := v.ns.h.RouteDel(rt); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("delete route %s table %d: %w", rt.Dst, rt.Table, err)
			}
			s.report("extra route %s table %d removed", rt.Dst, rt.Table)
			continue
		case rt.Protocol == unix.RTPROT_KERNEL:
			continue
		case s.sendNew && (rt.LinkIndex == sendIndex || slices.ContainsFunc(rt.MultiPath, func(nh *netlink.NexthopInfo) bool { return nh.LinkIndex == sendIndex })):
			continue // went with the old nrx
		}
		pfx, ok := routePrefix(rt)
		kr := want[pfx]
		if !ok || kr == nil || seen[pfx] {
			if err := v.ns.h.RouteDel(rt); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("delete route %s: %w", pfx, err)
			}
			s.report("extra route %s removed", pfx)
			continue
		}
		seen[pfx] = true
		got, ok := parseRoute(rt, fdb)
		if ok && sameHops(got.hops, kr.hops) && rt.Protocol == routeProto {
			continue
		}
		if err := replaceRoute(v, kr); err != nil {
			return fmt.Errorf("route %s: %w", pfx, err)
		}
		if ok {
			s.report("route %s via %s, want %s: fixed", pfx, hopsString(got.hops), hopsString(kr.hops))
		} else {
			s.report("route %s is not the driver's, want via %s: fixed", pfx, hopsString(kr.hops))
		}
	}
	for _, p := range prefixes {
		kr := want[p]
		v.routes[p] = kr
		v.ref(kr)
		if seen[p] {
			continue
		}
		if err := replaceRoute(v, kr); err != nil {
			return fmt.Errorf("route %s: %w", p, err)
		}
		if !(s.sendNew && kr.tunnelled()) {
			s.report("route %s missing: added", p)
		}
	}
	return nil
}
