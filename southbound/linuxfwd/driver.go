package linuxfwd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/routing"
)

// Register adds the driver to r under Kind.
func Register(r southbound.Registry) {
	r[Kind] = southbound.Plugin{Open: Open, Caps: southbound.Capabilities{Forwarding: true, L2: true, IPv6: true}}
}

// The driver realizes computed forwarding state.
var _ southbound.Forwarder = (*Driver)(nil)

// Open is the driver's southbound.Factory.
func Open(_ context.Context, b southbound.Backend) (southbound.Driver, error) {
	d, err := New(b)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// options are the backend options the driver accepts.
var options = []string{"netns-prefix"}

// Driver realizes the forwarding state of a backend's hosts in network
// namespaces. It keeps namespace handles and what it knows of each host's
// VRFs between calls; Close releases them and leaves the kernel state as
// it is.
type Driver struct {
	mu      sync.Mutex
	backend string
	prefix  string
	hosts   map[string]*hostState
	epoch   uint64
	closed  bool
	// pending are the VRFs with doomed links (see doomPort), doomed the
	// VRFs to delete (see doomVRF), at the next flush.
	pending map[*vrfState]bool
	doomed  []*vrfState
	// probes counts Probe calls (see probeVRF).
	probes uint64
}

// New returns a driver for the backend b. The only option is
// netns-prefix: the prefix of the host and VRF namespace names, 1 to 8
// characters of [a-z0-9-], DefaultPrefix when unset.
func New(b southbound.Backend) (*Driver, error) {
	if err := southbound.CheckOptions(b, options...); err != nil {
		return nil, err
	}
	prefix := DefaultPrefix
	if v, ok := b.Options["netns-prefix"]; ok {
		if !prefixRE.MatchString(v) {
			return nil, fmt.Errorf("option netns-prefix %q: want 1 to 8 characters of a-z, 0-9 and -", v)
		}
		prefix = v
	}
	return &Driver{backend: b.Name, prefix: prefix, hosts: make(map[string]*hostState), pending: make(map[*vrfState]bool)}, nil
}

// Prefix returns the driver's namespace name prefix.
func (d *Driver) Prefix() string { return d.prefix }

// Close releases the namespace handles. The forwarding state stays.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, hs := range d.hosts {
		hs.closeAll()
	}
	d.hosts = nil
	d.closed = true
	return nil
}

// Apply applies changes in order; see southbound.Forwarder. Creating what
// exists updates it, deleting what is missing succeeds. It trusts what it
// has learnt of each host (read from the kernel when it first serves the
// host, or when a VRF namespace of the host appeared, disappeared or was
// replaced since); Reconcile reads everything again.
func (d *Driver) Apply(ctx context.Context, changes []routing.Change) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("driver closed")
	}
	d.epoch++
	err := d.applyAll(ctx, changes)
	if ferr := d.flush(); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		for _, hs := range d.hosts {
			hs.loaded = false // what it knows may be off: read the kernel again next time
		}
	}
	return err
}

func (d *Driver) applyAll(ctx context.Context, changes []routing.Change) error {
	// The routes and ports of a VRF deleted later in the same changes go
	// with its namespace: deleting them one by one first would only take
	// time (each link deleted alone waits for an RCU grace period).
	type key struct{ host, vrf string }
	doomed := make(map[key]bool)
	for _, c := range changes {
		if c.Kind == routing.KindVRF && c.Op == routing.Delete {
			doomed[key{c.Host, c.VRF}] = true
		}
	}
	for _, c := range changes {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: VRF %s: %s: %w", c.Host, c.VRF, object(c), err)
		}
		if c.Op == routing.Delete && c.Kind != routing.KindVRF && doomed[key{c.Host, c.VRF}] {
			continue
		}
		if c.Op != routing.Delete || c.Kind == routing.KindRoute {
			if err := d.flush(); err != nil {
				return err
			}
		}
		hs, err := d.host(c.Host)
		if err != nil {
			return fmt.Errorf("host %s: %w", c.Host, err)
		}
		if err := d.apply(hs, c); err != nil {
			return fmt.Errorf("%s: VRF %s: %s %s: %w", c.Host, c.VRF, c.Op, object(c), err)
		}
	}
	return nil
}

func object(c routing.Change) string {
	switch c.Kind {
	case routing.KindPort:
		return "port " + c.Port
	case routing.KindRoute:
		return "route " + c.Prefix.String()
	}
	return "VRF"
}

func (d *Driver) apply(hs *hostState, c routing.Change) error {
	switch c.Kind {
	case routing.KindVRF:
		if c.Op == routing.Delete {
			if v := hs.vrfs[c.VRF]; v != nil {
				d.doomVRF(hs, v)
			}
			return nil
		}
		if c.Spec == nil {
			return errors.New("change without VRF spec")
		}
		return d.setVRF(hs, c.Spec)
	case routing.KindPort:
		v := hs.vrfs[c.VRF]
		if c.Op == routing.Delete {
			if v == nil {
				return nil
			}
			if p := v.ports[c.Port]; p != nil {
				return d.doomPort(v, p)
			}
			return nil
		}
		if c.PortSpec == nil {
			return errors.New("change without port spec")
		}
		if v == nil {
			return errors.New("VRF not found on host")
		}
		return d.setPort(hs, v, *c.PortSpec)
	case routing.KindRoute:
		v := hs.vrfs[c.VRF]
		if c.Op == routing.Delete {
			if v == nil {
				return nil
			}
			return d.dropRoute(v, c.Prefix)
		}
		if c.Route == nil {
			return errors.New("change without route")
		}
		if v == nil {
			return errors.New("VRF not found on host")
		}
		kr, err := d.kroute(v, c.Route)
		if err != nil {
			return err
		}
		return d.setRoute(v, kr)
	}
	return fmt.Errorf("unknown change kind %v", c.Kind)
}

// host returns the state of the named host, with its namespace open and
// what the driver knows of its VRFs current.
func (d *Driver) host(name string) (*hostState, error) {
	if hs := d.hosts[name]; hs != nil && hs.checked == d.epoch && hs.ns != nil && hs.loaded {
		return hs, nil
	}
	hs, err := d.hostNS(name)
	if err != nil {
		return nil, err
	}
	if hs.loaded {
		same, err := d.sameVRFNamespaces(hs)
		if err != nil {
			return nil, err
		}
		hs.loaded = same
	}
	if !hs.loaded {
		if err := d.load(hs); err != nil {
			return nil, err
		}
	}
	return hs, nil
}

func notFound(ns string) error { return missingNS(ns) }

// missingNS is a host namespace that does not exist; it matches
// os.ErrNotExist.
type missingNS string

func (m missingNS) Error() string {
	return fmt.Sprintf("network namespace %s not found (%s realizes a host in the namespace of that name, which it does not create)", string(m), Kind)
}

func (missingNS) Unwrap() error { return os.ErrNotExist }

// vrfNamespaces returns the labels of the VRF namespaces of a host.
func (d *Driver) vrfNamespaces(host string) ([]uint32, error) {
	names, err := listNS(HostNamespace(d.prefix, host) + "@")
	if err != nil {
		return nil, err
	}
	var out []uint32
	for _, n := range names {
		if l, ok := parseLabelled(n, HostNamespace(d.prefix, host)+"@"); ok {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out, nil
}

// sameVRFNamespaces reports whether the host's VRF namespaces are those
// the driver has open.
func (d *Driver) sameVRFNamespaces(hs *hostState) (bool, error) {
	labels, err := d.vrfNamespaces(hs.name)
	if err != nil {
		return false, err
	}
	if len(labels) != len(hs.byLabel) {
		return false, nil
	}
	for _, l := range labels {
		v := hs.byLabel[l]
		if v == nil {
			return false, nil
		}
		ok, err := v.ns.current()
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// load reads the host's VRF namespaces from the kernel.
func (d *Driver) load(hs *hostState) error {
	hs.closeVRFs()
	labels, err := d.vrfNamespaces(hs.name)
	if err != nil {
		return err
	}
	for _, l := range labels {
		name := VRFNamespace(d.prefix, hs.name, l)
		r, err := openNS(name)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted meanwhile
		}
		if err != nil {
			return fmt.Errorf("namespace %s: %w", name, err)
		}
		o, err := observe(r)
		if err != nil {
			r.close()
			return fmt.Errorf("namespace %s: %w", name, err)
		}
		hs.add(o.state(l, r))
	}
	hs.loaded = true
	return nil
}

// hostState is what the driver knows of one host.
type hostState struct {
	name    string
	nsName  string
	ns      *nsRef
	checked uint64 // epoch of the last check of the namespaces
	loaded  bool
	vrfs    map[string]*vrfState // by VRF ID
	byLabel map[uint32]*vrfState // every VRF namespace, also those of unknown ID
}

func (hs *hostState) add(v *vrfState) {
	if hs.vrfs == nil {
		hs.vrfs = make(map[string]*vrfState)
		hs.byLabel = make(map[uint32]*vrfState)
	}
	hs.byLabel[v.label] = v
	if v.id != "" {
		if w := hs.vrfs[v.id]; w == nil || w.label > v.label {
			hs.vrfs[v.id] = v // two namespaces claiming one VRF: keep the lowest label
		}
	}
}

func (hs *hostState) remove(v *vrfState) {
	if hs.byLabel[v.label] == v {
		delete(hs.byLabel, v.label)
	}
	if hs.vrfs[v.id] == v {
		delete(hs.vrfs, v.id)
	}
}

func (hs *hostState) closeVRFs() {
	for _, v := range hs.byLabel {
		v.ns.close()
	}
	hs.vrfs, hs.byLabel = nil, nil
	hs.loaded = false
}

func (hs *hostState) closeAll() {
	hs.closeVRFs()
	hs.ns.close()
	hs.ns = nil
}

// portByLabel finds the port with the given label in any VRF of the host.
func (hs *hostState) portByLabel(label uint32) (*vrfState, *portState) {
	for _, v := range hs.byLabel {
		for _, p := range v.ports {
			if p.label == label {
				return v, p
			}
		}
	}
	return nil, nil
}

// vrfState is what the driver knows of one VRF namespace.
type vrfState struct {
	id      string // "" when the namespace has no readable nrx alias
	label   uint32
	ns      *nsRef
	ports   map[string]*portState // by interface
	routes  map[netip.Prefix]*kRoute
	remotes map[uint32]netip.Addr // neighbour and FDB entries on nrx: label → underlay
	refs    map[uint32]int        // routes using each remote label
}

func newVRFState(id string, label uint32, ns *nsRef) *vrfState {
	return &vrfState{
		id: id, label: label, ns: ns,
		ports:   make(map[string]*portState),
		routes:  make(map[netip.Prefix]*kRoute),
		remotes: make(map[uint32]netip.Addr),
		refs:    make(map[uint32]int),
	}
}

// tenantVPN splits a VRF ID ("tenant/vpn" or "tenant/vpn/interface").
func tenantVPN(id string) (tenant, vpn string) {
	parts := strings.SplitN(id, "/", 3)
	if len(parts) < 2 {
		return id, ""
	}
	return parts[0], parts[1]
}

func (v *vrfState) portByLabel(label uint32) *portState {
	for _, p := range v.ports {
		if p.label == label {
			return p
		}
	}
	return nil
}

func (v *vrfState) alias(iface string) string {
	t, p := tenantVPN(v.id)
	return PortAlias(t, p, iface)
}

// portState is a port of a VRF.
type portState struct {
	iface string
	label uint32
	addr  netip.Addr
	// probed: its neighbour timers are set for liveness probing;
	// answered: its instance answered a probe since.
	probed, answered bool
}

// kRoute is a route as the kernel holds it.
type kRoute struct {
	prefix netip.Prefix
	hops   []kHop // sorted, without duplicates
}

// kHop is one next hop: local (dev p<label> via addr) or tunnelled (dev
// nrx via labelGateway(label), FDB entry to underlay).
type kHop struct {
	local    bool
	label    uint32
	addr     netip.Addr // local hops
	underlay netip.Addr // tunnelled hops
}

func (h kHop) String() string {
	if h.local {
		return fmt.Sprintf("%s dev %s", h.addr, portLink(h.label))
	}
	return fmt.Sprintf("label %d", h.label)
}

func compareHop(a, b kHop) int {
	if a.local != b.local {
		if a.local {
			return -1
		}
		return 1
	}
	if a.label != b.label {
		if a.label < b.label {
			return -1
		}
		return 1
	}
	return a.addr.Compare(b.addr)
}

// sameHops compares hops as the kernel sees them (the underlay of a
// tunnelled hop is in the FDB, not in the route).
func sameHops(a, b []kHop) bool {
	return slices.EqualFunc(a, b, func(x, y kHop) bool {
		return x.local == y.local && x.label == y.label && (!x.local || x.addr == y.addr)
	})
}

func hopsString(hs []kHop) string {
	s := make([]string, len(hs))
	for i, h := range hs {
		s[i] = h.String()
	}
	return strings.Join(s, ", ")
}

// kroute translates a computed route into what the kernel must hold in v.
func (d *Driver) kroute(v *vrfState, r *routing.Route) (*kRoute, error) {
	kr := &kRoute{prefix: r.Prefix.Masked()}
	for _, h := range r.Active() {
		var k kHop
		switch h.Kind {
		case routing.HopLocal:
			if err := checkLabel("hop "+h.Interface, h.Label); err != nil {
				return nil, err
			}
			if !h.Addr.IsValid() || h.Addr.Is4() != kr.prefix.Addr().Is4() {
				return nil, fmt.Errorf("hop %s: next-hop address %s is not of the prefix's family", h.Interface, h.Addr)
			}
			k = kHop{local: true, label: h.Label, addr: h.Addr.Unmap()}
		case routing.HopRemote, routing.HopPort, routing.HopLearnt: // learnt: Host is "", Underlay the peer's next hop
			if err := checkLabel("hop "+h.Interface+"@"+h.Host, h.Label); err != nil {
				return nil, err
			}
			ul := h.Underlay.Unmap()
			if !ul.Is4() {
				if h.Kind != routing.HopPort || ul.IsValid() {
					return nil, fmt.Errorf("hop %s@%s: host %s has no IPv4 underlay address (%v)", h.Interface, h.Host, h.Host, h.Underlay)
				}
				ul = netip.AddrFrom4([4]byte{127, 0, 0, 1}) // same host: its loopback will do
			}
			k = kHop{label: h.Label, underlay: ul}
		default:
			return nil, fmt.Errorf("hop %s: unknown kind %v", h.Interface, h.Kind)
		}
		kr.hops = append(kr.hops, k)
	}
	if len(kr.hops) == 0 {
		return nil, errors.New("route without next hops")
	}
	slices.SortFunc(kr.hops, compareHop)
	kr.hops = slices.CompactFunc(kr.hops, func(a, b kHop) bool { return compareHop(a, b) == 0 })
	for _, h := range kr.hops {
		if !h.local {
			continue
		}
		if v.portByLabel(h.label) == nil {
			return nil, fmt.Errorf("next hop %s: no port with label %d in this VRF", h.addr, h.label)
		}
	}
	return kr, nil
}
