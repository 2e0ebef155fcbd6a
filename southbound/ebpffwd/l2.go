package ebpffwd

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/l2"
	"github.com/netready/netready/southbound/routing"
)

// The driver realizes L2 networks too (l2.h is their data plane).
var _ southbound.L2Forwarder = (*Driver)(nil)

// L2VXLANPort is the UDP port of L2 segments between hosts:
// linux-vforwarder's (its linuxfwd.L2VXLANPort), not VXLANPort, since a
// segment's VNI may equal an L3 label.
const L2VXLANPort = 8472

// MaxL2Ports and MaxL2Remotes bound one segment on one host (MAX_L2_PORTS
// and MAX_L2_REMOTES in l2.h): a flooded frame is copied once per local
// port and once per remote host by a loop the verifier must see end.
const (
	MaxL2Ports   = 32
	MaxL2Remotes = 32
)

// L2TunnelLink is the name of a host's collect-metadata VXLAN device of
// UDP L2VXLANPort.
func L2TunnelLink(prefix string) string { return prefix + "vl" }

// L2GuestAlias is the alias of the guest end of a vNIC an untagged L2
// port creates: linux-vforwarder's (linuxfwd.L2PortAlias), so the same
// guest tooling takes it on either vendor.
func L2GuestAlias(segment, iface string) string { return "l2:" + segment + "/" + iface }

// l2Key is an L2 port: a VLAN (0 untagged) of a vNIC (its VNICKey).
type l2Key struct {
	vnic string
	vlan uint16
}

// l2Port is an L2 port and the segment (VNI) it is bound to.
type l2Port struct {
	key  l2Key
	vni  uint32
	vnic *vnic
}

func (p *l2Port) bindingKey() fwdVnicKey {
	return fwdVnicKey{Ifindex: uint32(p.vnic.ifindex), Vlan: uint32(p.key.vlan)}
}

// ApplyL2 applies L2 changes in order; see southbound.L2Forwarder. A
// delete on a host whose namespace is gone succeeds.
func (d *Driver) ApplyL2(ctx context.Context, changes []l2.Change) error {
	if err := d.begin(); err != nil {
		return err
	}
	defer d.mu.Unlock()
	steps := make([]change, len(changes))
	for i, c := range changes {
		steps[i] = change{host: c.Host, delete: c.Op == l2.Delete,
			do: func(h *host) error {
				if c.Op == l2.Delete {
					return h.dropSegment(c.Segment.VNI)
				}
				return h.setSegment(c.Segment)
			},
			what: func() string { return "L2 " + c.Segment.ID }}
	}
	return d.applyChanges(ctx, steps, (*host).dropL2TunnelIfIdle)
}

// ReconcileL2 makes each host hold exactly its segments; see
// southbound.L2Forwarder. It reads every host again.
func (d *Driver) ReconcileL2(ctx context.Context, hosts []*l2.HostView) ([]string, error) {
	if err := d.begin(); err != nil {
		return nil, err
	}
	defer d.mu.Unlock()
	states := make([]hostState, len(hosts))
	for i, hv := range hosts {
		states[i] = hostState{host: hv.Host, empty: len(hv.Networks) == 0, fix: func(h *host) ([]string, error) {
			lines, err := h.reconcileL2(hv)
			if ferr := h.flush(); err == nil {
				err = ferr
			}
			h.dropL2TunnelIfIdle()
			return lines, err
		}}
	}
	return d.reconcileHosts(ctx, states)
}

// loadL2 reads the L2 ports and segments from the maps (after load read
// the vNICs) and, when the host has segments, makes sure of the L2
// tunnel device. Entries that do not fit together are left out for
// ReconcileL2 to remove.
func (h *host) loadL2() error {
	h.l2ports = make(map[l2Key]*l2Port)
	segs, err := h.segmentVNIs()
	if err != nil {
		return err
	}
	byIndex := make(map[int]*vnic, len(h.vnics))
	for _, v := range h.vnics {
		byIndex[v.ifindex] = v
	}
	var k fwdVnicKey
	var vni uint32
	it := h.objs.L2Bindings.Iterate()
	for it.Next(&k, &vni) {
		v := byIndex[int(k.Ifindex)]
		if v == nil || !segs[vni] {
			continue
		}
		p := &l2Port{key: l2Key{v.key, uint16(k.Vlan)}, vni: vni, vnic: v}
		h.l2ports[p.key] = p
		v.users++
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("l2_bindings map: %w", err)
	}
	if len(segs) > 0 {
		fixed, err := h.ensureL2Tunnel()
		h.repaired = append(h.repaired, fixed...)
		return err
	}
	return nil
}

// segmentVNIs returns the VNIs of the segments map.
func (h *host) segmentVNIs() (map[uint32]bool, error) {
	keys, err := labelKeys(h.objs.Segments)
	if err != nil {
		return nil, fmt.Errorf("segments map: %w", err)
	}
	out := make(map[uint32]bool, len(keys))
	for _, k := range keys {
		out[k] = true
	}
	return out, nil
}

func (h *host) ensureL2Tunnel() ([]string, error) {
	idx, fixed, err := h.ensureTunnelDev(L2TunnelLink(h.prefix), L2VXLANPort, h.objs.FromL2Tunnel, "from_l2_tunnel",
		func(s *fwdSettings) *uint32 { return &s.L2TunnelIfindex })
	if err == nil {
		h.l2tunnel = idx
	}
	return fixed, err
}

// dropL2TunnelIfIdle deletes the L2 tunnel device of a host without L2
// ports: its UDP 8472 socket would keep another backend's segments off the
// port when the host moves to it. Best effort: ReconcileL2 does it again.
func (h *host) dropL2TunnelIfIdle() {
	if len(h.l2ports) > 0 || h.l2tunnel == 0 {
		return
	}
	if err := deleteLink(h.nl, L2TunnelLink(h.prefix)); err == nil {
		h.l2tunnel = 0
	}
}

// checkSegment refuses a segment the data plane cannot hold.
func checkSegment(s l2.Segment) error {
	switch {
	case s.VNI == 0 || s.VNI > l2.MaxVNI:
		return fmt.Errorf("VNI %d out of range 1-%d", s.VNI, l2.MaxVNI)
	case len(s.Ports) > MaxL2Ports:
		return fmt.Errorf("%d ports on one host: %s floods to at most %d", len(s.Ports), Kind, MaxL2Ports)
	case len(s.Remotes) > MaxL2Remotes:
		return fmt.Errorf("%d remote hosts: %s floods to at most %d", len(s.Remotes), Kind, MaxL2Remotes)
	}
	for _, r := range s.Remotes {
		if !r.Unmap().Is4() {
			return fmt.Errorf("remote %v: %s tunnels over IPv4 only", r, Kind)
		}
	}
	for _, p := range s.Ports {
		if p.VLAN > 4094 {
			return fmt.Errorf("port %s: VLAN %d out of range 1-4094", p.Interface, p.VLAN)
		}
	}
	return nil
}

// segmentTenant is the tenant of a segment ID ("tenant/network").
func segmentTenant(id string) string {
	t, _, _ := strings.Cut(id, "/")
	return t
}

// setSegment makes the host hold the segment exactly: its ports bound
// (vNICs created as needed), ports it no longer has released, and its
// entry in the segments map (the flood list).
func (h *host) setSegment(s l2.Segment) error {
	if err := checkSegment(s); err != nil {
		return err
	}
	if h.l2tunnel == 0 {
		if _, err := h.ensureL2Tunnel(); err != nil {
			return err
		}
	}
	tenant := segmentTenant(s.ID)
	want := make(map[l2Key]l2.Port, len(s.Ports))
	for _, p := range s.Ports {
		k := l2Key{VNICKey(tenant, routing.Port{Interface: p.Interface, VNIC: p.VNIC}), p.VLAN}
		if _, dup := want[k]; dup {
			return fmt.Errorf("port %s: VLAN %d of vNIC %s is bound twice", p.Interface, p.VLAN, k.vnic)
		}
		want[k] = p
	}
	var val fwdSegment
	for i, k := range slices.SortedFunc(maps.Keys(want), cmpL2Key) {
		p, err := h.useL2Port(k, s, want[k])
		if err != nil {
			return fmt.Errorf("port %s: %w", want[k].Interface, err)
		}
		val.Ports[i].Ifindex, val.Ports[i].Vlan = uint32(p.vnic.ifindex), uint32(k.vlan)
	}
	// Released after the wanted ones are taken, so a vNIC moving a port
	// from one VLAN to another stays.
	for k, p := range h.l2ports {
		if _, ok := want[k]; !ok && p.vni == s.VNI {
			if err := h.dropL2Port(p); err != nil {
				return err
			}
		}
	}
	val.Nports = uint32(len(want))
	for i, r := range s.Remotes {
		val.Remotes[i] = be32(r.Unmap())
	}
	val.Nremotes = uint32(len(s.Remotes))
	if err := h.objs.Segments.Put(s.VNI, val); err != nil {
		return fmt.Errorf("segments map: %w", err)
	}
	return nil
}

func cmpL2Key(a, b l2Key) int {
	return cmp.Or(cmp.Compare(a.vnic, b.vnic), cmp.Compare(a.vlan, b.vlan))
}

// useL2Port binds the port k to segment s: an L2 port of another segment
// there is moved (the spec wins); an L3 port there is an error, since
// the L3 changes of a transaction come first and so still holding one
// means both are wanted.
func (h *host) useL2Port(k l2Key, s l2.Segment, spec l2.Port) (*l2Port, error) {
	for _, o := range h.ports {
		if o.vnic.key == k.vnic && o.vlan == k.vlan {
			return nil, fmt.Errorf("VLAN %d of vNIC %s is bound to port %s of VRF %s: one VLAN of a vNIC carries one service", k.vlan, k.vnic, o.id.iface, o.id.vrf)
		}
	}
	p := h.l2ports[k]
	if p == nil {
		alias := k.vnic
		if k.vlan == 0 {
			alias = L2GuestAlias(s.ID, spec.Interface)
		}
		v, err := h.useVNIC(k.vnic, alias)
		if err != nil {
			return nil, err
		}
		p = &l2Port{key: k, vnic: v}
		h.l2ports[k] = p
	}
	p.vni = s.VNI
	if err := h.objs.L2Bindings.Put(p.bindingKey(), s.VNI); err != nil {
		return nil, fmt.Errorf("l2_bindings map: %w", err)
	}
	return p, nil
}

// dropL2Port releases an L2 port: its binding, and its vNIC with the
// vNIC's last port.
func (h *host) dropL2Port(p *l2Port) error {
	var cur uint32
	if err := h.objs.L2Bindings.Lookup(p.bindingKey(), &cur); err == nil && cur == p.vni {
		if err := deleteIgnoringMissing(h.objs.L2Bindings, p.bindingKey()); err != nil {
			return fmt.Errorf("l2_bindings map: %w", err)
		}
	}
	delete(h.l2ports, p.key)
	p.vnic.users--
	if p.vnic.users > 0 {
		return nil
	}
	delete(h.vnics, p.vnic.key)
	return h.deleteVNIC(p.vnic)
}

// dropSegment removes a segment: its ports, its flood list and what was
// learnt in it.
func (h *host) dropSegment(vni uint32) error {
	for _, p := range h.l2ports {
		if p.vni == vni {
			if err := h.dropL2Port(p); err != nil {
				return err
			}
		}
	}
	if err := deleteIgnoringMissing(h.objs.Segments, vni); err != nil {
		return fmt.Errorf("segments map: %w", err)
	}
	return h.forgetMACs(vni)
}

// forgetMACs deletes the learnt MACs of segment vni.
func (h *host) forgetMACs(vni uint32) error {
	var stale []fwdFdbKey
	var k fwdFdbKey
	var e fwdFdbEntry
	it := h.objs.Fdb.Iterate()
	for it.Next(&k, &e) {
		if k.Vni == vni {
			stale = append(stale, k)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("fdb map: %w", err)
	}
	for _, k := range stale {
		if err := deleteIgnoringMissing(h.objs.Fdb, k); err != nil {
			return fmt.Errorf("fdb map: %w", err)
		}
	}
	return nil
}

// l2Users reports whether an L2 port uses the vNIC.
func (h *host) l2Users(v *vnic) bool {
	for _, p := range h.l2ports {
		if p.vnic == v {
			return true
		}
	}
	return false
}

// reconcileL2 brings the host to hv's segments: segments it must not
// hold removed, each wanted one checked and set again, bindings nothing
// explains deleted, the L2 tunnel device repaired. One line per
// difference.
func (h *host) reconcileL2(hv *l2.HostView) ([]string, error) {
	drift := h.repaired
	h.repaired = nil
	want := make(map[uint32]bool, len(hv.Networks))
	for _, s := range hv.Networks {
		want[s.VNI] = true
	}
	have, err := h.segmentVNIs()
	if err != nil {
		return drift, err
	}
	for _, vni := range slices.Sorted(maps.Keys(have)) {
		if !want[vni] {
			drift = append(drift, fmt.Sprintf("L2 segment VNI %d unexpected", vni))
			if err := h.dropSegment(vni); err != nil {
				return drift, err
			}
		}
	}
	for _, s := range hv.Networks {
		lines, err := h.reconcileSegment(s)
		drift = append(drift, lines...)
		if err != nil {
			return drift, fmt.Errorf("L2 %s: %w", s.ID, err)
		}
	}
	lines, err := h.sweepL2Bindings()
	return append(drift, lines...), err
}

// reconcileSegment compares the host's ports and flood list of s with the
// spec, sets s again, and says what differed.
func (h *host) reconcileSegment(s l2.Segment) ([]string, error) {
	var drift []string
	what := "L2 " + s.ID + ": "
	tenant := segmentTenant(s.ID)
	for _, sp := range s.Ports {
		k := l2Key{VNICKey(tenant, routing.Port{Interface: sp.Interface, VNIC: sp.VNIC}), sp.VLAN}
		p := h.l2ports[k]
		var vni uint32
		switch {
		case p == nil:
			drift = append(drift, what+"port "+sp.Interface+" missing")
		case p.vni != s.VNI:
			drift = append(drift, what+"port "+sp.Interface+" bound to another segment")
		case h.objs.L2Bindings.Lookup(p.bindingKey(), &vni) != nil || vni != s.VNI:
			drift = append(drift, what+"port "+sp.Interface+": l2_bindings map entry missing or different")
		}
	}
	var before, after fwdSegment
	hadEntry := h.objs.Segments.Lookup(s.VNI, &before) == nil
	if err := h.setSegment(s); err != nil {
		return drift, err
	}
	if err := h.objs.Segments.Lookup(s.VNI, &after); err != nil {
		return drift, fmt.Errorf("segments map: %w", err)
	}
	if !hadEntry {
		drift = append(drift, what+"segments map entry missing")
	} else if before != after {
		drift = append(drift, what+"segments map entry differs")
	}
	for _, p := range h.l2ports {
		if p.vni != s.VNI {
			continue
		}
		added, err := attach(h.ns, p.vnic.ifindex, h.objs.FromVnic)
		if err != nil {
			return drift, fmt.Errorf("vNIC %s: %w", p.vnic.key, err)
		}
		if added {
			drift = append(drift, fmt.Sprintf("vNIC %s: program from_vnic not attached", p.vnic.key))
		}
	}
	return drift, nil
}

// sweepL2Bindings deletes l2_bindings entries no L2 port explains.
func (h *host) sweepL2Bindings() ([]string, error) {
	explained := make(map[fwdVnicKey]uint32, len(h.l2ports))
	for _, p := range h.l2ports {
		explained[p.bindingKey()] = p.vni
	}
	var stale []fwdVnicKey
	var k fwdVnicKey
	var vni uint32
	it := h.objs.L2Bindings.Iterate()
	for it.Next(&k, &vni) {
		if w, ok := explained[k]; !ok || w != vni {
			stale = append(stale, k)
		}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("l2_bindings map: %w", err)
	}
	var drift []string
	for _, k := range stale {
		drift = append(drift, fmt.Sprintf("ifindex %d VLAN %d: stale l2_bindings map entry", k.Ifindex, k.Vlan))
		if err := deleteIgnoringMissing(h.objs.L2Bindings, k); err != nil {
			return drift, err
		}
	}
	return drift, nil
}
