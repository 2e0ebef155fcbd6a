package linuxfwd

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/l2"
)

// The driver realizes L2 networks too.
var _ southbound.L2Forwarder = (*Driver)(nil)

// L2VXLANPort is the UDP port of the L2 segments' VXLAN devices (the
// Linux kernel's historical VXLAN port). It is not VXLANPort: the VXLAN
// socket of that port in a host namespace tells the L3 labels apart by
// VNI, and an L2 network's VNI (a provider segmentation-id) may equal a
// label.
const L2VXLANPort = 8472

// L2 links in a host namespace, named after the segment's VNI (6 hex
// digits: 24 bits) or, for a port, a 24-bit hash of its alias.
func bridgeLink(prefix string, vni uint32) string   { return fmt.Sprintf("%sb%06x", prefix, vni) }
func segmentVXLAN(prefix string, vni uint32) string { return fmt.Sprintf("%sv%06x", prefix, vni) }

// L2PortAlias is the alias of an L2 port's guest end, which whoever plays
// the guest picks up: "l2:tenant/network/interface". The end enslaved to
// the bridge has the alias "bridge:" + L2PortAlias.
func L2PortAlias(segment, iface string) string { return "l2:" + segment + "/" + iface }

const bridgeEndAlias = "bridge:"

// ApplyL2 applies L2 changes in order; see southbound.L2Forwarder. A
// delete on a host whose namespace is gone succeeds (there is nothing to
// delete).
func (d *Driver) ApplyL2(ctx context.Context, changes []l2.Change) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("driver closed")
	}
	d.epoch++
	for _, c := range changes {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: L2 %s: %w", c.Host, c.Segment.ID, err)
		}
		hs, err := d.hostNS(c.Host)
		if errors.Is(err, os.ErrNotExist) && c.Op == l2.Delete {
			continue
		}
		if err != nil {
			return fmt.Errorf("host %s: %w", c.Host, err)
		}
		s := &segmentSync{d: d, h: hs.ns.h, seg: c.Segment}
		if c.Op == l2.Delete {
			err = s.drop()
		} else {
			err = s.set()
		}
		if err != nil {
			return fmt.Errorf("%s: L2 %s: %w", c.Host, c.Segment.ID, err)
		}
	}
	return nil
}

// ReconcileL2 makes each host hold exactly its segments; see
// southbound.L2Forwarder. A host that should hold none may be missing.
func (d *Driver) ReconcileL2(ctx context.Context, hosts []*l2.HostView) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errors.New("driver closed")
	}
	d.epoch++
	var drift []string
	for _, hv := range hosts {
		if err := ctx.Err(); err != nil {
			return drift, fmt.Errorf("host %s: %w", hv.Host, err)
		}
		hs, err := d.hostNS(hv.Host)
		if errors.Is(err, os.ErrNotExist) && len(hv.Networks) == 0 {
			continue
		}
		if err != nil {
			return drift, fmt.Errorf("host %s: %w", hv.Host, err)
		}
		found, err := d.reconcileHostL2(hs.ns.h, hv)
		for _, f := range found {
			drift = append(drift, hv.Host+": "+f)
		}
		if err != nil {
			return drift, fmt.Errorf("host %s: %w", hv.Host, err)
		}
	}
	return drift, nil
}

// reconcileHostL2 removes the L2 links of segments the host must not
// hold, then brings every wanted segment to its spec.
func (d *Driver) reconcileHostL2(h *netlink.Handle, hv *l2.HostView) ([]string, error) {
	wanted := map[string]bool{}
	for _, s := range hv.Networks {
		wanted[bridgeLink(d.prefix, s.VNI)] = true
		wanted[segmentVXLAN(d.prefix, s.VNI)] = true
	}
	links, err := h.LinkList()
	if err != nil {
		return nil, err
	}
	var drift []string
	for _, k := range links {
		a := k.Attrs()
		if _, ok := d.l2Kind(a.Name); ok && !wanted[a.Name] && (k.Type() == "bridge" || k.Type() == "vxlan") {
			if err := d.delL2Link(h, k); err != nil {
				return drift, err
			}
			drift = append(drift, fmt.Sprintf("extra L2 link %s (%s) removed", a.Name, a.Alias))
		}
	}
	for _, s := range hv.Networks {
		ss := &segmentSync{d: d, h: h, seg: s, report: true}
		err := ss.set()
		drift = append(drift, ss.found...)
		if err != nil {
			return drift, fmt.Errorf("L2 %s: %w", s.ID, err)
		}
	}
	// Ports left without their bridge (a bridge removed under them).
	links, err = h.LinkList()
	if err != nil {
		return drift, err
	}
	for _, k := range links {
		if kind, ok := d.l2Kind(k.Attrs().Name); ok && kind == 'f' && k.Attrs().MasterIndex == 0 {
			if err := h.LinkDel(k); err != nil {
				return drift, fmt.Errorf("remove %s: %w", k.Attrs().Name, err)
			}
			drift = append(drift, fmt.Sprintf("L2 port %s (%s) without a bridge removed", k.Attrs().Name, k.Attrs().Alias))
		}
	}
	return drift, nil
}

// l2Kind returns the kind letter of an L2 link name (b bridge, v VXLAN,
// f bridge end, e guest end), or false.
func (d *Driver) l2Kind(name string) (byte, bool) {
	rest, ok := strings.CutPrefix(name, d.prefix)
	if !ok || len(rest) != 7 || !strings.ContainsRune("bvfe", rune(rest[0])) {
		return 0, false
	}
	for _, c := range rest[1:] {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return 0, false
		}
	}
	return rest[0], true
}

// delL2Link deletes an L2 bridge with its ports, or a VXLAN device.
func (d *Driver) delL2Link(h *netlink.Handle, k netlink.Link) error {
	if k.Type() == "bridge" {
		links, err := h.LinkList()
		if err != nil {
			return err
		}
		for _, p := range links {
			if p.Attrs().MasterIndex == k.Attrs().Index {
				if err := h.LinkDel(p); err != nil && !errors.Is(err, unix.ENODEV) {
					return fmt.Errorf("remove %s: %w", p.Attrs().Name, err)
				}
			}
		}
	}
	if err := h.LinkDel(k); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("remove %s: %w", k.Attrs().Name, err)
	}
	return nil
}

// segmentSync brings one segment on one host to its spec: a bridge, a
// VXLAN device enslaved to it with a flooding entry per remote host, and
// a veth pair per port (the bridge end enslaved, the guest end left in the
// host namespace).
type segmentSync struct {
	d      *Driver
	h      *netlink.Handle
	seg    l2.Segment
	report bool     // record what was found wrong (a reconciliation)
	found  []string // what was corrected
	links  []netlink.Link
	// created are the links this sync created (their attributes are not
	// drift).
	created []string
}

func (s *segmentSync) fix(format string, args ...any) {
	if s.report {
		s.found = append(s.found, fmt.Sprintf("L2 %s: ", s.seg.ID)+fmt.Sprintf(format, args...))
	}
}

func (s *segmentSync) byName(name string) netlink.Link {
	for _, k := range s.links {
		if k.Attrs().Name == name {
			return k
		}
	}
	return nil
}

func (s *segmentSync) set() error {
	var err error
	if s.links, err = s.h.LinkList(); err != nil {
		return err
	}
	// The same segment under another VNI: its links go first.
	for _, k := range s.links {
		if kind, ok := s.d.l2Kind(k.Attrs().Name); ok && kind == 'b' && k.Attrs().Alias == s.seg.ID && k.Attrs().Name != bridgeLink(s.d.prefix, s.seg.VNI) {
			if err := s.d.delL2Link(s.h, k); err != nil {
				return err
			}
			if vx := s.byName(s.d.prefix + "v" + k.Attrs().Name[len(s.d.prefix)+1:]); vx != nil {
				if err := s.d.delL2Link(s.h, vx); err != nil {
					return err
				}
			}
			s.fix("bridge %s of an old VNI removed", k.Attrs().Name)
		}
	}
	br, err := s.bridge()
	if err != nil {
		return err
	}
	if err := s.vxlan(br); err != nil {
		return err
	}
	return s.ports(br)
}

// bridge makes the segment's bridge exist, up, with its alias and MTU.
func (s *segmentSync) bridge() (netlink.Link, error) {
	name := bridgeLink(s.d.prefix, s.seg.VNI)
	br := s.byName(name)
	if br != nil && br.Type() != "bridge" {
		if err := s.h.LinkDel(br); err != nil {
			return nil, fmt.Errorf("remove %s: %w", name, err)
		}
		br = nil
	}
	if br == nil {
		nb := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, MTU: MTU}}
		if err := s.h.LinkAdd(nb); err != nil {
			return nil, fmt.Errorf("create bridge %s: %w", name, err)
		}
		s.fix("bridge %s missing, created", name)
		var err error
		if br, err = s.h.LinkByName(name); err != nil {
			return nil, err
		}
		s.created = append(s.created, name)
	}
	return br, s.attrs(br, s.seg.ID)
}

// attrs sets a link's alias and MTU and brings it up, reporting what was
// wrong with a link it did not just create.
func (s *segmentSync) attrs(k netlink.Link, alias string) error {
	a := k.Attrs()
	if p := linkProblems(a, alias, MTU); p != "" && !slices.Contains(s.created, a.Name) {
		s.fix("%s: %s: fixed", a.Name, p)
	}
	if a.Alias != alias {
		if err := s.h.LinkSetAlias(k, alias); err != nil {
			return fmt.Errorf("alias of %s: %w", a.Name, err)
		}
	}
	if a.MTU != MTU {
		if err := s.h.LinkSetMTU(k, MTU); err != nil {
			return fmt.Errorf("MTU of %s: %w", a.Name, err)
		}
	}
	if a.Flags&net.FlagUp == 0 {
		if err := s.h.LinkSetUp(k); err != nil {
			return fmt.Errorf("up %s: %w", a.Name, err)
		}
	}
	return nil
}

// vxlan makes the segment's VXLAN device exist with the right VNI and
// port, enslaved to br, flooding to every remote host and to no other.
func (s *segmentSync) vxlan(br netlink.Link) error {
	name := segmentVXLAN(s.d.prefix, s.seg.VNI)
	k := s.byName(name)
	if vx, ok := k.(*netlink.Vxlan); k != nil && (!ok || vx.VxlanId != int(s.seg.VNI) || vx.Port != L2VXLANPort) {
		if err := s.h.LinkDel(k); err != nil {
			return fmt.Errorf("remove %s: %w", name, err)
		}
		s.fix("VXLAN %s of another kind, VNI or port replaced", name)
		k = nil
	}
	if k == nil {
		nv := &netlink.Vxlan{LinkAttrs: netlink.LinkAttrs{Name: name, MTU: MTU}, VxlanId: int(s.seg.VNI), Port: L2VXLANPort, Learning: true}
		if err := s.h.LinkAdd(nv); err != nil {
			return fmt.Errorf("create VXLAN %s: %w", name, err)
		}
		s.fix("VXLAN %s missing, created", name)
		s.created = append(s.created, name)
		var err error
		if k, err = s.h.LinkByName(name); err != nil {
			return err
		}
	}
	if err := s.enslave(k, br); err != nil {
		return err
	}
	if err := s.attrs(k, s.seg.ID); err != nil {
		return err
	}
	return s.flood(k)
}

// enslave makes br the master of k.
func (s *segmentSync) enslave(k, br netlink.Link) error {
	if k.Attrs().MasterIndex == br.Attrs().Index {
		return nil
	}
	if k.Attrs().MasterIndex != 0 {
		s.fix("%s enslaved elsewhere, moved to %s", k.Attrs().Name, br.Attrs().Name)
	}
	if err := s.h.LinkSetMasterByIndex(k, br.Attrs().Index); err != nil {
		return fmt.Errorf("enslave %s to %s: %w", k.Attrs().Name, br.Attrs().Name, err)
	}
	return nil
}

// flood makes the all-zeros FDB entries of the VXLAN device (head-end
// replication of broadcast, unknown unicast and multicast) name exactly
// the remote hosts.
func (s *segmentSync) flood(vx netlink.Link) error {
	neighs, err := s.h.NeighList(vx.Attrs().Index, unix.AF_BRIDGE)
	if err != nil {
		return fmt.Errorf("FDB of %s: %w", vx.Attrs().Name, err)
	}
	have := map[netip.Addr]bool{}
	zero := net.HardwareAddr{0, 0, 0, 0, 0, 0}
	for _, n := range neighs {
		a, ok := netip.AddrFromSlice(n.IP)
		if !ok || n.HardwareAddr.String() != zero.String() {
			continue
		}
		a = a.Unmap()
		if slices.Contains(s.seg.Remotes, a) {
			have[a] = true
			continue
		}
		if err := s.h.NeighDel(&n); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("FDB of %s: remove %s: %w", vx.Attrs().Name, a, err)
		}
		s.fix("flooding to %s removed", a)
	}
	for _, a := range s.seg.Remotes {
		if have[a] {
			continue
		}
		n := &netlink.Neigh{LinkIndex: vx.Attrs().Index, Family: unix.AF_BRIDGE, State: netlink.NUD_PERMANENT | netlink.NUD_NOARP,
			Flags: netlink.NTF_SELF, HardwareAddr: zero, IP: a.AsSlice()}
		if err := s.h.NeighAppend(n); err != nil {
			return fmt.Errorf("FDB of %s: flood to %s: %w", vx.Attrs().Name, a, err)
		}
		s.fix("flooding to %s missing, added", a)
	}
	return nil
}

// ports makes a veth pair per port of the segment, its bridge end
// enslaved to br, and removes the bridge ends of br no port wants.
func (s *segmentSync) ports(br netlink.Link) error {
	want := map[string]bool{}
	for _, p := range s.seg.Ports {
		alias := L2PortAlias(s.seg.ID, p.Interface)
		want[bridgeEndAlias+alias] = true
		if err := s.port(br, alias); err != nil {
			return fmt.Errorf("port %s: %w", p.Interface, err)
		}
	}
	for _, k := range s.links {
		a := k.Attrs()
		if kind, ok := s.d.l2Kind(a.Name); ok && kind == 'f' && a.MasterIndex == br.Attrs().Index && !want[a.Alias] {
			if err := s.h.LinkDel(k); err != nil && !errors.Is(err, unix.ENODEV) {
				return fmt.Errorf("remove %s: %w", a.Name, err)
			}
			s.fix("extra port %s (%s) removed", a.Name, a.Alias)
		}
	}
	return nil
}

// port makes one port's veth pair: found by the alias of its bridge end
// (the guest end may have been taken by the guest), else created under
// names derived from the alias.
func (s *segmentSync) port(br netlink.Link, alias string) error {
	end := bridgeEndAlias + alias
	var k netlink.Link
	for _, l := range s.links {
		if kind, ok := s.d.l2Kind(l.Attrs().Name); ok && kind == 'f' && l.Attrs().Alias == end {
			k = l
		}
	}
	if k == nil {
		id := s.freeID(alias)
		f, e := fmt.Sprintf("%sf%06x", s.d.prefix, id), fmt.Sprintf("%se%06x", s.d.prefix, id)
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: f, MTU: MTU}, PeerName: e}
		if err := s.h.LinkAdd(veth); err != nil {
			return fmt.Errorf("create veth %s (guest end %s): %w", f, e, err)
		}
		s.fix("port %s missing, created", alias)
		s.created = append(s.created, f)
		guest, err := s.h.LinkByName(e)
		if err != nil {
			return err
		}
		if err := s.h.LinkSetAlias(guest, alias); err != nil {
			return fmt.Errorf("alias of %s: %w", e, err)
		}
		if err := s.h.LinkSetMTU(guest, MTU); err != nil {
			return fmt.Errorf("MTU of %s: %w", e, err)
		}
		if k, err = s.h.LinkByName(f); err != nil {
			return err
		}
		s.links = append(s.links, k, guest)
	}
	if err := s.enslave(k, br); err != nil {
		return err
	}
	return s.attrs(k, end)
}

// freeID is the 24-bit id of a new port's link names: a hash of its
// alias, or the next number whose names are free.
func (s *segmentSync) freeID(alias string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(alias))
	id := h.Sum32() & 0xffffff
	for s.byName(fmt.Sprintf("%sf%06x", s.d.prefix, id)) != nil || s.byName(fmt.Sprintf("%se%06x", s.d.prefix, id)) != nil {
		id = (id + 1) & 0xffffff
	}
	return id
}

// drop removes the segment's bridge with its ports, and its VXLAN device.
func (s *segmentSync) drop() error {
	for _, name := range []string{bridgeLink(s.d.prefix, s.seg.VNI), segmentVXLAN(s.d.prefix, s.seg.VNI)} {
		k, err := s.h.LinkByName(name)
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			continue
		}
		if err != nil {
			return err
		}
		if err := s.d.delL2Link(s.h, k); err != nil {
			return err
		}
	}
	return nil
}
