// Package southbound is where committed changes leave NetReady for the
// networks that realize them. A backend entry (/backends/backend) names a
// driver kind; each host is served by exactly one backend, and every change
// for objects on a host goes to that host's backend.
//
// This package defines the contract drivers implement and the registry
// that turns a backend's configuration into a running driver. The
// realization core (southbound/realize) computes the per-backend changes,
// applies them as one transaction over every backend and reports status.
package southbound

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/netready/netready/southbound/l2"
	"github.com/netready/netready/southbound/routing"
)

// Driver is an open connection to one backend: a Forwarder, which
// realizes computed forwarding state (VRFs, ports, routes), or a
// DataDriver, which carries configuration data itself to a generic
// target. Factories return one of the two.
type Driver interface {
	// Close releases the driver's resources; it leaves the backend's
	// state as it is.
	Close() error
}

// Forwarder realizes the forwarding state of the hosts one backend serves.
//
// Implementations must be idempotent: creating what exists replaces it,
// deleting what is missing succeeds, so the realization core can undo a
// failed transaction by applying the reverse changes, and reconciliation
// can replay the full desired state. A Forwarder is used by one goroutine
// at a time.
type Forwarder interface {
	Driver
	// Apply applies changes in order and returns when they are in effect,
	// or the error of the first that failed (the changes before it may be
	// in effect). ctx carries the backend's timeout.
	Apply(ctx context.Context, changes []routing.Change) error
	// Reconcile makes the backend hold exactly hosts (every host the
	// backend serves, with or without VRFs): it reads what the backend
	// has, corrects every difference and returns them, one line per
	// difference ("host-a: VRF blue/blue: route 10.1.1.6/32 missing"), or
	// none when the backend was in sync.
	Reconcile(ctx context.Context, hosts []*routing.HostView) (drift []string, err error)
}

// L2Forwarder is implemented by the forwarders of the kinds that declare
// Capabilities.L2: they realize the tenants' L2 networks (southbound/l2)
// on the hosts they serve. The realization core gives a forwarder its L2
// changes in the same transaction (and undo, and reconciliation) as its
// L3 changes, right after them. The same rules hold as for Forwarder:
// idempotent, one goroutine at a time.
type L2Forwarder interface {
	// ApplyL2 applies changes in order (deletes before sets) and
	// returns when they are in effect, or the error of the first that
	// failed.
	ApplyL2(ctx context.Context, changes []l2.Change) error
	// ReconcileL2 makes the backend hold exactly the L2 segments of
	// hosts (every host the backend serves, with or without segments)
	// and returns each difference it corrected, one line each.
	ReconcileL2(ctx context.Context, hosts []*l2.HostView) (drift []string, err error)
}

// Backend is the configuration of one backend entry, as a driver sees it.
type Backend struct {
	Name     string
	Driver   string
	Endpoint string
	Options  map[string]string
	// Timeout bounds each Apply and Reconcile on this backend.
	Timeout time.Duration
}

// Factory opens a driver for a backend. It fails on configuration the
// driver cannot use (an unknown option, a malformed endpoint), so such a
// backend is refused when it is configured, not when it is first used.
type Factory func(ctx context.Context, b Backend) (Driver, error)

// Capabilities is what a driver kind can realize. The realization core
// refuses, when the change is committed, intent placed on a backend whose
// driver cannot realize it (FailedPrecondition naming the path and the
// backend), so nothing is accepted that the network will not hold.
type Capabilities struct {
	// Forwarding: the driver is a Forwarder, so hosts may be placed on
	// its backends. Data drivers carry configuration only.
	Forwarding bool
	// VLAN: the forwarder demultiplexes 802.1Q-tagged sub-interfaces of a
	// vNIC (interface type vlan), not only untagged interfaces.
	VLAN bool
	// L2: the forwarder realizes L2 networks (netready-l2network).
	L2 bool
	// IPv6: the forwarder realizes IPv6 routes (bindings with IPv6
	// addresses, IPv6 static routes, VPNv6 routes learnt from peers), in
	// every VRF instance of a VPN that has them, tunnelled included.
	IPv6 bool
}

// Plugin is one driver kind: how to open it and what it can realize.
type Plugin struct {
	Open Factory
	Caps Capabilities
}

// Registry maps driver kinds (the backend's driver leaf) to plugins.
type Registry map[string]Plugin

// Open opens the driver b names.
func (r Registry) Open(ctx context.Context, b Backend) (Driver, error) {
	p, ok := r[b.Driver]
	if !ok {
		return nil, fmt.Errorf("backend %s: unknown driver %q (this server has %v)", b.Name, b.Driver, r.Kinds())
	}
	d, err := p.Open(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("backend %s: driver %s: %w", b.Name, b.Driver, err)
	}
	return d, nil
}

// Kinds returns the registered driver kinds, sorted.
func (r Registry) Kinds() []string {
	out := make([]string, 0, len(r))
	for k := range r {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// DataDriver is implemented by generic drivers (gnmi, webhook), which
// carry configuration data itself rather than computed forwarding state:
// the backend's "paths" option (comma-separated data paths, e.g.
// "/netready-sfc:chains") names the subtrees it carries, and the driver
// receives every committed change below them, in the same transaction
// (and undo) as every other backend's changes. Like a Forwarder it must be
// idempotent and is used by one goroutine at a time.
type DataDriver interface {
	Driver
	// ApplyData applies changes in order (deletes first, deepest first;
	// then updates, parents first) as one unit where the backend allows
	// it, and returns when they are in effect or the error.
	ApplyData(ctx context.Context, changes []DataChange) error
	// ReconcileData makes the backend hold exactly state (every object
	// below the carried paths, as Update changes, parents first) and
	// returns the differences it found and corrected, or none when it
	// cannot tell (a write-only backend such as a webhook just replays).
	ReconcileData(ctx context.Context, state []DataChange) (drift []string, err error)
}

// DataChange is one configuration object (a container or list entry) a
// data backend must update or delete.
type DataChange struct {
	Op DataOp
	// Path is the object's canonical data path in gNMI string form
	// (server/gnmipath: gnmi-path-strings.md), with unqualified names and
	// keys sorted by name: "/chains/chain[name=c1][tenant=blue]".
	// gnmipath.Parse reads it back.
	Path string
	// JSON is the object's own leaves and leaf-lists (not its child
	// containers or lists, which are objects of their own) as JSON_IETF;
	// nil for DataDelete.
	JSON []byte
}

// DataOp is what a DataChange does.
type DataOp uint8

// Data change operations.
const (
	DataUpdate DataOp = iota
	DataDelete
)

func (o DataOp) String() string {
	if o == DataDelete {
		return "delete"
	}
	return "update"
}

// PortRef names one bound interface on one host: the VRF instance it is
// attached to (routing.VRF.ID) and the interface (routing.Port.Interface).
type PortRef struct {
	Host, VRF, Interface string
}

// PortCounters are the traffic counters of one bound interface as its
// forwarder counts them. In is traffic from the instance into the network,
// Out traffic the network delivered to the instance.
type PortCounters struct {
	InPackets, InOctets, OutPackets, OutOctets uint64
}

// Counter is implemented by forwarders that count traffic per bound
// interface, so counters are operational state read from the data plane
// itself, never estimated by the server.
type Counter interface {
	// Counters returns the counters of every bound interface the forwarder
	// holds on the given hosts. An interface it does not count is absent.
	Counters(ctx context.Context, hosts []string) (map[PortRef]PortCounters, error)
}

// Prober is implemented by forwarders that can tell whether the instance
// behind each bound interface answers (VNF liveness). The realization core
// asks at an interval and owns the decision: a binding whose instance
// answered and then stops leaves every route's next hops (ECMP and
// fail-over sets) in every VRF, through the same serialized path as a
// Set, and comes back when it answers again; its port stays, and its
// status says why.
type Prober interface {
	// Probe returns what the forwarder knows of the instances behind the
	// bound interfaces on the given hosts. An interface it has no
	// evidence for (not probed, no answer or failure seen yet) is
	// absent. Each call is also the probe's tick: a forwarder that probes
	// actively sends its next probes from it.
	Probe(ctx context.Context, hosts []string) (map[PortRef]Liveness, error)
}

// Liveness is what a probe found of one instance.
type Liveness struct {
	// Answers: the instance answered its newest probe.
	Answers bool
	// Reason says why not ("no carrier", "no ARP reply from 10.1.1.5").
	Reason string
}
