package linuxfwd

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/netready/netready/southbound/routing"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// VRFs.

// setVRF creates the VRF of spec on the host, or gives the existing one
// its new label. RDs and route targets have nothing to realize.
func (d *Driver) setVRF(hs *hostState, spec *routing.VRF) error {
	if err := checkLabel("VRF", spec.Label); err != nil {
		return err
	}
	v := hs.vrfs[spec.ID]
	if v != nil && v.label == spec.Label {
		return nil
	}
	if o := hs.byLabel[spec.Label]; o != nil && o != v {
		// A namespace with this label that holds another VRF, or none
		// the driver can tell: stale.
		if err := d.dropVRF(hs, o); err != nil {
			return fmt.Errorf("remove stale namespace %s: %w", o.ns.name, err)
		}
	}
	if v != nil {
		return d.relabelVRF(hs, v, spec.Label)
	}
	_, err := d.createVRF(hs, spec.ID, spec.Label)
	return err
}

// createVRF creates the namespace of a VRF with its loopback up and nrx.
func (d *Driver) createVRF(hs *hostState, id string, label uint32) (*vrfState, error) {
	r, err := createNS(VRFNamespace(d.prefix, hs.name, label), vrfSysctls)
	if err != nil {
		return nil, err
	}
	v := newVRFState(id, label, r)
	hs.add(v)
	if err := linkUp(r.sock, 1); err != nil {
		return v, fmt.Errorf("lo up: %w", err)
	}
	return v, d.addSendLink(hs, v)
}

func (d *Driver) addSendLink(hs *hostState, v *vrfState) error {
	err := addVXLAN(hs.ns.sock, sendLink, sendIndex, v.label, nil, v.ns.fd)
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.EBUSY) {
		if err := delLink(v.ns.sock, sendLink); err != nil {
			return fmt.Errorf("remove old %s: %w", sendLink, err)
		}
		err = addVXLAN(hs.ns.sock, sendLink, sendIndex, v.label, nil, v.ns.fd)
	}
	if err != nil {
		return fmt.Errorf("create %s (VNI %d): %w", sendLink, v.label, err)
	}
	if err := setLink(v.ns.sock, sendIndex, "", v.id, 0); err != nil {
		return fmt.Errorf("set %s: %w", sendLink, err)
	}
	return nil
}

// relabelVRF renames the VRF's namespace for its new label and recreates
// nrx, whose VNI is the label, with the routes and entries that went with
// it. The ports stay.
func (d *Driver) relabelVRF(hs *hostState, v *vrfState, label uint32) error {
	if err := d.relabelNS(hs, v, label); err != nil {
		return err
	}
	if err := delLink(v.ns.sock, sendLink); err != nil {
		return fmt.Errorf("remove %s: %w", sendLink, err)
	}
	return d.restoreSendLink(hs, v)
}

// restoreSendLink creates nrx and puts back the tunnelled routes and their
// entries, which go with it.
func (d *Driver) restoreSendLink(hs *hostState, v *vrfState) error {
	if err := d.addSendLink(hs, v); err != nil {
		return err
	}
	clear(v.remotes)
	for _, kr := range v.routes {
		if !kr.tunnelled() {
			continue
		}
		for _, h := range kr.hops {
			if !h.local && v.remotes[h.label] != h.underlay {
				if err := setRemote(v, h.label, h.underlay); err != nil {
					return err
				}
			}
		}
		if err := replaceRoute(v, kr); err != nil {
			return fmt.Errorf("route %s: %w", kr.prefix, err)
		}
	}
	return nil
}

// dropVRF deletes a VRF namespace.
func (d *Driver) dropVRF(hs *hostState, v *vrfState) error {
	d.doomVRF(hs, v)
	return d.flush()
}

// doomVRF deletes a VRF namespace at the next flush. Its links are deleted
// first, at once, so their VXLAN sockets and guest ends are gone when the
// flush returns rather than when the kernel gets round to destroying the
// namespace.
func (d *Driver) doomVRF(hs *hostState, v *vrfState) {
	hs.remove(v)
	delete(d.pending, v)
	d.doomed = append(d.doomed, v)
}

// Ports.

// setPort attaches the port spec to v, replacing a port with the same
// interface or label.
func (d *Driver) setPort(hs *hostState, v *vrfState, spec routing.Port) error {
	if err := checkLabel("port", spec.Label); err != nil {
		return err
	}
	old := v.ports[spec.Interface]
	if old != nil && old.label == spec.Label {
		if old.addr != spec.Addr {
			if err := setDelivery(v, old.label, spec.Addr); err != nil {
				return err
			}
			old.addr = spec.Addr
		}
		return nil
	}
	if old != nil {
		if err := d.dropPort(hs, v, old); err != nil {
			return err
		}
	}
	if w, p := hs.portByLabel(spec.Label); p != nil {
		if err := d.dropPort(hs, w, p); err != nil {
			return fmt.Errorf("remove port %s with the same label from VRF %s: %w", p.iface, w.id, err)
		}
	}
	p := &portState{iface: spec.Interface, label: spec.Label, addr: spec.Addr}
	v.ports[p.iface] = p
	return d.createPort(hs, v, p)
}

// createPort creates a port's veth pair, receive device, rule and
// delivery route.
func (d *Driver) createPort(hs *hostState, v *vrfState, p *portState) error {
	if err := d.addVeth(hs, v, p); err != nil {
		return err
	}
	if err := d.addRecvLink(hs, v, p.label); err != nil {
		return err
	}
	for _, f := range families {
		if err := addRule(v, p.label, f); err != nil {
			return err
		}
	}
	return setDelivery(v, p.label, p.addr)
}

func (d *Driver) addVeth(hs *hostState, v *vrfState, p *portState) error {
	pl, gl := portLink(p.label), GuestLink(d.prefix, p.label)
	err := addVeth(v.ns.sock, pl, portIndex(p.label), gl, hs.ns.fd)
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.EBUSY) {
		// Leftovers: an old p<label> here, or an old guest end.
		if err := delLink(v.ns.sock, pl); err != nil {
			return fmt.Errorf("remove old %s: %w", pl, err)
		}
		if err := delLink(hs.ns.sock, gl); err != nil {
			return fmt.Errorf("remove old %s: %w", gl, err)
		}
		err = addVeth(v.ns.sock, pl, portIndex(p.label), gl, hs.ns.fd)
	}
	if err != nil {
		return fmt.Errorf("create veth %s (guest end %s): %w", pl, gl, err)
	}
	alias := v.alias(p.iface)
	if err := setProxyDelay(v.ns.sock, portIndex(p.label)); err != nil {
		return fmt.Errorf("%s proxy_delay: %w", pl, err)
	}
	if err := setProbeTimers(v.ns.sock, portIndex(p.label)); err != nil {
		return fmt.Errorf("%s neighbour timers: %w", pl, err)
	}
	p.probed = true
	if err := setLink(v.ns.sock, portIndex(p.label), "", alias, 0); err != nil {
		return fmt.Errorf("set %s: %w", pl, err)
	}
	if err := setLink(hs.ns.sock, 0, gl, alias, 0); err != nil {
		return fmt.Errorf("set %s: %w", gl, err)
	}
	return setPortGateway6(v, p.label)
}

// setPortGateway6 gives the port's VRF end PortGateway6.
func setPortGateway6(v *vrfState, label uint32) error {
	a := &netlink.Addr{IPNet: &net.IPNet{IP: portGateway6().AsSlice(), Mask: net.CIDRMask(64, 128)}, Flags: unix.IFA_F_NODAD}
	l := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: portIndex(label)}}
	if err := v.ns.h.AddrReplace(l, a); err != nil {
		return fmt.Errorf("%s address %s: %w", portLink(label), PortGateway6, err)
	}
	return nil
}

func (d *Driver) addRecvLink(hs *hostState, v *vrfState, label uint32) error {
	xl := recvLink(label)
	err := addVXLAN(hs.ns.sock, xl, recvIndex(label), label, LabelMAC(label), v.ns.fd)
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.EBUSY) {
		// An old x<label> here or in another VRF holds the VNI.
		for _, w := range hs.byLabel {
			if err := delLink(w.ns.sock, xl); err != nil {
				return fmt.Errorf("remove old %s: %w", xl, err)
			}
		}
		err = addVXLAN(hs.ns.sock, xl, recvIndex(label), label, LabelMAC(label), v.ns.fd)
	}
	if err != nil {
		return fmt.Errorf("create %s (VNI %d): %w", xl, label, err)
	}
	return nil
}

// families are the address families a port delivers (a rule each).
var families = [...]int{unix.AF_INET, unix.AF_INET6}

func deliveryRule(label uint32, family int) *netlink.Rule {
	r := netlink.NewRule()
	r.Family = family
	r.IifName = recvLink(label)
	r.Table = portTable(label)
	r.Priority = rulePriority
	return r
}

func addRule(v *vrfState, label uint32, family int) error {
	err := v.ns.h.RuleAdd(deliveryRule(label, family))
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("rule iif %s (family %d): %w", recvLink(label), family, err)
	}
	return nil
}

func defaultPrefix(v6 bool) *net.IPNet {
	if v6 {
		return &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
	}
	return &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
}

// setDelivery sets the routes of the port's table: default via the
// port's address, and, for the other family, a default route on the
// port's link (the kernel asks the instance for each destination's
// link-layer address): a dual-stack binding's port carries the routing
// address of its first address only, and traffic of the other family
// must not fall through to the VRF's main table, which may send an
// anycast address's traffic on to another host. Without an address, the
// table is emptied.
func setDelivery(v *vrfState, label uint32, addr netip.Addr) error {
	addr = addr.Unmap()
	if !addr.IsValid() {
		for _, v6 := range []bool{false, true} {
			err := v.ns.h.RouteDel(&netlink.Route{Dst: defaultPrefix(v6), Table: portTable(label)})
			if err != nil && !errors.Is(err, unix.ESRCH) && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("table %d: %w", portTable(label), err)
			}
		}
		return nil
	}
	err := v.ns.h.RouteReplace(&netlink.Route{
		Dst: defaultPrefix(addr.Is6()), Gw: addr.AsSlice(), LinkIndex: portIndex(label),
		Flags: int(netlink.FLAG_ONLINK), Table: portTable(label), Protocol: routeProto,
	})
	if err != nil {
		return fmt.Errorf("table %d: default via %s dev %s: %w", portTable(label), addr, portLink(label), err)
	}
	err = v.ns.h.RouteReplace(&netlink.Route{
		Dst: defaultPrefix(!addr.Is6()), LinkIndex: portIndex(label), Scope: netlink.SCOPE_LINK,
		Table: portTable(label), Protocol: routeProto,
	})
	if err != nil {
		return fmt.Errorf("table %d: default dev %s: %w", portTable(label), portLink(label), err)
	}
	return nil
}

// dropPort deletes a port. Routes through it go with its link.
func (d *Driver) dropPort(hs *hostState, v *vrfState, p *portState) error {
	if err := d.doomPort(v, p); err != nil {
		return err
	}
	return d.flush()
}

// doomPort deletes a port at the next flush (the driver flushes before
// any change that is not a port delete, and at the end of Apply), so the
// ports deleted one after another in a VRF go in one batch.
func (d *Driver) doomPort(v *vrfState, p *portState) error {
	for _, l := range []string{portLink(p.label), recvLink(p.label)} {
		if err := setGroup(v.ns.sock, l, doomGroup); err != nil {
			return fmt.Errorf("delete %s: %w", l, err)
		}
	}
	d.pending[v] = true
	for _, f := range families {
		if err := v.ns.h.RuleDel(deliveryRule(p.label, f)); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("delete rule iif %s: %w", recvLink(p.label), err)
		}
	}
	delete(v.ports, p.iface)
	for pfx, kr := range v.routes {
		for _, h := range kr.hops {
			if h.local && h.label == p.label {
				// The kernel drops the route with the link.
				delete(v.routes, pfx)
				if err := v.unref(kr); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}

// flushWorkers bounds the deletions a flush runs at once. Deleting links
// waits for RCU (an rcu_barrier per request, outside the RTNL lock), and
// waits overlap: deletions in several namespaces at once take little more
// than one.
const flushWorkers = 16

// flush deletes the doomed links and VRF namespaces.
func (d *Driver) flush() error {
	var jobs []func() error
	for v := range d.pending {
		if v.ns.sock == nil {
			continue // closed meanwhile
		}
		jobs = append(jobs, func() error {
			if err := delGroup(v.ns.sock, doomGroup); err != nil {
				return fmt.Errorf("delete links of %s: %w", v.ns.name, err)
			}
			return nil
		})
	}
	clear(d.pending)
	for _, v := range d.doomed {
		jobs = append(jobs, func() error {
			for _, g := range []uint32{linkGroup, doomGroup} {
				if err := delGroup(v.ns.sock, g); err != nil {
					return fmt.Errorf("delete links of %s: %w", v.ns.name, err)
				}
			}
			if err := DeleteNamespace(v.ns.name); err != nil {
				return err
			}
			v.ns.close()
			return nil
		})
	}
	d.doomed = nil
	return runAll(jobs, flushWorkers)
}

// runAll runs jobs, at most n at once, and returns the first error.
func runAll(jobs []func() error, n int) error {
	if len(jobs) == 1 {
		return jobs[0]()
	}
	errs := make(chan error, len(jobs))
	sem := make(chan struct{}, n)
	for _, j := range jobs {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errs <- j()
		}()
	}
	var first error
	for range jobs {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Routes.

func (kr *kRoute) tunnelled() bool {
	for _, h := range kr.hops {
		if !h.local {
			return true
		}
	}
	return false
}

// setRoute installs kr in v with the entries its tunnelled hops need, and
// removes the entries no route needs any more.
func (d *Driver) setRoute(v *vrfState, kr *kRoute) error {
	for _, h := range kr.hops {
		if h.local {
			continue
		}
		if ul, ok := v.remotes[h.label]; !ok || ul != h.underlay {
			if err := setRemote(v, h.label, h.underlay); err != nil {
				return err
			}
		}
	}
	if err := replaceRoute(v, kr); err != nil {
		return err
	}
	old := v.routes[kr.prefix]
	v.routes[kr.prefix] = kr
	v.ref(kr)
	if old != nil {
		return v.unref(old)
	}
	return nil
}

func (d *Driver) dropRoute(v *vrfState, p netip.Prefix) error {
	p = p.Masked()
	if err := delRoute(v, p); err != nil {
		return err
	}
	if old := v.routes[p]; old != nil {
		delete(v.routes, p)
		return v.unref(old)
	}
	return nil
}

func (v *vrfState) ref(kr *kRoute) {
	for _, h := range kr.hops {
		if !h.local {
			v.refs[h.label]++
		}
	}
}

// unref releases the tunnelled hops of a route that is gone, deleting the
// entries no other route uses.
func (v *vrfState) unref(kr *kRoute) error {
	for _, h := range kr.hops {
		if h.local {
			continue
		}
		v.refs[h.label]--
		if v.refs[h.label] > 0 {
			continue
		}
		delete(v.refs, h.label)
		if _, ok := v.remotes[h.label]; ok {
			if err := dropRemote(v, h.label); err != nil {
				return err
			}
		}
	}
	return nil
}

func netRoute(kr *kRoute) *netlink.Route {
	r := &netlink.Route{
		Dst:      &net.IPNet{IP: kr.prefix.Addr().AsSlice(), Mask: net.CIDRMask(kr.prefix.Bits(), kr.prefix.Addr().BitLen())},
		Table:    unix.RT_TABLE_MAIN,
		Protocol: routeProto,
	}
	nh := func(h kHop) (int, net.IP) {
		if h.local {
			return portIndex(h.label), h.addr.AsSlice()
		}
		return sendIndex, labelGatewayFor(kr.prefix, h.label).AsSlice()
	}
	if len(kr.hops) == 1 {
		r.LinkIndex, r.Gw = nh(kr.hops[0])
		r.Flags = int(netlink.FLAG_ONLINK)
		return r
	}
	for _, h := range kr.hops {
		i, gw := nh(h)
		r.MultiPath = append(r.MultiPath, &netlink.NexthopInfo{LinkIndex: i, Gw: gw, Flags: int(netlink.FLAG_ONLINK)})
	}
	return r
}

func replaceRoute(v *vrfState, kr *kRoute) error {
	if err := v.ns.h.RouteReplace(netRoute(kr)); err != nil {
		return fmt.Errorf("via %s: %w", hopsString(kr.hops), err)
	}
	return nil
}

func delRoute(v *vrfState, p netip.Prefix) error {
	err := v.ns.h.RouteDel(&netlink.Route{
		Dst:   &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())},
		Table: unix.RT_TABLE_MAIN,
	})
	if err != nil && !errors.Is(err, unix.ESRCH) && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}

// setRemote installs the neighbour and FDB entries on nrx that take
// traffic for a label to underlay.
func setRemote(v *vrfState, label uint32, underlay netip.Addr) error {
	for _, n := range remoteNeighs(label) {
		if err := v.ns.h.NeighSet(n); err != nil {
			return fmt.Errorf("neighbour %s for label %d: %w", n.IP, label, err)
		}
	}
	if err := v.ns.h.NeighSet(remoteFDB(label, underlay)); err != nil {
		return fmt.Errorf("FDB entry %s dst %s vni %d: %w", LabelMAC(label), underlay, label, err)
	}
	v.remotes[label] = underlay
	return nil
}

func dropRemote(v *vrfState, label uint32) error {
	for _, n := range remoteNeighs(label) {
		if err := v.ns.h.NeighDel(n); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("delete neighbour %s: %w", n.IP, err)
		}
	}
	// Without a destination the kernel would look for an IPv6 one.
	f := remoteFDB(label, v.remotes[label])
	if err := v.ns.h.NeighDel(f); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete FDB entry %s: %w", LabelMAC(label), err)
	}
	delete(v.remotes, label)
	return nil
}

// remoteNeighs are the permanent neighbour entries of a label on nrx,
// one per family (labelGateway, labelGateway6), both LabelMAC(label):
// every remote serves IPv4 and IPv6 routes alike.
func remoteNeighs(label uint32) []*netlink.Neigh {
	out := make([]*netlink.Neigh, 0, 2)
	for _, gw := range []netip.Addr{labelGateway(label), labelGateway6(label)} {
		f := unix.AF_INET
		if gw.Is6() {
			f = unix.AF_INET6
		}
		out = append(out, &netlink.Neigh{
			LinkIndex: sendIndex, Family: f, State: netlink.NUD_PERMANENT,
			IP: gw.AsSlice(), HardwareAddr: LabelMAC(label),
		})
	}
	return out
}

func remoteFDB(label uint32, underlay netip.Addr) *netlink.Neigh {
	n := &netlink.Neigh{
		LinkIndex: sendIndex, Family: unix.AF_BRIDGE, State: netlink.NUD_PERMANENT, Flags: netlink.NTF_SELF,
		HardwareAddr: LabelMAC(label), VNI: int(label),
	}
	if underlay.IsValid() {
		n.IP = underlay.AsSlice()
	}
	return n
}

// Reading the kernel.

// observed is the content of a VRF namespace.
type observed struct {
	links  map[string]netlink.Link
	rules  []netlink.Rule
	routes []netlink.Route // every table, both families
	neighs []netlink.Neigh // on nrx, IPv4 and IPv6
	fdb    []netlink.Neigh // on nrx
	gw6    map[int]bool    // links holding PortGateway6
}

func observe(r *nsRef) (*observed, error) {
	o := &observed{links: make(map[string]netlink.Link)}
	links, err := r.h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("links: %w", err)
	}
	for _, l := range links {
		o.links[l.Attrs().Name] = l
	}
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		rules, err := r.h.RuleList(fam)
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		o.rules = append(o.rules, rules...)
	}
	addrs, err := r.h.AddrList(nil, unix.AF_INET6)
	if err != nil {
		return nil, fmt.Errorf("addresses: %w", err)
	}
	o.gw6 = make(map[int]bool)
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip == portGateway6() {
			o.gw6[a.LinkIndex] = true
		}
	}
	o.routes, err = r.h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("routes: %w", err)
	}
	if l := o.links[sendLink]; l != nil {
		idx := l.Attrs().Index
		for _, f := range families {
			ns, err := r.h.NeighList(idx, f)
			if err != nil {
				return nil, fmt.Errorf("neighbours: %w", err)
			}
			o.neighs = append(o.neighs, ns...)
		}
		fdb, err := r.h.NeighList(idx, unix.AF_BRIDGE)
		if err != nil {
			return nil, fmt.Errorf("FDB: %w", err)
		}
		for _, n := range fdb {
			if n.LinkIndex == idx {
				o.fdb = append(o.fdb, n)
			}
		}
	}
	return o, nil
}

// sendID returns the VRF ID nrx names, or "".
func (o *observed) sendID() string {
	if l, ok := o.links[sendLink].(*netlink.Vxlan); ok {
		return l.Alias
	}
	return ""
}

// fdbMap returns the label → underlay entries of the FDB.
func (o *observed) fdbMap() map[uint32]netip.Addr {
	m := make(map[uint32]netip.Addr)
	for _, n := range o.fdb {
		l, ok := macLabel(n.HardwareAddr)
		ip, ok2 := netip.AddrFromSlice(n.IP)
		if ok && ok2 && n.VNI == int(l) {
			m[l] = ip.Unmap()
		}
	}
	return m
}

// macLabel is the inverse of LabelMAC.
func macLabel(mac net.HardwareAddr) (uint32, bool) {
	if len(mac) != 6 || mac[0] != 0x02 || mac[1] != 0x4e || mac[2] != 0x52 {
		return 0, false
	}
	return uint32(mac[3])<<16 | uint32(mac[4])<<8 | uint32(mac[5]), true
}

// routePrefix returns the prefix of a kernel route.
func routePrefix(rt *netlink.Route) (netip.Prefix, bool) {
	if rt.Dst == nil {
		if rt.Family == unix.AF_INET6 {
			return netip.PrefixFrom(netip.IPv6Unspecified(), 0), true
		}
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0), true
	}
	a, ok := netip.AddrFromSlice(rt.Dst.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	if rt.Family != unix.AF_INET6 {
		a = a.Unmap()
	}
	ones, _ := rt.Dst.Mask.Size()
	return netip.PrefixFrom(a, ones), true
}

// parseRoute reads a main-table route as the driver writes them; false
// when it is not one.
func parseRoute(rt *netlink.Route, fdb map[uint32]netip.Addr) (*kRoute, bool) {
	p, ok := routePrefix(rt)
	if !ok {
		return nil, false
	}
	kr := &kRoute{prefix: p}
	hop := func(index int, gw net.IP) bool {
		a, ok := netip.AddrFromSlice(gw)
		if !ok {
			return false
		}
		a = a.Unmap()
		if index == sendIndex {
			l, ok := gatewayLabel(a)
			if !ok {
				return false
			}
			kr.hops = append(kr.hops, kHop{label: l, underlay: fdb[l]})
			return true
		}
		if index < 2*16 || index%2 != 0 {
			return false
		}
		kr.hops = append(kr.hops, kHop{local: true, label: uint32(index / 2), addr: a})
		return true
	}
	if len(rt.MultiPath) > 0 {
		for _, nh := range rt.MultiPath {
			if !hop(nh.LinkIndex, nh.Gw) {
				return nil, false
			}
		}
	} else if !hop(rt.LinkIndex, rt.Gw) {
		return nil, false
	}
	slices.SortFunc(kr.hops, compareHop)
	return kr, true
}

// portOf reads a port from its p<label> link: the interface from the
// alias "tenant/vpn/interface".
func portOf(l netlink.Link) (iface string, ok bool) {
	parts := strings.Split(l.Attrs().Alias, "/")
	if len(parts) != 3 || parts[2] == "" {
		return "", false
	}
	return parts[2], true
}

// state builds what the driver knows of a VRF namespace from what it
// holds.
func (o *observed) state(label uint32, r *nsRef) *vrfState {
	v := newVRFState(o.sendID(), label, r)
	for name, l := range o.links {
		pl, ok := parseLabelled(name, "p")
		if !ok || l.Type() != "veth" {
			continue
		}
		iface, ok := portOf(l)
		if !ok {
			continue
		}
		v.ports[iface] = &portState{iface: iface, label: pl}
	}
	fdb := o.fdbMap()
	for i := range o.routes {
		rt := &o.routes[i]
		if rt.Table == unix.RT_TABLE_MAIN {
			if rt.Protocol != routeProto {
				continue
			}
			if kr, ok := parseRoute(rt, fdb); ok {
				v.routes[kr.prefix] = kr
				v.ref(kr)
			}
			continue
		}
		if pfx, ok := routePrefix(rt); ok && rt.Table > tableBase && pfx.Bits() == 0 {
			if p := v.portByLabel(uint32(rt.Table - tableBase)); p != nil {
				if a, ok := netip.AddrFromSlice(rt.Gw); ok {
					p.addr = a.Unmap()
				}
			}
		}
	}
	for _, n := range o.neighs {
		l, ok := macLabel(n.HardwareAddr)
		if !ok || n.State&netlink.NUD_PERMANENT == 0 {
			continue
		}
		if ul, ok := fdb[l]; ok {
			v.remotes[l] = ul
		}
	}
	return v
}
