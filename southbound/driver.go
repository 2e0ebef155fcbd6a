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

	"github.com/netready/netready/southbound/routing"
)

// Driver realizes the forwarding state of the hosts one backend serves.
//
// Implementations must be idempotent: creating what exists replaces it,
// deleting what is missing succeeds, so the realization core can undo a
// failed transaction by applying the reverse changes, and reconciliation
// can replay the full desired state. A Driver is used by one goroutine at a
// time.
type Driver interface {
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
	// Close releases the driver's resources; it leaves the backend's
	// forwarding state as it is.
	Close() error
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

// Registry maps driver kinds (the backend's driver leaf) to factories.
type Registry map[string]Factory

// Open opens the driver b names.
func (r Registry) Open(ctx context.Context, b Backend) (Driver, error) {
	f, ok := r[b.Driver]
	if !ok {
		return nil, fmt.Errorf("backend %s: unknown driver %q (this server has %v)", b.Name, b.Driver, r.Kinds())
	}
	d, err := f(ctx, b)
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
