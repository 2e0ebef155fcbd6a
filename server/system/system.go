// Package system publishes the server's own operational state under
// /system/state (netready-system.yang): version, boot time, uptime, the
// newest commit, and how many clients and subscriptions are open. It is
// ordinary state in the data tree, so Get and Subscribe serve it like any
// other.
package system

import (
	"context"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/stats"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
)

// uptimeEvery is how often uptime is refreshed: often enough for a
// dashboard, rare enough that subscribers to /system/state are not flooded.
const uptimeEvery = 10 * time.Second

// settle is how long count changes are gathered before they are written,
// so a thousand subscribers arriving at once cause a few updates, not a
// thousand.
const settle = 50 * time.Millisecond

// State maintains /system/state.
type State struct {
	version string
	boot    time.Time
	paths   paths
	clients atomic.Int64
	subs    atomic.Int64
	repl    atomic.Pointer[Replication]
	changed chan struct{}
}

// Replication is this server's place among replicas.
type Replication struct {
	Role, Leader, LeaderAddr string
}

type paths struct {
	version, boot, uptime, commitID, commitTime, clients, subs tree.Path
	role, leader, leaderAddr                                   tree.Path
}

// New prepares the state of a server of the given version started at boot.
func New(sch *schema.Schema, version string, boot time.Time) *State {
	s := &State{
		version: version,
		boot:    boot,
		changed: make(chan struct{}, 1),
		paths:   resolvePaths(sch),
	}
	s.repl.Store(&Replication{Role: "standalone"})
	return s
}

// SetReplication publishes this server's replication role and leader.
func (s *State) SetReplication(r Replication) {
	s.repl.Store(&r)
	s.poke()
}

func resolvePaths(sch *schema.Schema) paths {
	leaf := func(name string) tree.Path { return tree.MustResolve(sch.Root, "system", "state", name) }
	return paths{
		version: leaf("version"), boot: leaf("boot-time"), uptime: leaf("uptime"),
		commitID: leaf("last-commit-id"), commitTime: leaf("last-commit-time"),
		clients: leaf("clients"), subs: leaf("subscriptions"),
		role:       tree.MustResolve(sch.Root, "system", "state", "replication", "role"),
		leader:     tree.MustResolve(sch.Root, "system", "state", "replication", "leader"),
		leaderAddr: tree.MustResolve(sch.Root, "system", "state", "replication", "leader-address"),
	}
}

// Rebind makes the state write into trees of sch, a schema that replaced
// the one New was given (models reloaded). Call it while Run is not
// running: before the datastore of sch is opened.
func (s *State) Rebind(sch *schema.Schema) { s.paths = resolvePaths(sch) }

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// NotStored implements datastore.CommitHook: the commit leaves written
// with a commit that was not stored were never published.
func (s *State) NotStored(int) {}

// Committing records a commit in the transaction that commits it; it is
// a datastore.CommitHook.
func (s *State) Committing(t *tree.Txn, _ *datastore.Request, commitID uint64, at time.Time) []byte {
	state := s.paths.commitID[:len(s.paths.commitID)-1] // /system/state, the parent of both leaves
	t.SetLeaves(state, tree.Leaf{Schema: s.paths.commitID[len(state)].Schema, Value: commitID},
		tree.Leaf{Schema: s.paths.commitTime[len(state)].Schema, Value: timestamp(at)})
	return nil
}

// Run publishes the initial state, then keeps uptime and the counts
// current until ctx ends.
func (s *State) Run(ctx context.Context, ds *datastore.Datastore) error {
	snap := ds.Snapshot()
	err := ds.UpdateState(ctx, func(t *tree.Txn) error {
		t.SetLeaf(s.paths.version, s.version)
		t.SetLeaf(s.paths.boot, timestamp(s.boot))
		t.SetLeaf(s.paths.commitID, snap.CommitID)
		s.write(t)
		return nil
	})
	if err != nil {
		return err
	}
	tick := time.NewTicker(uptimeEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-s.changed:
			select {
			case <-time.After(settle):
			case <-ctx.Done():
				return nil
			}
		}
		if err := ds.UpdateState(ctx, func(t *tree.Txn) error { s.write(t); return nil }); err != nil {
			return nil // the datastore is closing
		}
	}
}

func (s *State) write(t *tree.Txn) {
	t.SetLeaf(s.paths.uptime, uint64(time.Since(s.boot)/time.Second))
	t.SetLeaf(s.paths.clients, uint64(s.clients.Load()))
	t.SetLeaf(s.paths.subs, uint64(s.subs.Load()))
	r := s.repl.Load()
	t.SetLeaf(s.paths.role, r.Role)
	if r.Leader != "" {
		t.SetLeaf(s.paths.leader, r.Leader)
		t.SetLeaf(s.paths.leaderAddr, r.LeaderAddr)
	}
}

func (s *State) poke() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// AddSubscriptions counts Subscribe RPCs opening (+1) and closing (-1).
func (s *State) AddSubscriptions(delta int) {
	s.subs.Add(int64(delta))
	s.poke()
}

// ConnStats returns a gRPC stats handler that counts open connections.
func (s *State) ConnStats() stats.Handler { return connCounter{s} }

type connCounter struct{ s *State }

func (c connCounter) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (c connCounter) HandleRPC(context.Context, stats.RPCStats)                       {}
func (c connCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (c connCounter) HandleConn(_ context.Context, st stats.ConnStats) {
	switch st.(type) {
	case *stats.ConnBegin:
		c.s.clients.Add(1)
	case *stats.ConnEnd:
		c.s.clients.Add(-1)
	default:
		return
	}
	c.s.poke()
}
