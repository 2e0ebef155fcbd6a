package ebpffwd

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/routing"
)

// Register adds the driver to r under Kind.
func Register(r southbound.Registry) {
	r[Kind] = southbound.Plugin{Open: Open, Caps: southbound.Capabilities{Forwarding: true, VLAN: true, L2: true}}
}

// The driver realizes computed forwarding state and counts traffic.
var (
	_ southbound.Forwarder = (*Driver)(nil)
	_ southbound.Counter   = (*Driver)(nil)
)

// Open is the driver's southbound.Factory.
func Open(_ context.Context, b southbound.Backend) (southbound.Driver, error) {
	d, err := New(b)
	if err != nil {
		return nil, err
	}
	return d, nil
}

var options = []string{"netns-prefix", "bpffs"}

// Driver realizes the forwarding state of a backend's hosts in eBPF maps
// and vNIC devices in their namespaces. It keeps what it knows of each
// host between calls; Close releases its handles and leaves the data
// plane as it is (programs attached, maps pinned).
type Driver struct {
	// mu serializes Apply and Reconcile with Counters and Probe, which a
	// sampler and the liveness watch call from other goroutines.
	mu      sync.Mutex
	backend string
	prefix  string
	bpffs   string
	hosts   map[string]*host
	epoch   uint64 // counts Apply, Reconcile, Counters and Probe calls
	closed  bool
	probes  map[string]*hostProbe // VNF liveness, by host (probe.go)
}

// New returns a driver for the backend b. Options: netns-prefix, the
// prefix of the host namespace names (1 to 8 characters of [a-z0-9-],
// DefaultPrefix when unset), and bpffs, the BPF filesystem to pin maps
// in (DefaultBPFFS when unset; mounted there when it is not one yet).
func New(b southbound.Backend) (*Driver, error) {
	if err := southbound.CheckOptions(b, options...); err != nil {
		return nil, err
	}
	d := &Driver{backend: b.Name, prefix: DefaultPrefix, bpffs: DefaultBPFFS, hosts: make(map[string]*host)}
	if v, ok := b.Options["netns-prefix"]; ok {
		if !prefixRE.MatchString(v) {
			return nil, fmt.Errorf("option netns-prefix %q: want 1 to 8 characters of a-z, 0-9 and -", v)
		}
		d.prefix = v
	}
	if v, ok := b.Options["bpffs"]; ok {
		if v == "" || v[0] != '/' {
			return nil, fmt.Errorf("option bpffs %q: want an absolute path", v)
		}
		d.bpffs = v
	}
	return d, nil
}

// Close releases the driver's handles. The data plane stays.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, h := range d.hosts {
		h.close()
	}
	for name := range d.probes {
		d.dropProbe(name)
	}
	d.hosts = nil
	d.closed = true
	return nil
}

// Apply applies changes in order; see southbound.Forwarder. Creating what
// exists updates it, deleting what is missing succeeds. It trusts what it
// learnt of each host (read from the kernel when it first serves it);
// Reconcile reads everything again.
func (d *Driver) Apply(ctx context.Context, changes []routing.Change) error {
	if err := d.begin(); err != nil {
		return err
	}
	defer d.mu.Unlock()
	steps := make([]change, len(changes))
	for i, c := range changes {
		steps[i] = change{host: c.Host, delete: c.Op == routing.Delete,
			do:   func(h *host) error { return h.apply(c) },
			what: func() string { return fmt.Sprintf("VRF %s: %s %s", c.VRF, c.Op, object(c)) }}
	}
	return d.applyChanges(ctx, steps, (*host).dropTunnelIfIdle)
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

// host returns the named host, opened and with what the driver knows of
// it read from the kernel. Once per call of the driver it checks that the
// host's namespace is still the one it has open: a host namespace
// replaced (a host rebuilt) is opened and read again.
func (d *Driver) host(name string) (*host, error) {
	h := d.hosts[name]
	if h != nil && !h.stale && h.checked != d.epoch {
		same, err := h.sameNamespace()
		if err != nil {
			// Gone: let it go (the handles would keep it alive).
			h.close()
			delete(d.hosts, name)
			return nil, err
		}
		h.stale = !same
		h.checked = d.epoch
	}
	var was *host // read again: what the maps do not hold comes from it
	if h != nil && h.stale {
		h.close()
		delete(d.hosts, name)
		was, h = h, nil
	}
	if h == nil {
		var err error
		if h, err = openHost(d.prefix, d.bpffs, name); err != nil {
			return nil, err
		}
		h.keepAddrs(was)
		h.checked = d.epoch
		d.hosts[name] = h
	}
	return h, nil
}

// missingNS is a host namespace that does not exist; it matches
// os.ErrNotExist.
type missingNS string

func (m missingNS) Error() string {
	return fmt.Sprintf("network namespace %s not found (%s realizes a host in the namespace of that name, which it does not create)", string(m), Kind)
}

func (missingNS) Unwrap() error { return os.ErrNotExist }
