package ebpffwd

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/netready/netready/southbound/routing"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// host is one host namespace with the driver's objects in it, and what
// the driver knows it holds.
type host struct {
	name   string
	prefix string
	ns     netns.NsHandle
	nl     *netlink.Handle
	objs   *fwdObjects
	tunnel int // ifindex of the tunnel device; 0 when there is none
	stale  bool
	// repaired is what opening the host corrected (the tunnel device),
	// for the next Reconcile to report.
	repaired []string
	checked  uint64 // the driver's epoch when the namespace was last checked

	// Work batched until the next flush: vNICs created and not yet
	// attached (host-end ifindexes), vNICs to delete (their numbers, not
	// to be reused until then).
	unattached []int
	doomed     map[int]bool

	vrfs    map[string]uint32 // VRF ID → label
	ports   map[portID]*port
	byLabel map[uint32]*port
	vnics   map[string]*vnic // by VNICKey
}

type portID struct{ vrf, iface string }

// port is a bound interface: its label, on which vNIC and VLAN.
type port struct {
	id    portID
	label uint32
	vnic  *vnic
	vlan  uint16
}

// vnic is a veth pair: n names its ends, users counts its ports.
type vnic struct {
	key      string // VNICKey
	n        int
	ifindex  int
	hostMAC  net.HardwareAddr
	guestMAC net.HardwareAddr
	users    int
}

// openHost opens a host's namespace, loads the programs with the host's
// pinned maps and makes sure of the tunnel device, then reads what the
// maps and devices hold.
func openHost(prefix, bpffs, name string) (*host, error) {
	nsName := HostNamespace(prefix, name)
	ns, err := netns.GetFromName(nsName)
	if errors.Is(err, os.ErrNotExist) {
		return nil, missingNS(nsName)
	}
	if err != nil {
		return nil, fmt.Errorf("namespace %s: %w", nsName, err)
	}
	h := &host{name: name, prefix: prefix, ns: ns}
	if h.nl, err = netlink.NewHandleAt(ns, unix.NETLINK_ROUTE); err != nil {
		h.close()
		return nil, fmt.Errorf("netlink in %s: %w", nsName, err)
	}
	if err := ensureBPFFS(bpffs); err != nil {
		h.close()
		return nil, err
	}
	if h.objs, err = loadObjects(PinDir(bpffs, prefix, name)); err != nil {
		h.close()
		return nil, err
	}
	if err := h.load(); err != nil {
		h.close()
		return nil, err
	}
	if len(h.vrfs) > 0 {
		if h.repaired, err = h.ensureTunnel(); err != nil {
			h.close()
			return nil, err
		}
	}
	return h, nil
}

// sameNamespace reports whether the host's namespace is still the one
// the driver has open.
func (h *host) sameNamespace() (bool, error) {
	cur, err := netns.GetFromName(HostNamespace(h.prefix, h.name))
	if errors.Is(err, os.ErrNotExist) {
		return false, missingNS(HostNamespace(h.prefix, h.name))
	}
	if err != nil {
		return false, err
	}
	defer cur.Close()
	return cur.Equal(h.ns), nil
}

// dropTunnelIfIdle deletes the tunnel device of a host without VRFs: its
// UDP socket would keep another backend's VXLAN devices from the port
// when the host moves to it.
func (h *host) dropTunnelIfIdle() {
	if len(h.vrfs) == 0 && len(h.ports) == 0 && h.tunnel != 0 {
		h.dropTunnel() // best effort: Reconcile does it again
	}
}

func (h *host) dropTunnel() error {
	l, err := h.nl.LinkByName(TunnelLink(h.prefix))
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		h.tunnel = 0
		return nil
	}
	if err != nil {
		return err
	}
	if err := h.nl.LinkDel(l); err != nil {
		return fmt.Errorf("delete %s: %w", TunnelLink(h.prefix), err)
	}
	h.tunnel = 0
	return nil
}

func (h *host) close() {
	if h.objs != nil {
		h.objs.Close()
	}
	if h.nl != nil {
		h.nl.Close()
	}
	h.ns.Close()
}

// ensureTunnel makes sure of the tunnel device, its program and its entry
// in the settings map, and says what it had to fix.
func (h *host) ensureTunnel() ([]string, error) {
	var fixed []string
	name := TunnelLink(h.prefix)
	idx, made, err := ensureTunnel(h.nl, name)
	if err != nil {
		return nil, err
	}
	if made {
		fixed = append(fixed, "tunnel device "+name+" missing or not up")
	}
	added, err := attach(h.ns, idx, h.objs.FromTunnel)
	if err != nil {
		return nil, fmt.Errorf("attach from_tunnel to %s: %w", name, err)
	}
	if added && !made {
		fixed = append(fixed, "program from_tunnel not attached to "+name)
	}
	var s fwdSettings
	zero := uint32(0)
	if err := h.objs.Settings.Lookup(zero, &s); err != nil || s.TunnelIfindex != uint32(idx) {
		if !made {
			fixed = append(fixed, "settings map: tunnel device index wrong")
		}
		s.TunnelIfindex = uint32(idx)
		if err := h.objs.Settings.Put(zero, s); err != nil {
			return nil, fmt.Errorf("settings map: %w", err)
		}
	}
	h.tunnel = idx
	return fixed, nil
}

// load reads the vNICs from the devices and the VRFs and ports from the
// maps. Entries that do not fit together are left out (Reconcile
// removes them).
func (h *host) load() error {
	h.vrfs = make(map[string]uint32)
	h.ports = make(map[portID]*port)
	h.byLabel = make(map[uint32]*port)
	h.vnics = make(map[string]*vnic)
	byIndex, err := h.readVNICs()
	if err != nil {
		return err
	}
	for _, v := range byIndex {
		h.vnics[v.key] = v
	}
	names, err := readNames(h.objs.Names)
	if err != nil {
		return err
	}
	vrfByLabel := make(map[uint32]string)
	for l, n := range names {
		if n.kind == nameVRF {
			h.vrfs[n.name] = l
			vrfByLabel[l] = n.name
		}
	}
	var k uint32
	var pv fwdPort
	it := h.objs.Ports.Iterate()
	for it.Next(&k, &pv) {
		n, ok := names[k]
		v := byIndex[int(pv.Ifindex)]
		if !ok || n.kind != namePort || vrfByLabel[n.vrf] == "" || v == nil {
			continue
		}
		p := &port{id: portID{vrfByLabel[n.vrf], n.name}, label: k, vnic: v, vlan: uint16(pv.Vlan)}
		h.ports[p.id] = p
		h.byLabel[k] = p
		v.users++
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("ports map: %w", err)
	}
	return nil
}

// readVNICs returns the vNICs whose host ends are in the namespace, by
// the host end's ifindex.
func (h *host) readVNICs() (map[int]*vnic, error) {
	links, err := h.nl.LinkList()
	if err != nil {
		return nil, fmt.Errorf("links: %w", err)
	}
	out := make(map[int]*vnic)
	for _, l := range links {
		a := l.Attrs()
		n, ok := parseIndexed(a.Name, h.prefix+"e")
		key, ok2 := strings.CutPrefix(a.Alias, hostAliasPrefix)
		if !ok || !ok2 || l.Type() != "veth" {
			continue
		}
		v := &vnic{key: key, n: n, ifindex: a.Index, hostMAC: a.HardwareAddr}
		v.guestMAC = h.peerMAC(l)
		out[a.Index] = v
	}
	return out, nil
}

// peerMAC returns the MAC of a veth's other end: from the ports map when
// the guest end has left the namespace, else from the device.
func (h *host) peerMAC(l netlink.Link) net.HardwareAddr {
	if g, err := h.nl.LinkByName(h.prefix + "n" + strings.TrimPrefix(l.Attrs().Name, h.prefix+"e")); err == nil {
		return g.Attrs().HardwareAddr
	}
	var k uint32
	var pv fwdPort
	it := h.objs.Ports.Iterate()
	for it.Next(&k, &pv) {
		if int(pv.Ifindex) == l.Attrs().Index {
			return net.HardwareAddr(pv.GuestMac[:])
		}
	}
	return nil
}

type nameEntry struct {
	kind, vrf uint32
	name      string
}

func readNames(m *ebpf.Map) (map[uint32]nameEntry, error) {
	out := make(map[uint32]nameEntry)
	var k uint32
	var v fwdName
	it := m.Iterate()
	for it.Next(&k, &v) {
		s := v.Name[:]
		if i := bytes.IndexByte(s, 0); i >= 0 {
			s = s[:i]
		}
		out[k] = nameEntry{kind: v.Kind, vrf: v.Vrf, name: string(s)}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("names map: %w", err)
	}
	return out, nil
}

func nameValue(kind, vrf uint32, name string) (fwdName, error) {
	v := fwdName{Kind: kind, Vrf: vrf}
	if len(name) >= len(v.Name) {
		return v, fmt.Errorf("name %q is longer than %s keeps (%d bytes)", name, Kind, len(v.Name)-1)
	}
	copy(v.Name[:], name)
	return v, nil
}

// apply applies one change.
func (h *host) apply(c routing.Change) error {
	switch c.Kind {
	case routing.KindVRF:
		if c.Op == routing.Delete {
			return h.dropVRF(c.VRF)
		}
		if c.Spec == nil {
			return errors.New("change without VRF spec")
		}
		return h.setVRF(c.Spec.ID, c.Spec.Label)
	case routing.KindPort:
		if c.Op == routing.Delete {
			if p := h.ports[portID{c.VRF, c.Port}]; p != nil {
				return h.dropPort(p)
			}
			return nil
		}
		if c.PortSpec == nil {
			return errors.New("change without port spec")
		}
		return h.setPort(c.VRF, *c.PortSpec)
	case routing.KindRoute:
		vrf, ok := h.vrfs[c.VRF]
		if c.Op == routing.Delete {
			if !ok {
				return nil
			}
			return deleteIgnoringMissing(h.objs.Routes, routeKey(vrf, c.Prefix))
		}
		if c.Route == nil {
			return errors.New("change without route")
		}
		if !ok {
			return errors.New("VRF not found on host")
		}
		v, err := h.routeValue(c.Route)
		if err != nil {
			return err
		}
		return h.objs.Routes.Put(routeKey(vrf, c.Route.Prefix), v)
	}
	return fmt.Errorf("unknown change kind %v", c.Kind)
}

func deleteIgnoringMissing(m *ebpf.Map, k any) error {
	if err := m.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return err
	}
	return nil
}

// setVRF records the VRF, or moves it to its new label with its routes
// and ports.
func (h *host) setVRF(id string, label uint32) error {
	if err := checkLabel("VRF", label); err != nil {
		return err
	}
	nv, err := nameValue(nameVRF, 0, id)
	if err != nil {
		return err
	}
	old, had := h.vrfs[id]
	if had && old == label {
		return nil
	}
	if h.tunnel == 0 {
		if _, err := h.ensureTunnel(); err != nil {
			return err
		}
	}
	if err := h.objs.Names.Put(label, nv); err != nil {
		return fmt.Errorf("names map: %w", err)
	}
	h.vrfs[id] = label
	if !had {
		return nil
	}
	if err := h.moveRoutes(old, label); err != nil {
		return err
	}
	for _, p := range h.ports {
		if p.id.vrf == id {
			if err := h.writePort(p); err != nil {
				return err
			}
		}
	}
	return deleteIgnoringMissing(h.objs.Names, old)
}

// vrfRoutes returns the keys of every route of the VRF with label vrf.
func (h *host) vrfRoutes(vrf uint32) ([]fwdRouteKey, error) {
	var keys []fwdRouteKey
	var k fwdRouteKey
	var v fwdRoute
	it := h.objs.Routes.Iterate()
	for it.Next(&k, &v) {
		if k.Vrf == vrf {
			keys = append(keys, k)
		}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("routes map: %w", err)
	}
	return keys, nil
}

func (h *host) moveRoutes(from, to uint32) error {
	keys, err := h.vrfRoutes(from)
	if err != nil {
		return err
	}
	for _, k := range keys {
		var v fwdRoute
		if err := h.objs.Routes.Lookup(k, &v); err != nil {
			return fmt.Errorf("routes map: %w", err)
		}
		nk := k
		nk.Vrf = to
		if err := h.objs.Routes.Put(nk, v); err != nil {
			return fmt.Errorf("routes map: %w", err)
		}
		if err := deleteIgnoringMissing(h.objs.Routes, k); err != nil {
			return fmt.Errorf("routes map: %w", err)
		}
	}
	return nil
}

// dropVRF deletes a VRF with its ports and routes.
func (h *host) dropVRF(id string) error {
	label, ok := h.vrfs[id]
	if !ok {
		return nil
	}
	for _, p := range h.ports {
		if p.id.vrf == id {
			if err := h.dropPort(p); err != nil {
				return err
			}
		}
	}
	keys, err := h.vrfRoutes(label)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := deleteIgnoringMissing(h.objs.Routes, k); err != nil {
			return fmt.Errorf("routes map: %w", err)
		}
	}
	delete(h.vrfs, id)
	return deleteIgnoringMissing(h.objs.Names, label)
}

// setPort binds the port spec in VRF vrf: its vNIC (created with its
// first port), its VLAN and its label.
func (h *host) setPort(vrf string, spec routing.Port) error {
	if err := checkLabel("port", spec.Label); err != nil {
		return err
	}
	if spec.VLAN > 4094 {
		return fmt.Errorf("VLAN %d out of range 1-4094", spec.VLAN)
	}
	if _, ok := h.vrfs[vrf]; !ok {
		return errors.New("VRF not found on host")
	}
	tenant, vpn := tenantVPN(vrf)
	key := VNICKey(tenant, spec)
	id := portID{vrf, spec.Interface}
	if p := h.ports[id]; p != nil {
		if p.label == spec.Label && p.vnic.key == key && p.vlan == spec.VLAN {
			return nil // the address is not the data plane's business: delivery is by MAC
		}
		if err := h.dropPort(p); err != nil {
			return err
		}
	}
	// What else holds the label or the (vNIC, VLAN) is stale: the spec wins.
	for _, o := range h.ports {
		if o.label == spec.Label || o.vnic.key == key && o.vlan == spec.VLAN {
			if err := h.dropPort(o); err != nil {
				return err
			}
		}
	}
	v, err := h.useVNIC(key, GuestAlias(tenant, vpn, spec))
	if err != nil {
		return err
	}
	p := &port{id: id, label: spec.Label, vnic: v, vlan: spec.VLAN}
	h.ports[id] = p
	h.byLabel[p.label] = p
	if err := h.writePort(p); err != nil {
		return err
	}
	// A new port starts from zero; an existing entry (the driver
	// restarted) keeps counting.
	zero := make([]fwdCounters, ebpf.MustPossibleCPU())
	if err := h.objs.Counters.Update(p.label, zero, ebpf.UpdateNoExist); err != nil && !errors.Is(err, ebpf.ErrKeyExist) {
		return fmt.Errorf("counters map: %w", err)
	}
	return nil
}

// portValue is the ports map entry of p.
func (h *host) portValue(p *port) fwdPort {
	v := fwdPort{Vrf: h.vrfs[p.id.vrf], Ifindex: uint32(p.vnic.ifindex), Vlan: uint32(p.vlan)}
	copy(v.HostMac[:], p.vnic.hostMAC)
	copy(v.GuestMac[:], p.vnic.guestMAC)
	return v
}

// writePort writes p's entries in the names, ports and bindings maps.
func (h *host) writePort(p *port) error {
	nv, err := nameValue(namePort, h.vrfs[p.id.vrf], p.id.iface)
	if err != nil {
		return err
	}
	if err := h.objs.Names.Put(p.label, nv); err != nil {
		return fmt.Errorf("names map: %w", err)
	}
	if err := h.objs.Ports.Put(p.label, h.portValue(p)); err != nil {
		return fmt.Errorf("ports map: %w", err)
	}
	if err := h.objs.Bindings.Put(fwdVnicKey{Ifindex: uint32(p.vnic.ifindex), Vlan: uint32(p.vlan)}, p.label); err != nil {
		return fmt.Errorf("bindings map: %w", err)
	}
	return nil
}

// dropPort deletes a port's entries, and its vNIC with its last port.
func (h *host) dropPort(p *port) error {
	bk := fwdVnicKey{Ifindex: uint32(p.vnic.ifindex), Vlan: uint32(p.vlan)}
	var cur uint32
	if err := h.objs.Bindings.Lookup(bk, &cur); err == nil && cur == p.label {
		if err := deleteIgnoringMissing(h.objs.Bindings, bk); err != nil {
			return fmt.Errorf("bindings map: %w", err)
		}
	}
	for _, m := range []*ebpf.Map{h.objs.Ports, h.objs.Counters, h.objs.Names} {
		if err := deleteIgnoringMissing(m, p.label); err != nil {
			return fmt.Errorf("%s map: %w", mapName(m), err)
		}
	}
	delete(h.ports, p.id)
	if h.byLabel[p.label] == p {
		delete(h.byLabel, p.label)
	}
	p.vnic.users--
	if p.vnic.users > 0 {
		return nil
	}
	delete(h.vnics, p.vnic.key)
	return h.deleteVNIC(p.vnic)
}

func mapName(m *ebpf.Map) string {
	if info, err := m.Info(); err == nil {
		return info.Name
	}
	return "a"
}

// deleteVNIC deletes a vNIC's veth pair (wherever its guest end is) at
// the next flush: its host end joins doomGroup.
func (h *host) deleteVNIC(v *vnic) error {
	err := h.nl.LinkSetGroup(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Index: v.ifindex}}, doomGroup)
	var nf netlink.LinkNotFoundError
	if err != nil && !errors.As(err, &nf) && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("delete %s: %w", HostLink(h.prefix, v.n), err)
	}
	if h.doomed == nil {
		h.doomed = make(map[int]bool)
	}
	h.doomed[v.n] = true
	return nil
}

// flush attaches the programs of new vNICs and deletes the doomed ones.
func (h *host) flush() error {
	if len(h.unattached) > 0 {
		if err := attachNew(h.ns, h.unattached, h.objs.FromVnic); err != nil {
			return fmt.Errorf("attach from_vnic: %w", err)
		}
		h.unattached = nil
	}
	if len(h.doomed) > 0 {
		if err := deleteGroup(h.ns, doomGroup); err != nil {
			return fmt.Errorf("delete vNICs: %w", err)
		}
		clear(h.doomed)
	}
	return nil
}

// useVNIC returns the vNIC with the key, creating its veth pair (its
// guest end named guestAlias) when it is the first port's.
func (h *host) useVNIC(key, guestAlias string) (*vnic, error) {
	if v := h.vnics[key]; v != nil {
		v.users++
		return v, nil
	}
	used := make(map[int]bool, len(h.vnics)+len(h.doomed))
	for n := range h.doomed {
		used[n] = true
	}
	for _, v := range h.vnics {
		used[v.n] = true
	}
	n := 0
	for used[n] {
		n++
	}
	v, err := h.createVNIC(key, guestAlias, n)
	if err != nil {
		return nil, err
	}
	v.users = 1
	h.vnics[key] = v
	return v, nil
}

// createVNIC creates vNIC n; its program is attached at the next flush.
func (h *host) createVNIC(key, guestAlias string, n int) (*vnic, error) {
	hostMAC, err := randomMAC()
	if err != nil {
		return nil, err
	}
	guestMAC, err := randomMAC()
	if err != nil {
		return nil, err
	}
	idx, err := addVeth(h.nl, HostLink(h.prefix, n), GuestLink(h.prefix, n), hostAliasPrefix+key, guestAlias, hostMAC, guestMAC)
	if err != nil {
		return nil, err
	}
	h.unattached = append(h.unattached, idx)
	return &vnic{key: key, n: n, ifindex: idx, hostMAC: hostMAC, guestMAC: guestMAC}, nil
}

// routeKey is the routes map key of prefix p in the VRF with label vrf.
func routeKey(vrf uint32, p netip.Prefix) fwdRouteKey {
	p = p.Masked()
	return fwdRouteKey{Prefixlen: 32 + uint32(p.Bits()), Vrf: vrf, Addr: be32(p.Addr())}
}

// routeValue translates a computed route: its active hops, each a label
// delivered on this host (the port of a local or leaked hop) or
// tunnelled to the underlay of the hop's host.
func (h *host) routeValue(r *routing.Route) (fwdRoute, error) {
	var v fwdRoute
	if !r.Prefix.Addr().Is4() {
		return v, fmt.Errorf("%s realizes IPv4 routes only", Kind)
	}
	type hop struct{ label, underlay uint32 }
	var hops []hop
	for _, hp := range r.Active() {
		if err := checkLabel("hop "+hp.Interface+"@"+hp.Host, hp.Label); err != nil {
			return v, err
		}
		switch hp.Kind {
		case routing.HopLocal, routing.HopPort:
			if !h.hasLabel(hp.Label) {
				return v, fmt.Errorf("next hop %s: no port with label %d on this host", hp.Interface, hp.Label)
			}
			hops = append(hops, hop{label: hp.Label})
		case routing.HopRemote:
			ul := hp.Underlay.Unmap()
			if !ul.Is4() {
				return v, fmt.Errorf("hop %s@%s: host %s has no IPv4 underlay address (%v)", hp.Interface, hp.Host, hp.Host, hp.Underlay)
			}
			hops = append(hops, hop{label: hp.Label, underlay: be32(ul)})
		default:
			return v, fmt.Errorf("hop %s: unknown kind %v", hp.Interface, hp.Kind)
		}
	}
	slices.SortFunc(hops, func(a, b hop) int {
		if a.label != b.label {
			return int(int64(a.label) - int64(b.label))
		}
		return int(int64(a.underlay) - int64(b.underlay))
	})
	hops = slices.Compact(hops)
	if len(hops) == 0 {
		return v, errors.New("route without next hops")
	}
	if len(hops) > maxHops {
		return v, fmt.Errorf("route has %d active next hops: %s realizes at most %d", len(hops), Kind, maxHops)
	}
	v.N = uint32(len(hops))
	for i, hp := range hops {
		v.Hops[i].Label, v.Hops[i].Underlay = hp.label, hp.underlay
	}
	return v, nil
}

func (h *host) hasLabel(label uint32) bool { return h.byLabel[label] != nil }
