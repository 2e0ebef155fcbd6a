// Package southbound is where committed changes leave NetReady for the
// networks that realize them. A backend entry (/backends/backend) names a
// driver kind; each host is served by exactly one backend, and every change
// for objects on a host goes to that host's backend.
//
// This package defines the contract drivers implement. The realization
// core that computes per-backend diffs, applies them transactionally and
// reports status is built on it (see the southbound issue).
package southbound

import "context"

// Change is one object a backend must create, update or delete, in the
// order the backend must apply it (creates before what references them,
// deletes in reverse).
type Change struct {
	Op   Op
	Path string // canonical data path of the object
	JSON []byte // the object's configuration as JSON_IETF; nil for Delete
}

// Op is what a Change does.
type Op uint8

// Change operations.
const (
	Create Op = iota
	Update
	Delete
)

// Driver realizes changes on one backend. Implementations must be
// idempotent: applying the same change twice leaves the backend as applying
// it once, so reconciliation can replay the full desired state.
type Driver interface {
	// Apply applies changes in order and returns when they are in effect or
	// the first that failed (ctx carries the backend's timeout).
	Apply(ctx context.Context, changes []Change) error
	// Close releases the driver's connections.
	Close() error
}
