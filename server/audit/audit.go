// Package audit keeps the audit log: one entry per Set request, accepted
// or refused, saying who asked for what from where and what came of it.
// Entries are stored durably (an accepted Set's entry in the same store
// transaction as its commit) and published read-only under /audit
// (netready-audit.yang), where by default only administrators may read
// them. Each entry is bounded in size (Bound), and retention bounds the
// log in entries and in bytes, both in the store and in the tree.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/tree"
)

// Results of a request.
const (
	Accepted = "accepted"
	Denied   = "denied"
	Invalid  = "invalid"
	Failed   = "failed"
)

// Entry is one audit record, stored as JSON.
type Entry struct {
	ID         uint64    `json:"id"`
	Time       time.Time `json:"time"`
	User       string    `json:"user,omitempty"`
	Roles      []string  `json:"roles,omitempty"`
	Peer       string    `json:"peer,omitempty"`
	Operations []string  `json:"operations,omitempty"`
	Result     string    `json:"result"`
	Message    string    `json:"message,omitempty"`
	CommitID   uint64    `json:"commit-id,omitempty"`
}

// Retention bounds the log: the oldest entries go while there are more
// than Entries or they take more than Bytes (as stored, JSON). The newest
// entry always stays.
type Retention struct {
	Entries int
	Bytes   int64
}

// Log records Set requests.
type Log struct {
	st     store.Store
	ds     *datastore.Datastore
	keep   Retention
	list   tree.Path // /audit/entry
	leaves map[string]*schema.Node
	last   atomic.Uint64
	// held are the entries in the tree, oldest first, and bytes their
	// stored size. Only the datastore's writer goroutine touches them
	// (commit hooks and state changes run there).
	held  []held
	bytes int64
}

type held struct {
	id   uint64
	size int64
}

// New prepares a log over st keeping what keep allows; st must be
// opened with the same bounds so that the tree shows what is stored.
func New(sch *schema.Schema, st store.Store, keep Retention) *Log {
	list := tree.MustResolve(sch.Root, "audit", "entry")
	l := &Log{st: st, keep: keep, list: list, leaves: map[string]*schema.Node{}}
	for _, c := range list[1].Schema.Children {
		l.leaves[c.Name] = c
	}
	return l
}

// Start publishes the stored entries and starts recording through ds.
func (l *Log) Start(ctx context.Context, ds *datastore.Datastore) error {
	l.ds = ds
	var (
		entries []Entry
		sizes   []int64
	)
	err := l.st.Audit(ctx, func(_ uint64, b []byte) error {
		var e Entry
		if err := json.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("audit: stored entry: %w", err)
		}
		// Entries stored before entries were bounded may be huge.
		Bound(&e)
		entries, sizes = append(entries, e), append(sizes, int64(len(b)))
		return nil
	})
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		l.last.Store(entries[len(entries)-1].ID)
	}
	return ds.UpdateState(ctx, func(t *tree.Txn) error {
		for i := range entries {
			l.publish(t, &entries[i], sizes[i])
		}
		return nil
	})
}

// Committing records an accepted Set in its own transaction; with
// NotStored, it makes the log a datastore.CommitHook.
func (l *Log) Committing(t *tree.Txn, req *datastore.Request, commitID uint64, at time.Time) []byte {
	e := &Entry{
		ID: l.last.Add(1), Time: at, User: req.User, Roles: req.Roles, Peer: req.Peer,
		Operations: req.Operations, Result: Accepted, CommitID: commitID,
	}
	Bound(e)
	b, _ := json.Marshal(e) // a struct of strings and numbers always marshals
	l.publish(t, e, int64(len(b)))
	return b
}

// NotStored gives back the ids of the newest n entries: their commits
// were not stored, so the ids stay dense.
func (l *Log) NotStored(n int) {
	last := l.last.Add(^uint64(n - 1))
	for len(l.held) > 0 && l.held[len(l.held)-1].id > last {
		l.bytes -= l.held[len(l.held)-1].size
		l.held = l.held[:len(l.held)-1]
	}
}

// Refused records a Set that was not committed: it is stored durably,
// then published. The id is taken in the datastore's writer, like those
// of accepted Sets, so ids are dense and in the order entries are stored.
func (l *Log) Refused(ctx context.Context, e Entry) error {
	return l.ds.UpdateState(ctx, func(t *tree.Txn) error {
		e.ID, e.Time = l.last.Load()+1, time.Now()
		Bound(&e)
		b, err := json.Marshal(&e)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		if err := l.st.AppendAudit(ctx, [][]byte{b}); err != nil {
			return err
		}
		l.last.Store(e.ID)
		l.publish(t, &e, int64(len(b)))
		return nil
	})
}

// publish adds e, stored in size bytes, to the tree and drops entries
// beyond the retention.
func (l *Log) publish(t *tree.Txn, e *Entry, size int64) {
	entry := append(tree.Path(nil), l.list...)
	entry[1].Keys = []value.Value{e.ID}
	leaves := make([]tree.Leaf, 0, 9)
	leaf := func(name string, v value.Value) { leaves = append(leaves, tree.Leaf{Schema: l.leaves[name], Value: v}) }
	leaf("id", e.ID)
	leaf("time", e.Time.UTC().Format(time.RFC3339Nano))
	leaf("result", e.Result)
	setString := func(name, v string) {
		if v != "" {
			leaf(name, v)
		}
	}
	setString("user", e.User)
	setString("peer", e.Peer)
	setString("message", e.Message)
	if e.CommitID != 0 {
		leaf("commit-id", e.CommitID)
	}
	setStrings := func(name string, vs []string) {
		if len(vs) > 0 {
			vals := make([]value.Value, len(vs))
			for i, v := range vs {
				vals[i] = v
			}
			leaves = append(leaves, tree.Leaf{Schema: l.leaves[name], Values: vals})
		}
	}
	setStrings("role", e.Roles)
	setStrings("operation", e.Operations)
	t.SetLeaves(entry, leaves...)
	l.held = append(l.held, held{e.ID, size})
	l.bytes += size
	for len(l.held) > 1 && (len(l.held) > l.keep.Entries || l.bytes > l.keep.Bytes) {
		old := append(tree.Path(nil), l.list...)
		old[1].Keys = []value.Value{l.held[0].id}
		t.Delete(old)
		l.bytes -= l.held[0].size
		l.held = l.held[1:]
	}
}
