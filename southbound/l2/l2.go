// Package l2 computes what every host's forwarder must hold of the
// tenants' L2 networks (netready-l2network): per host, each network that
// has an active binding there, with its bound interfaces and the underlay
// addresses of the other hosts of the network (head-end replication). It
// is the L2 counterpart of southbound/routing and, like it, knows nothing
// of YANG or the tree: southbound/desired reads the Model.
package l2

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"maps"
	"net/netip"
	"slices"
)

// Model is the input of Compute: the hosts and every tenant's L2
// networks.
type Model struct {
	Hosts    []Host
	Networks []Network
}

// Host is one compute host and the backend serving it.
type Host struct {
	Name, Backend string
	Addr          netip.Addr
}

// Network is one L2 network of a tenant as configured.
type Network struct {
	Tenant, Name string
	// SegmentID is the provider segmentation-id, 0 when none.
	SegmentID uint32
	Bindings  []Binding
}

// ID is "tenant/name", the network's identifier on every host.
func (n *Network) ID() string { return n.Tenant + "/" + n.Name }

// Binding attaches one tenant interface to an L2 network.
type Binding struct {
	Interface string
	// Host is the host of the interface's port, "" when not placed.
	Host string
	// VNIC and VLAN locate the interface on its host (as routing.Port).
	VNIC string
	VLAN uint16
	// AdminUp: the binding, its interface hierarchy and its port are all
	// admin up.
	AdminUp bool
}

// Result is, per host (every host of the Model), what its forwarder must
// hold.
type Result map[string]*HostView

// HostView is the L2 state of one host.
type HostView struct {
	Host, Backend string
	Addr          netip.Addr
	// Networks are sorted by ID.
	Networks []Segment
}

// Segment is one L2 network on one host.
type Segment struct {
	// ID is "tenant/name".
	ID string
	// VNI is the network's VXLAN network identifier, the same on every
	// host (see VNIs).
	VNI uint32
	// Ports are the network's active bindings on this host, sorted by
	// interface.
	Ports []Port
	// Remotes are the underlay addresses of the other hosts where the
	// network has a port, sorted: where broadcast and unknown traffic is
	// replicated to.
	Remotes []netip.Addr
}

// Port is a bound interface of a segment.
type Port struct {
	Interface, VNIC string
	VLAN            uint16
}

// Equal reports whether two segments are the same.
func (s *Segment) Equal(o *Segment) bool {
	return s.ID == o.ID && s.VNI == o.VNI && slices.Equal(s.Ports, o.Ports) && slices.Equal(s.Remotes, o.Remotes)
}

// MTU is the MTU of every segment on every forwarder: the underlay's
// 1500 octets less the 50 of VXLAN encapsulation. It is the only one the
// forwarders realize, so a network's mtu leaf is refused at commit unless
// unset or equal to it.
const MTU = 1450

// MinAutoVNI and MaxVNI bound the VNIs assigned to networks without a
// provider segmentation-id: the upper half of the 24-bit VNI space.
const (
	MinAutoVNI = 1 << 23
	MaxVNI     = 1<<24 - 1
)

// VNIs assigns every network its VNI, by ID: the provider
// segmentation-id when it has one (the VLAN id or VNI of the provider
// network), else a number derived from its ID in [MinAutoVNI, MaxVNI]
// (FNV-1a), so it is the same on every host and across restarts without
// being stored. A number already taken goes to the network whose ID
// sorts first (explicit ids before derived ones); the other takes the
// next free number of the automatic range.
func VNIs(nets []Network) map[string]uint32 {
	sorted := slices.SortedFunc(slices.Values(nets), func(a, b Network) int { return cmp.Compare(a.ID(), b.ID()) })
	out := make(map[string]uint32, len(nets))
	used := map[uint32]bool{}
	var auto []string
	for _, n := range sorted {
		if v := n.SegmentID; v > 0 && v <= MaxVNI && !used[v] {
			out[n.ID()], used[v] = v, true
			continue
		}
		auto = append(auto, n.ID())
	}
	for _, id := range auto {
		h := fnv.New32a()
		h.Write([]byte(id))
		v := MinAutoVNI + h.Sum32()%(MaxVNI-MinAutoVNI+1)
		for used[v] {
			v = MinAutoVNI + (v-MinAutoVNI+1)%(MaxVNI-MinAutoVNI+1)
		}
		out[id], used[v] = v, true
	}
	return out
}

// Compute returns what every host must hold: a segment per network per
// host where the network has an active binding on a known host.
func Compute(m Model) Result {
	res := Result{}
	for _, h := range m.Hosts {
		res[h.Name] = &HostView{Host: h.Name, Backend: h.Backend, Addr: h.Addr}
	}
	vnis := VNIs(m.Networks)
	for i := range m.Networks {
		for host, s := range segmentsOf(&m.Networks[i], vnis, res) {
			res[host].Networks = append(res[host].Networks, *s)
		}
	}
	for _, hv := range res {
		slices.SortFunc(hv.Networks, func(a, b Segment) int { return cmp.Compare(a.ID, b.ID) })
	}
	return res
}

// segmentsOf returns network n's segment on each host of res where it has
// an active binding.
func segmentsOf(n *Network, vnis map[string]uint32, res Result) map[string]*Segment {
	id := n.ID()
	segs := map[string]*Segment{}
	for _, b := range n.Bindings {
		if !b.AdminUp || res[b.Host] == nil {
			continue
		}
		s := segs[b.Host]
		if s == nil {
			s = &Segment{ID: id, VNI: vnis[id]}
			segs[b.Host] = s
		}
		s.Ports = append(s.Ports, Port{Interface: b.Interface, VNIC: b.VNIC, VLAN: b.VLAN})
	}
	for host, s := range segs {
		slices.SortFunc(s.Ports, func(a, b Port) int { return cmp.Compare(a.Interface, b.Interface) })
		for other := range segs {
			if a := res[other].Addr; other != host && a.IsValid() {
				s.Remotes = append(s.Remotes, a)
			}
		}
		slices.SortFunc(s.Remotes, netip.Addr.Compare)
		s.Remotes = slices.Compact(s.Remotes)
	}
	return segs
}

// Update returns what Compute(m) and Diff(prev, Compute(m)) return, given
// prev = Compute(pm), computing only the networks that differ between pm
// and m (or whose VNI moved): a change to one L2 network costs that
// network, not every one. The Results share the host views of hosts the
// change does not reach; neither is modified. When the hosts differ it
// computes everything.
func Update(prev Result, pm, m Model) (Result, map[string][]Change) {
	if !slices.Equal(pm.Hosts, m.Hosts) {
		res := Compute(m)
		return res, Diff(prev, res)
	}
	vnis := VNIs(m.Networks)
	changed := changedNetworks(pm.Networks, m.Networks, vnis)
	empty := Result{}
	for _, h := range m.Hosts {
		empty[h.Name] = &HostView{Host: h.Name, Backend: h.Backend, Addr: h.Addr}
	}
	added := map[string][]Segment{}
	for i := range m.Networks {
		if changed[m.Networks[i].ID()] {
			for host, s := range segmentsOf(&m.Networks[i], vnis, empty) {
				added[host] = append(added[host], *s)
			}
		}
	}
	res := make(Result, len(prev))
	for name, hv := range prev {
		res[name] = withSegments(hv, changed, added[name])
	}
	return res, diff(prev, res, changed)
}

// changedNetworks names the networks of before and after that are not
// the same in both, with those whose VNI moved (a network created or
// deleted can move another's); vnis are after's (VNIs(after)).
func changedNetworks(before, after []Network, vnis map[string]uint32) map[string]bool {
	was := make(map[string]*Network, len(before))
	for i := range before {
		was[before[i].ID()] = &before[i]
	}
	changed := map[string]bool{}
	for i := range after {
		n := &after[i]
		if o := was[n.ID()]; o == nil || o.SegmentID != n.SegmentID || !slices.Equal(o.Bindings, n.Bindings) {
			changed[n.ID()] = true
		}
		delete(was, n.ID())
	}
	for id := range was {
		changed[id] = true // deleted
	}
	if len(changed) > 0 {
		vb := VNIs(before)
		for id, v := range vnis {
			if old, ok := vb[id]; ok && old != v {
				changed[id] = true
			}
		}
	}
	return changed
}

// withSegments returns hv with the segments of the changed networks
// replaced by added (hv itself when neither touches it).
func withSegments(hv *HostView, changed map[string]bool, added []Segment) *HostView {
	touched := len(added) > 0
	for i := 0; !touched && i < len(hv.Networks); i++ {
		touched = changed[hv.Networks[i].ID]
	}
	if !touched {
		return hv
	}
	out := &HostView{Host: hv.Host, Backend: hv.Backend, Addr: hv.Addr}
	for _, s := range hv.Networks {
		if !changed[s.ID] {
			out.Networks = append(out.Networks, s)
		}
	}
	out.Networks = append(out.Networks, added...)
	slices.SortFunc(out.Networks, func(a, b Segment) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Op is what a Change does.
type Op uint8

// Change operations.
const (
	// Set makes the host hold the segment exactly (created, or its ports
	// and remotes brought to the spec).
	Set Op = iota
	// Delete removes the segment from the host.
	Delete
)

// Change is one segment a host's forwarder must set or delete.
type Change struct {
	Op      Op
	Host    string
	Segment Segment
}

func (c Change) String() string {
	op := "set"
	if c.Op == Delete {
		op = "delete"
	}
	return fmt.Sprintf("%s %s: L2 %s vni %d ports %d remotes %d", op, c.Host, c.Segment.ID, c.Segment.VNI, len(c.Segment.Ports), len(c.Segment.Remotes))
}

// Diff returns, per backend, the changes that move its hosts from before
// to after: deletes first (a host that moves to another backend is
// emptied on the old one, a segment whose VNI changed is removed under
// its old one), then sets, each by host and segment ID.
func Diff(before, after Result) map[string][]Change { return diff(before, after, nil) }

// diff is Diff over the segments of the networks in only (nil: all).
func diff(before, after Result, only map[string]bool) map[string][]Change {
	type routed struct {
		backend string
		c       Change
	}
	var dels, sets []routed
	hosts := slices.Sorted(maps.Keys(maps.Collect(func(yield func(string, bool) bool) {
		for h := range before {
			yield(h, true)
		}
		for h := range after {
			yield(h, true)
		}
	})))
	for _, h := range hosts {
		b, a := before[h], after[h]
		bb, ab := backendOf(b), backendOf(a)
		old, now := segments(b, only), segments(a, only)
		for _, id := range slices.Sorted(maps.Keys(old)) {
			if n, ok := now[id]; !ok || bb != ab || n.VNI != old[id].VNI {
				dels = append(dels, routed{bb, Change{Op: Delete, Host: h, Segment: *old[id]}})
			}
		}
		for _, id := range slices.Sorted(maps.Keys(now)) {
			if o, ok := old[id]; !ok || bb != ab || !o.Equal(now[id]) {
				sets = append(sets, routed{ab, Change{Op: Set, Host: h, Segment: *now[id]}})
			}
		}
	}
	out := map[string][]Change{}
	for _, d := range append(dels, sets...) {
		out[d.backend] = append(out[d.backend], d.c)
	}
	return out
}

func backendOf(hv *HostView) string {
	if hv == nil {
		return ""
	}
	return hv.Backend
}

// ViewsOf returns the views of the hosts backend serves in res, plus an
// empty view for each host in also it does not serve there, sorted by
// host: what a reconciliation of the backend makes it hold.
func ViewsOf(res Result, backend string, also ...string) []*HostView {
	var out []*HostView
	seen := map[string]bool{}
	for _, hv := range res {
		if hv.Backend == backend {
			out = append(out, hv)
			seen[hv.Host] = true
		}
	}
	for _, h := range also {
		if !seen[h] {
			out = append(out, &HostView{Host: h, Backend: backend})
			seen[h] = true
		}
	}
	slices.SortFunc(out, func(a, b *HostView) int { return cmp.Compare(a.Host, b.Host) })
	return out
}

// segments indexes hv's segments of the networks in only (nil: all) by ID.
func segments(hv *HostView, only map[string]bool) map[string]*Segment {
	out := map[string]*Segment{}
	if hv != nil {
		for i := range hv.Networks {
			if id := hv.Networks[i].ID; only == nil || only[id] {
				out[id] = &hv.Networks[i]
			}
		}
	}
	return out
}
