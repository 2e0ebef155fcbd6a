// Package replica runs one of several netreadyd replicas that share a
// datastore in etcd (package etcdstore): they elect one leader, the only
// one that writes, and every replica — the leader too — keeps its
// in-memory copy current by following the commit log.
//
// The election is etcd's (client/v3/concurrency): a Session holds a lease
// of TTL seconds that the replica keeps alive; Campaign waits until the
// replica's election key is the oldest. While leading, every store write
// also compares that key's create revision (etcdstore.Store.Guard), so a
// deposed leader — its lease revoked or expired — cannot commit anything
// even before it learns it was deposed.
//
// A Set sent to a follower is refused with Unavailable naming the leader
// and its address, rather than forwarded: forwarding would make the
// follower act for the caller (carry its identity and authorization
// across replicas), and gNMI clients such as gnmic retry on Unavailable.
package replica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/store/etcdstore"
	"github.com/netready/netready/server/tree"
)

// Roles a replica has.
const (
	RoleLeader   = "leader"
	RoleFollower = "follower"
)

// DefaultTTL is the election session's lease: a leader that dies (or is
// cut off from etcd) is replaced within it. Five seconds keeps fail-over
// short while tolerating a busy machine's scheduling hiccups (the lease is
// renewed every TTL/3).
const DefaultTTL = 5 * time.Second

// Options configure a Replica.
type Options struct {
	// Name is this replica's name (default: its address).
	Name string
	// TTL is the election session's lease (default DefaultTTL, whole
	// seconds).
	TTL time.Duration
	Log *slog.Logger
	// OnChange, if set, is told every change of the status (role, leader).
	OnChange func(Status)
	// OnLag, if set, is told how many commits behind the store this
	// replica was each time it learned of new ones (0 on the leader).
	OnLag func(commits uint64)
	// OnLead, if set, runs once the replica is elected and has caught up
	// with the store, before it takes Sets (ctx ends with the term): what
	// only the leader keeps (the commit-confirmed timer) is read from the
	// store there. An error resigns.
	OnLead func(ctx context.Context) error
	// OwnState names the top-level nodes whose state (config false) each
	// replica keeps for itself (its system state, audit view, access
	// policy). The state of every other node is realization status: the
	// leader publishes its own, followers show the leader's.
	OwnState []string
	// StatusInterval is how often the leader publishes a changed status
	// (default DefaultStatusInterval): it bounds both the lag and the
	// writes per second.
	StatusInterval time.Duration
}

// Status is what a replica knows of the election.
type Status struct {
	Role       string // RoleLeader or RoleFollower
	Leader     string // the leader's name, "" while none is known
	LeaderAddr string // the leader's gNMI address
	// Changes counts the leaders this replica has seen take over.
	Changes uint64
	// Connected says the replica holds a live etcd session: false, it is
	// cut off from etcd (its copy may be stale; it cannot lead).
	Connected bool
}

// leaderValue is what the leader publishes in its election key.
type leaderValue struct {
	Name string `json:"name"`
	Addr string `json:"addr"`
}

// Replica is one replica's election and follower loop.
type Replica struct {
	cli  *clientv3.Client
	st   *etcdstore.Store
	opts Options
	log  *slog.Logger

	leading atomic.Bool
	mu      sync.Mutex
	status  Status
	cancel  context.CancelFunc
	done    sync.WaitGroup
	// own is Options.OwnState as a set.
	own map[string]bool
	// pending is the published status a follower read and has not
	// applied yet (waiting for the commits it was built at).
	pending pendingStatus
	// applying makes applyStatus one at a time (its edits are worked
	// out from a snapshot, against the status the last call wrote).
	applying sync.Mutex
}

// New returns a replica writing through st (opened Guarded) with cli.
// It does nothing until Start; Writable refuses until it leads.
func New(cli *clientv3.Client, st *etcdstore.Store, opts Options) *Replica {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.StatusInterval <= 0 {
		opts.StatusInterval = DefaultStatusInterval
	}
	own := map[string]bool{}
	for _, n := range opts.OwnState {
		own[n] = true
	}
	return &Replica{cli: cli, st: st, opts: opts, log: opts.Log, own: own, status: Status{Role: RoleFollower}}
}

// Start follows the commit log into ds from the commit ds loaded (at the
// store's revision) and campaigns, advertising addr as where to send
// Sets, until Close.
func (r *Replica) Start(ds *datastore.Datastore, addr string) {
	if r.opts.Name == "" {
		r.opts.Name = addr
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	cut := etcdstore.Cut{Revision: r.st.Revision(), CommitID: ds.Snapshot().CommitID}
	r.done.Go(func() { r.follow(ctx, ds, cut) })
	r.done.Go(func() { r.followStatus(ctx, ds) })
	r.done.Go(func() { r.campaign(ctx, ds, leaderValue{Name: r.opts.Name, Addr: addr}) })
}

// Close stops following and resigns (the session's lease is revoked, so
// another replica takes over at once rather than after the TTL).
func (r *Replica) Close() {
	if r.cancel != nil {
		r.cancel()
		r.done.Wait()
	}
}

// Writable is the datastore's Writable: nil while this replica leads,
// else Unavailable naming the leader.
func (r *Replica) Writable() error {
	if r.leading.Load() {
		return nil
	}
	st := r.Status()
	if st.Leader == "" {
		st.Leader, st.LeaderAddr = r.askLeader()
	}
	return &tree.Error{Kind: tree.KindUnavailable, Msg: r.notLeading(st)}
}

// notLeading says why a replica that does not lead refuses a Set, and
// where to send it instead.
func (r *Replica) notLeading(st Status) string {
	name := r.opts.Name
	switch {
	case st.Leader == name && !st.Connected:
		// Its election key outlives the session until the lease ends.
		return fmt.Sprintf("replica %s lost its etcd session and no longer leads; another replica is elected within %v; retry", name, r.opts.TTL)
	case st.Leader == name:
		return fmt.Sprintf("replica %s was elected and is catching up with the store; retry", name)
	case st.Leader != "":
		return fmt.Sprintf("replica %s is a follower and takes no Sets: the leader is %s at %s", name, st.Leader, st.LeaderAddr)
	default:
		return fmt.Sprintf("replica %s is a follower and takes no Sets: no leader is elected right now; retry", name)
	}
}

// askLeader reads the leader from etcd, for a refusal made before the
// election was observed ("" if there is none or etcd does not answer).
func (r *Replica) askLeader() (name, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, err := r.cli.Get(ctx, r.st.Prefix()+"election/", clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) == 0 {
		return "", ""
	}
	var v leaderValue
	if json.Unmarshal(resp.Kvs[0].Value, &v) != nil {
		return "", ""
	}
	return v.Name, v.Addr
}

// Status is the replica's view of the election.
func (r *Replica) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// setStatus changes the status and tells OnChange, under the lock so
// that OnChange sees the changes one at a time and in order.
func (r *Replica) setStatus(fn func(*Status)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(&r.status)
	if r.opts.OnChange != nil {
		r.opts.OnChange(r.status)
	}
}

// follow applies every transaction of the commit log to ds, in order;
// after a compaction it loads afresh and goes on from there.
func (r *Replica) follow(ctx context.Context, ds *datastore.Datastore, cut etcdstore.Cut) {
	for ctx.Err() == nil {
		err := r.st.Follow(ctx, cut, func(commits []*store.Commit, rev int64) error {
			if r.opts.OnLag != nil {
				newest, served := commits[len(commits)-1].ID, ds.Snapshot().CommitID
				r.opts.OnLag(newest - min(newest, served))
			}
			if err := ds.ApplyCommitted(ctx, commits); err != nil {
				return err
			}
			newest := commits[len(commits)-1]
			r.st.Observed(newest.ID)
			cut.Revision = rev
			if r.hasPending() {
				r.applyStatus(ctx, ds) // it waited for these commits
			}
			return nil
		})
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("following the commit log failed; loading afresh", "err", err)
		if cut, err = r.reload(ctx, ds); err != nil {
			r.log.Error("reloading from etcd failed; retrying", "err", err)
			sleep(ctx, time.Second)
		} else if r.hasPending() {
			r.applyStatus(ctx, ds)
		}
	}
}

// reload replaces ds's configuration with a fresh load of the store.
func (r *Replica) reload(ctx context.Context, ds *datastore.Datastore) (etcdstore.Cut, error) {
	var cut etcdstore.Cut
	root, err := ds.LoadRows(func(fn func(string, []byte) error) error {
		var err error
		cut, err = r.st.LoadAt(ctx, fn)
		return err
	})
	if err != nil {
		return cut, err
	}
	if err := ds.ReplaceCommitted(ctx, root, cut.CommitID); err != nil {
		return cut, err
	}
	r.st.Observed(cut.CommitID)
	return cut, nil
}

// campaign runs elections until ctx ends: campaign, lead until the
// session ends, campaign again with a new session.
func (r *Replica) campaign(ctx context.Context, ds *datastore.Datastore, val leaderValue) {
	value, _ := json.Marshal(val)
	for ctx.Err() == nil {
		sess, err := concurrency.NewSession(r.cli, concurrency.WithTTL(int(r.opts.TTL/time.Second)), concurrency.WithContext(ctx))
		if err != nil {
			r.log.Warn("no etcd session for the election; retrying", "err", err)
			r.setStatus(func(s *Status) { s.Connected = false })
			sleep(ctx, time.Second)
			continue
		}
		r.setStatus(func(s *Status) { s.Connected = true })
		el := concurrency.NewElection(sess, r.st.Prefix()+"election/")
		sctx, stop := context.WithCancel(ctx)
		context.AfterFunc(sessionDone(sess), stop)
		var wg sync.WaitGroup
		wg.Go(func() { r.observe(sctx, el) })
		if err := el.Campaign(sctx, string(value)); err == nil {
			r.lead(sctx, ds, el)
		} else if ctx.Err() == nil {
			r.log.Warn("campaign ended", "err", err)
		}
		stop()
		wg.Wait()
		r.leading.Store(false)
		r.setStatus(func(s *Status) { s.Role, s.Connected = RoleFollower, false })
		r.resign(sess)
	}
}

// resignTimeout bounds the revocation of the lease when a session ends:
// a replica cut off from etcd must not hang its stop on it.
const resignTimeout = time.Second

// resign revokes the session's lease, which deletes the election key: a
// successor is elected at once rather than after the TTL. It uses a
// context of its own, since on a clean stop ctx (and with it the
// session's context, which Session.Close would use) is already
// cancelled. A lease already expired or revoked is refused harmlessly.
func (r *Replica) resign(sess *concurrency.Session) {
	ctx, cancel := context.WithTimeout(context.Background(), resignTimeout)
	defer cancel()
	if _, err := r.cli.Revoke(ctx, sess.Lease()); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		r.log.Warn("resigning: the election lease was not revoked; it expires with its TTL", "err", err)
	}
	sess.Orphan() // stop renewing it
}

// sessionDone is a context that ends with the session.
func sessionDone(sess *concurrency.Session) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-sess.Done(); cancel() }()
	return ctx
}

// lead makes this replica the writer once it serves everything the
// store holds, and stays so until ctx (the session) ends.
func (r *Replica) lead(ctx context.Context, ds *datastore.Datastore, el *concurrency.Election) {
	if err := r.st.Resync(ctx); err != nil {
		r.log.Error("elected but cannot read the store; resigning", "err", err)
		return
	}
	for ds.Snapshot().CommitID < r.st.LastCommitID() {
		if !sleep(ctx, 5*time.Millisecond) {
			return
		}
	}
	if r.opts.OnLead != nil {
		if err := r.opts.OnLead(ctx); err != nil {
			r.log.Error("elected but could not take over; resigning", "err", err)
			return
		}
	}
	select {
	case <-r.st.Unknown(): // a previous term's
	default:
	}
	r.st.Guard(el.Key(), el.Rev())
	if r.opts.OnLag != nil {
		r.opts.OnLag(0) // its own commits are not followed: it is never behind
	}
	r.leading.Store(true)
	if err := r.clearStatus(ctx, ds); err != nil {
		r.leading.Store(false)
		r.log.Error("elected but could not clear the previous leader's status; resigning", "err", err)
		return
	}
	pctx, stopPub := context.WithCancel(ctx)
	var pub sync.WaitGroup
	defer func() { stopPub(); pub.Wait() }()
	pub.Go(func() { r.publishStatus(pctx, ds) })
	r.setStatus(func(s *Status) { s.Role = RoleLeader })
	r.log.Info("leading", "name", r.opts.Name, "commit", r.st.LastCommitID())
	select {
	case <-ctx.Done():
	case <-r.st.Unknown():
		// A refused Set may be in etcd after all, its realization
		// undone: the next term (maybe this replica's again) starts
		// afresh and reconciles the backends with what etcd holds.
		r.log.Error("a store write's outcome is unknown; resigning so that the next leader reconciles", "name", r.opts.Name)
	}
	r.leading.Store(false)
	r.log.Warn("no longer leading", "name", r.opts.Name)
}

// observe keeps the status's leader current.
func (r *Replica) observe(ctx context.Context, el *concurrency.Election) {
	for resp := range el.Observe(ctx) {
		if len(resp.Kvs) == 0 {
			continue
		}
		var v leaderValue
		if err := json.Unmarshal(resp.Kvs[0].Value, &v); err != nil {
			r.log.Warn("unreadable leader value", "err", err)
			continue
		}
		r.setStatus(func(s *Status) {
			if s.Leader != v.Name || s.LeaderAddr != v.Addr {
				s.Changes++
			}
			s.Leader, s.LeaderAddr = v.Name, v.Addr
		})
	}
}

// sleep waits d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
