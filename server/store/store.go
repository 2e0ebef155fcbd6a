// Package store is the durable datastore behind the gNMI server.
//
// The server keeps the configuration tree in memory and persists it as rows:
// one row per configuration object (a container or a list entry), keyed by
// the object's canonical path string (for example
// "/tenants/tenant[name=blue]/ports/port[name=g1]") with the object's encoded
// leaves as an opaque value. Keeping the store ignorant of the value format
// lets the schema layer evolve its encoding without touching persistence, and
// keeps the Store interface small enough to have a second backend (etcd)
// later.
//
// Writes come from a single writer goroutine in the server that hands the
// store batches of acknowledged Set transactions (group commit: several Sets,
// one fsync). Next to the rows the store keeps a bounded commit log, the raw
// material for history and rollback.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrClosed is returned by operations on a Store after Close. It is a
// sentinel (never reassigned) so callers can tell shutdown apart from I/O
// failures with errors.Is.
var ErrClosed = errors.New("store: closed")

// RowChange is one row written by a commit: Old is the value before (nil: the
// row did not exist), New the value after (nil: the row is deleted).
//
// Old is not used to write rows; it is kept in the commit log so that a commit
// can be reverted (rollback) and shown as a diff (history) without replaying
// the whole log. A non-nil empty slice is a row that exists with an empty
// value, which is why nil and empty are kept apart everywhere.
type RowChange struct {
	Key      string
	Old, New []byte
}

// Commit is one acknowledged Set transaction.
type Commit struct {
	// ID is assigned by the caller, strictly increasing,
	// LastCommitID()+1 for the first of a batch. The caller owns ids so it
	// can acknowledge a Set with its commit id before the group commit lands.
	ID uint64
	// Time is when the transaction was accepted. It is stored to the
	// nanosecond and read back in UTC (the location is not kept).
	Time time.Time
	// User is the authenticated user, "" if unknown.
	User string
	// Peer is the client address.
	Peer string
	// Summary is short human text, e.g. "update /tenants/tenant[name=blue]".
	Summary string
	// Kind marks a commit that is not a plain Set ("" for one): the
	// commit-confirmed steps and rollbacks (see package confirm), so the
	// log tells them apart without parsing Summary.
	Kind string
	// Detail is what the owner of Kind records with the commit (opaque;
	// kept only when Kind is set): the pending commit-confirmed, in the
	// log record that is written anyway, so it costs no page of its own.
	Detail []byte
	// Changes are the rows written by the transaction, applied in order, so
	// a later change to the same key wins.
	Changes []RowChange
	// Audit, if not nil, is the transaction's audit-log entry (opaque),
	// appended to the audit log in the same durable write as the commit.
	// Commits does not return it: Audit does.
	Audit []byte
	// State is server-owned state that must change atomically with the
	// configuration it derives from (the realization's label and route
	// distinguisher assignments), by key; a nil value deletes the key. It
	// is not part of the commit log.
	State map[string][]byte
}

// Store is the durable datastore. Implementations: bbolt (this package), etcd
// later, so keep it small.
type Store interface {
	// Load calls fn for every row in key order (used once at start-up to
	// rebuild the in-memory tree).
	Load(ctx context.Context, fn func(key string, value []byte) error) error
	// LastCommitID is the id of the newest durable commit (0 for a new store).
	LastCommitID() uint64
	// Apply writes the commits, in order, as ONE atomic durable transaction
	// (one fsync): every RowChange.New is put (nil deletes the key), and each
	// Commit is appended to the commit log. It returns only once the data is
	// on disk; on error nothing of the batch is visible. IDs must continue
	// LastCommitID() without gaps, else error (nothing written).
	Apply(ctx context.Context, commits []*Commit) error
	// Commits calls fn for each logged commit with from <= ID <= to,
	// ascending (to == 0 means up to the newest).
	Commits(ctx context.Context, from, to uint64, fn func(*Commit) error) error
	// AppendAudit durably appends audit entries that belong to no commit
	// (refused Sets).
	AppendAudit(ctx context.Context, entries [][]byte) error
	// Audit calls fn for each retained audit entry, oldest first, with its
	// sequence number.
	Audit(ctx context.Context, fn func(seq uint64, entry []byte) error) error
	// State calls fn, in key order, for every key Commit.State stored
	// (and did not delete since) that starts with prefix, with its newest
	// value. An owner keeps its state as many small keys under one prefix,
	// so a commit rewrites only the keys it changed.
	State(ctx context.Context, prefix string, fn func(key string, value []byte) error) error
	Close() error
}

// ErrTooLarge is wrapped by Apply when a batch exceeds what the backend
// takes in one transaction (etcd's --max-txn-ops and --max-request-bytes):
// nothing of it is written, and the same batch will never fit.
var ErrTooLarge = errors.New("store: transaction too large for the backend")
