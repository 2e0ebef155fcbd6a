// Package confirm implements commit-confirmed (gnmi_ext.Commit, openconfig
// reference gnmi-commit-confirmed.md): a Set committed with a rollback
// duration is undone, as a new commit that restores the configuration
// from before it, unless it is confirmed in time.
//
// The Manager is the datastore's Gate: the writer asks it about every
// Set, so the rule "one commit pending at a time, and no other Set while
// it is" holds without a lock against concurrent Sets. The pending commit
// is recorded in the commit log itself: while one is pending, no other
// Set commits, so it is pending exactly when the newest commit is a
// commit-confirmed request or a new rollback duration, whose log record
// (store.Commit.Detail) holds it. The commit that confirms or undoes it
// ends it in the same durable write, so a crash can neither lose it nor
// undo it twice: at start the Manager resumes the timer, or undoes the
// commit at once if the time ran out while the server was down.
package confirm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/tree"
)

// DefaultRollback is the rollback duration of a commit request that names
// none (the reference's default).
const DefaultRollback = 10 * time.Minute

// retryEvery is how long a rollback that failed (a backend refused it)
// waits before it is tried again: the pending commit is never dropped.
const retryEvery = 5 * time.Second

// Commit kinds in the commit log (store.Commit.Kind), as the
// netready-system module names them.
const (
	KindRequest    = "commit-confirmed"
	KindConfirm    = "confirm"
	KindDuration   = "set-rollback-duration"
	KindCancel     = "cancel"
	KindRollback   = "rollback"
	KindRollbackTo = "rollback-to"
)

// Step is what a commit-confirmed request asks for.
type Step int

// The steps of gnmi_ext.Commit, and the timer's own.
const (
	Begin Step = iota
	Confirm
	Cancel
	SetDuration
	expire
)

// Action is a commit-confirmed step, carried by datastore.Request.Action.
type Action struct {
	Step     Step
	ID       string
	Duration time.Duration // Begin, SetDuration
	deadline time.Time     // expire: the deadline the timer was set for
}

// Kind is the commit-log kind of a commit made by a.
func (a *Action) Kind() string {
	return [...]string{KindRequest, KindConfirm, KindCancel, KindDuration, KindRollback}[a.Step]
}

// Pending is the commit awaiting confirmation.
type Pending struct {
	ID       string    `json:"id"`
	Commit   uint64    `json:"commit"`
	Deadline time.Time `json:"deadline"`
}

// Manager keeps the pending commit and its timer.
type Manager struct {
	log *slog.Logger
	// cur is the pending commit after the commits accepted so far,
	// durable after those stored. Only the datastore's writer touches
	// them (Gate and CommitHook methods run there).
	cur, durable *Pending
	paths        paths

	mu     sync.Mutex // guards the fields below
	ds     *datastore.Datastore
	timer  *time.Timer
	armed  *Pending // what the timer is set for
	ctx    context.Context
	stop   context.CancelFunc
	wg     sync.WaitGroup
	closed bool
	// following: a replica's that does not lead (Follow); no timer.
	following bool
}

// New reads the pending commit, if any, from st's newest commit. Pass the
// Manager to the datastore as its Gate (and CommitHook), then Start it.
func New(ctx context.Context, st store.Store, sch *schema.Schema, log *slog.Logger) (*Manager, error) {
	m := &Manager{log: log, paths: resolvePaths(sch)}
	p, err := pendingIn(ctx, st)
	if err != nil {
		return nil, err
	}
	m.cur, m.durable = p, p
	m.ctx, m.stop = context.WithCancel(context.Background())
	return m, nil
}

// pendingIn reads the pending commit (nil: none) from st's newest
// commit, which records it while it is pending.
func pendingIn(ctx context.Context, st store.Store) (*Pending, error) {
	var pending *Pending
	last := st.LastCommitID()
	err := st.Commits(ctx, last, last, func(c *store.Commit) error {
		if c.Kind != KindRequest && c.Kind != KindDuration {
			return nil
		}
		var p Pending
		if err := json.Unmarshal(c.Detail, &p); err != nil {
			return fmt.Errorf("commit %d: pending commit-confirmed: %w", c.ID, err)
		}
		pending = &p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("confirm: %w", err)
	}
	return pending, nil
}

// Follow makes the manager a follower's: no timer runs and no rollback
// is tried. A replica that does not lead learns of the leader's commits
// through the commit log, not through its gate, so what it knows of the
// pending commit is stale; its rollback would be refused, or worse,
// undo a commit confirmed since once it leads. Lead ends it.
func (m *Manager) Follow() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.following = true
	m.armed = nil
	if m.timer != nil {
		m.timer.Stop()
		m.timer = nil
	}
}

// Lead re-reads the pending commit from st, publishes it and sets its
// timer (a commit whose time ran out is rolled back at once): a replica
// calls it once elected and caught up with st, before it takes Sets, so
// its gate refuses and its timer rolls back as the old leader's would.
func (m *Manager) Lead(ctx context.Context, st store.Store) error {
	p, err := pendingIn(ctx, st)
	if err != nil {
		return err
	}
	m.cur, m.durable = p, p // the writer takes no Set until this replica leads
	m.mu.Lock()
	m.following = false
	ds := m.ds
	m.mu.Unlock()
	if err := ds.UpdateState(ctx, func(t *tree.Txn) error { m.write(t, p); return nil }); err != nil {
		return fmt.Errorf("confirm: %w", err)
	}
	m.arm(p)
	return nil
}

// Start publishes the pending commit and sets its timer; a commit whose
// time ran out while the server was down is undone now, before Start
// returns.
func (m *Manager) Start(ctx context.Context, ds *datastore.Datastore) error {
	m.mu.Lock()
	m.ds = ds
	m.mu.Unlock()
	if err := ds.UpdateState(ctx, func(t *tree.Txn) error { m.write(t, m.durable); return nil }); err != nil {
		return err
	}
	p := m.durable
	if p == nil {
		return nil
	}
	if !time.Now().Before(p.Deadline) {
		m.log.Warn("commit-confirmed ran out while the server was down: rolling back", "id", p.ID, "commit", p.Commit, "deadline", p.Deadline)
		m.rollback(p)
		return nil
	}
	m.arm(p)
	return nil
}

// Close stops the timer and waits for a rollback in progress. The pending
// commit stays stored: the next start resumes it.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	if m.timer != nil {
		m.timer.Stop()
	}
	m.stop()
	m.mu.Unlock()
	m.wg.Wait()
}

// Admit implements datastore.Gate: it refuses what the reference refuses
// while (or unless) a commit is pending, and turns a cancel or an expiry
// into a restore of the configuration from before the pending commit.
func (m *Manager) Admit(req *datastore.Request) error {
	a, _ := req.Action.(*Action)
	p := m.cur
	if a == nil {
		if p != nil {
			return &tree.Error{Kind: tree.KindConflict, Msg: fmt.Sprintf("commit %q (commit %d) awaits confirmation until %s: confirm or cancel it first (gnmi_ext.Commit)", p.ID, p.Commit, stamp(p.Deadline))}
		}
		return nil
	}
	switch a.Step {
	case Begin:
		if p != nil {
			return &tree.Error{Kind: tree.KindConflict, Msg: fmt.Sprintf("commit %q (commit %d) already awaits confirmation: one commit at a time", p.ID, p.Commit)}
		}
		return nil
	case expire:
		if p == nil || p.ID != a.ID || !p.Deadline.Equal(a.deadline) {
			return errStale
		}
	default:
		if p == nil {
			return &tree.Error{Kind: tree.KindConflict, Msg: "no commit awaits confirmation"}
		}
		if p.ID != a.ID {
			return &tree.Error{Kind: tree.KindInvalid, Msg: fmt.Sprintf("commit id %q does not match the commit awaiting confirmation", a.ID)}
		}
	}
	if a.Step == Cancel || a.Step == expire {
		req.Restore = &datastore.Restore{To: p.Commit - 1}
	}
	return nil
}

// errStale refuses a timer's rollback that a confirm, cancel or new
// rollback duration overtook.
var errStale = &tree.Error{Kind: tree.KindConflict, Msg: "the timer's commit is no longer pending as it was"}

// Accepted implements datastore.Gate: a request or a new rollback
// duration records the pending commit in its own log record.
func (m *Manager) Accepted(req *datastore.Request, id uint64, at time.Time) []byte {
	a, _ := req.Action.(*Action)
	if a == nil {
		return nil
	}
	switch a.Step {
	case Begin:
		m.cur = &Pending{ID: a.ID, Commit: id, Deadline: at.Add(a.Duration).UTC()}
	case SetDuration:
		p := *m.cur
		p.Deadline = at.Add(a.Duration).UTC()
		m.cur = &p
	default:
		m.cur = nil
	}
	if m.cur == nil {
		return nil
	}
	b, _ := json.Marshal(m.cur) // strings, a number and a time always marshal
	return b
}

// Done implements datastore.Gate: the timer follows what is stored.
func (m *Manager) Done(stored bool) {
	if !stored {
		m.cur = m.durable
		return
	}
	m.durable = m.cur
	m.arm(m.durable)
}

// arm sets the timer for p (stops it for nil).
func (m *Manager) arm(p *Pending) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.armed = p
	if m.timer != nil {
		m.timer.Stop()
		m.timer = nil
	}
	if p == nil || m.closed || m.following {
		return
	}
	m.timer = time.AfterFunc(time.Until(p.Deadline), func() { m.rollback(p) })
}

// rollback undoes p, as a commit of the server's own; a failure other
// than being overtaken is retried, so the pending commit is never lost.
func (m *Manager) rollback(p *Pending) {
	m.mu.Lock()
	if m.closed || m.following {
		m.mu.Unlock()
		return
	}
	m.wg.Add(1)
	ds, ctx := m.ds, m.ctx
	m.mu.Unlock()
	defer m.wg.Done()
	step := fmt.Sprintf("commit-confirmed rollback id=%s commit=%d (not confirmed by %s)", p.ID, p.Commit, stamp(p.Deadline))
	req := &datastore.Request{
		Kind: KindRollback, Summary: step, Operations: []string{step},
		Action: &Action{Step: expire, ID: p.ID, deadline: p.Deadline},
	}
	res, err := ds.Apply(ctx, req)
	switch {
	case err == nil:
		m.log.Warn("commit-confirmed not confirmed in time: configuration rolled back", "id", p.ID, "commit", p.Commit, "rollback_commit", res.CommitID)
	case errors.Is(err, errStale), errors.Is(err, datastore.ErrClosed), ctx.Err() != nil:
	default:
		m.log.Error("commit-confirmed rollback failed; retrying", "id", p.ID, "commit", p.Commit, "err", err, "retry_in", retryEvery.String())
		m.mu.Lock()
		if !m.closed && !m.following && m.armed == p {
			m.timer = time.AfterFunc(retryEvery, func() { m.rollback(p) })
		}
		m.mu.Unlock()
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
