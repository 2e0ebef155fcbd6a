package ebpffwd

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/cilium/ebpf"
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
	// l2tunnel is the ifindex of the L2 segments' tunnel device (0: none),
	// l2ports the L2 ports by (vNIC, VLAN); see l2.go.
	l2tunnel int
	l2ports  map[l2Key]*l2Port
	stale    bool
	// repaired is what opening the host corrected (the tunnel device),
	// for the next Reconcile to report; strays are links named like vNIC
	// ends that are not a vNIC's, for it to delete.
	repaired []string
	strays   []string
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

// port is a bound interface: its label, on which vNIC and VLAN, and
// the binding's address, which only the liveness probe uses (zero when
// the driver read the port back from the maps and was not told yet).
type port struct {
	id    portID
	label uint32
	vnic  *vnic
	vlan  uint16
	addr  netip.Addr
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
// pinned maps, reads what the maps and devices hold and, when the host
// has VRFs, makes sure of the tunnel device.
func openHost(prefix, bpffs, name string) (_ *host, err error) {
	nsName := HostNamespace(prefix, name)
	ns, err := netns.GetFromName(nsName)
	if errors.Is(err, os.ErrNotExist) {
		return nil, missingNS(nsName)
	}
	if err != nil {
		return nil, fmt.Errorf("namespace %s: %w", nsName, err)
	}
	h := &host{name: name, prefix: prefix, ns: ns}
	defer func() {
		if err != nil {
			h.close()
		}
	}()
	if h.nl, err = netlink.NewHandleAt(ns, unix.NETLINK_ROUTE); err != nil {
		return nil, fmt.Errorf("netlink in %s: %w", nsName, err)
	}
	if err := ensureBPFFS(bpffs); err != nil {
		return nil, err
	}
	if h.objs, err = loadObjects(PinDir(bpffs, prefix, name)); err != nil {
		return nil, err
	}
	if err := h.load(); err != nil {
		return nil, err
	}
	if len(h.vrfs) > 0 {
		if h.repaired, err = h.ensureTunnel(); err != nil {
			return nil, err
		}
	}
	if err := h.loadL2(); err != nil {
		return nil, err
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
	if err := deleteLink(h.nl, TunnelLink(h.prefix)); err != nil {
		return err
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
	idx, fixed, err := h.ensureTunnelDev(TunnelLink(h.prefix), VXLANPort, h.objs.FromTunnel, "from_tunnel",
		func(s *fwdSettings) *uint32 { return &s.TunnelIfindex })
	if err == nil {
		h.tunnel = idx
	}
	return fixed, err
}

// ensureTunnelDev makes sure of a collect-metadata VXLAN device on UDP
// port, its program (prog, named progName) and its ifindex in the
// settings map (the field slot points at), and says what it had to fix.
func (h *host) ensureTunnelDev(name string, port int, prog *ebpf.Program, progName string, slot func(*fwdSettings) *uint32) (int, []string, error) {
	var fixed []string
	idx, made, err := ensureTunnel(h.nl, name, port)
	if err != nil {
		return 0, nil, err
	}
	if made {
		fixed = append(fixed, "tunnel device "+name+" missing or not up")
	}
	added, err := attach(h.ns, idx, prog)
	if err != nil {
		return 0, nil, fmt.Errorf("attach %s to %s: %w", progName, name, err)
	}
	if added && !made {
		fixed = append(fixed, "program "+progName+" not attached to "+name)
	}
	var s fwdSettings
	zero := uint32(0)
	if err := h.objs.Settings.Lookup(zero, &s); err != nil || *slot(&s) != uint32(idx) {
		if !made {
			fixed = append(fixed, "settings map: index of "+name+" wrong")
		}
		*slot(&s) = uint32(idx)
		if err := h.objs.Settings.Put(zero, s); err != nil {
			return 0, nil, fmt.Errorf("settings map: %w", err)
		}
	}
	return idx, fixed, nil
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
// the host end's ifindex, and records in h.strays the other links that
// carry the names of vNIC ends (for Reconcile to delete).
func (h *host) readVNICs() (map[int]*vnic, error) {
	links, err := h.nl.LinkList()
	if err != nil {
		return nil, fmt.Errorf("links: %w", err)
	}
	out := make(map[int]*vnic)
	hostEnds := make(map[int]bool)
	var guestEnds []netlink.Link
	h.strays = nil
	for _, l := range links {
		a := l.Attrs()
		if _, ok := parseIndexed(a.Name, h.prefix+"n"); ok {
			guestEnds = append(guestEnds, l)
			continue
		}
		n, ok := parseIndexed(a.Name, h.prefix+"e")
		if !ok {
			continue
		}
		key, ok := strings.CutPrefix(a.Alias, hostAliasPrefix)
		if !ok || l.Type() != "veth" {
			h.strays = append(h.strays, a.Name)
			continue
		}
		v := &vnic{key: key, n: n, ifindex: a.Index, hostMAC: a.HardwareAddr, guestMAC: guestMAC(a.HardwareAddr)}
		out[a.Index] = v
		hostEnds[n] = true
	}
	for _, l := range guestEnds {
		if n, _ := parseIndexed(l.Attrs().Name, h.prefix+"n"); !hostEnds[n] {
			h.strays = append(h.strays, l.Attrs().Name)
		}
	}
	return out, nil
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
