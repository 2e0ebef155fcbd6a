// Package access joins authentication (server/auth: who is calling) and
// authorization (server/authz: what a role may do) into the answers the
// gNMI server asks for every RPC (gnmiserver.Access): what the caller may
// read or subscribe to, whether each change of a Set is allowed, and how
// many streams the caller may hold open.
package access

import (
	"context"
	"sync"
	"sync/atomic"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/auth"
	"github.com/netready/netready/server/authz"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/server/validate"
)

// Control answers access questions from the current policy.
type Control struct {
	policy     atomic.Pointer[authz.Policy]
	maxStreams int

	mu      sync.Mutex
	streams map[string]int // open streams per user
}

// New returns a control over policy allowing each user maxStreams
// concurrent streaming RPCs (0: no limit).
func New(policy *authz.Policy, maxStreams int) *Control {
	c := &Control{maxStreams: maxStreams, streams: map[string]int{}}
	c.policy.Store(policy)
	return c
}

// SetPolicy replaces the policy (a reload); RPCs started later use it.
func (c *Control) SetPolicy(p *authz.Policy) { c.policy.Store(p) }

// Policy returns the current policy.
func (c *Control) Policy() *authz.Policy { return c.policy.Load() }

// subject is the caller as the policy knows it. It is a value: every Set
// asks four times, and a caller the policy permits everything (the common
// case) needs no copy on the heap; only what keeps it (a scope or writer
// judging path by path) copies it there.
func subject(ctx context.Context) (authz.Subject, bool) {
	id, ok := auth.FromContext(ctx)
	if !ok {
		return authz.Subject{}, false
	}
	return authz.Subject{User: id.User, Roles: id.Roles, Tenants: id.Tenants}, true
}

// Caller names the authenticated user and roles.
func (c *Control) Caller(ctx context.Context) (string, []string) {
	if id, ok := auth.FromContext(ctx); ok {
		return id.User, id.Roles
	}
	return "", nil
}

var root []*gpb.PathElem

// Readable returns what the caller may read (subscribe: by Subscribe).
// A caller without an identity sees nothing: authentication runs before
// every RPC, so that is a server bug, and it fails closed.
func (c *Control) Readable(ctx context.Context, subscribe bool) tree.PathVisibleFunc {
	op := authz.Read
	if subscribe {
		op = authz.Subscribe
	}
	return c.scope(ctx, op)
}

// WriteScope returns what the caller may write: Visible where all of the
// subtree, nil for everything.
func (c *Control) WriteScope(ctx context.Context) tree.PathVisibleFunc {
	return c.scope(ctx, authz.Write)
}

func (c *Control) scope(ctx context.Context, op authz.Op) tree.PathVisibleFunc {
	s, ok := subject(ctx)
	p := c.policy.Load()
	if !ok {
		return func([]*gpb.PathElem) tree.Visibility { return tree.Hidden }
	}
	if p.Decide(&s, op, root) == authz.Permit {
		return nil // everything: skip the per-subtree questions
	}
	kept := s
	return func(path []*gpb.PathElem) tree.Visibility { return visibility(p.Decide(&kept, op, path)) }
}

// visibility is what a decision lets the caller see.
func visibility(d authz.Decision) tree.Visibility {
	switch d {
	case authz.Permit:
		return tree.Visible
	case authz.Partial:
		return tree.Partly
	}
	return tree.Hidden
}

// Writable returns the judge of every change of the caller's Sets: each
// changed leaf and each created or deleted object must be writable as a
// whole (a partly writable object cannot be deleted). It also tells what
// the caller may read, so that wildcard deletes expand only over that and
// refusals name and count nothing else. It is nil when the caller may
// read and write everything.
func (c *Control) Writable(ctx context.Context) validate.Authorizer {
	s, ok := subject(ctx)
	p := c.policy.Load()
	if !ok {
		return writer{policy: p}
	}
	if p.Decide(&s, authz.Write, root) == authz.Permit && p.Decide(&s, authz.Read, root) == authz.Permit {
		return nil
	}
	kept := s
	return writer{policy: p, subject: &kept}
}

// writer is one caller's rights under one policy.
type writer struct {
	policy  *authz.Policy
	subject *authz.Subject // nil: no identity (fails closed)
}

// Readable implements validate.Authorizer.
func (w writer) Readable(path []*gpb.PathElem) tree.Visibility {
	if w.subject == nil {
		return tree.Hidden
	}
	return visibility(w.policy.Decide(w.subject, authz.Read, path))
}

// MayChange implements validate.Authorizer.
func (w writer) MayChange(chain []*tree.Node, _, _ *tree.Node) error {
	if sch := chain[len(chain)-1].Schema(); sch.Kind == schema.Container && !sch.Presence {
		// No data by itself: created implicitly above what the caller
		// may write, and its contents are judged one by one.
		return nil
	}
	path := tree.ChainPath(chain)
	if w.subject != nil && w.policy.Decide(w.subject, authz.Write, tree.GNMIElems(path)) == authz.Permit {
		return nil
	}
	user := "anonymous"
	if w.subject != nil {
		user = w.subject.User
	}
	return &tree.Error{Kind: tree.KindDenied, Path: tree.PathString(path), Msg: "user " + user + " may not change this"}
}

// MayWrite reports whether the caller may write anything at or below path
// (a request path, possibly with wildcards). A Set naming a path where it
// may write nothing is refused whether or not data exists there, so the
// answer never tells what exists.
func (c *Control) MayWrite(ctx context.Context, path []*gpb.PathElem) bool {
	s, ok := subject(ctx)
	return ok && c.policy.Load().Decide(&s, authz.Write, path) != authz.Deny
}

// OpenStream counts a streaming RPC of the caller against its limit. The
// returned release must be called when the stream ends.
func (c *Control) OpenStream(ctx context.Context) (release func(), err error) {
	user, _ := c.Caller(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.maxStreams > 0 && c.streams[user] >= c.maxStreams {
		return nil, status.Errorf(codes.ResourceExhausted, "user %s has %d streams open, the limit", user, c.maxStreams)
	}
	c.streams[user]++
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.streams[user]--; c.streams[user] <= 0 {
			delete(c.streams, user)
		}
	}, nil
}
