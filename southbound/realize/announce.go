package realize

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/routing"
)

// Announcer publishes the realized state beyond the backends: the BGP
// speaker (southbound/bgp). It takes part in the transaction after every
// backend has succeeded, so a refused Set announces nothing; its failure
// refuses the Set like a backend's.
type Announcer interface {
	// Relevant reports whether a transaction changes the announcer's own
	// configuration (a Set that touches no backend may still concern it).
	Relevant(walk func(tree.DiffFunc)) bool
	// Announce makes the announcer hold what root configures for it and
	// the routes of res, which has only the hosts whose backend realized
	// it. Called again with the previous state to step back.
	Announce(ctx context.Context, root *tree.Node, res routing.Result) error
}

// Checker is implemented by announcers that can tell, from the candidate
// configuration alone, that they cannot realize it (a connection whose
// isolation the server cannot build): Prepare asks them before any
// backend is touched, and returns their error (a tree.Error naming the
// leaf) as the Set's.
type Checker interface {
	Check(root *tree.Node) error
}

// Announcers is several announcers taking part in the transaction as one,
// in order: relevant when any is, checked one after the other, and each
// announced even when one before it failed, so that one that cannot take
// the committed state at start does not keep the others from it (in a
// transaction the engine steps every one back when any fails).
type Announcers []Announcer

// Relevant implements Announcer.
func (as Announcers) Relevant(walk func(tree.DiffFunc)) bool {
	return slices.ContainsFunc(as, func(a Announcer) bool { return a.Relevant(walk) })
}

// Announce implements Announcer.
func (as Announcers) Announce(ctx context.Context, root *tree.Node, res routing.Result) error {
	var errs []error
	for _, a := range as {
		errs = append(errs, a.Announce(ctx, root, res))
	}
	return errors.Join(errs...)
}

// Check implements Checker.
func (as Announcers) Check(root *tree.Node) error {
	for _, a := range as {
		if c, ok := a.(Checker); ok {
			if err := c.Check(root); err != nil {
				return err
			}
		}
	}
	return nil
}

// check asks the announcer whether it can realize root, for a transaction
// that concerns it.
func (e *Engine) check(cs *changeset.Set) error {
	if c, ok := e.ann.(Checker); ok && e.announces(cs) {
		return c.Check(cs.New)
	}
	return nil
}

// announces reports whether a transaction concerns the announcer.
func (e *Engine) announces(cs *changeset.Set) bool {
	return e.ann != nil && e.ann.Relevant(cs.Walk)
}

// announce hands the announcer root and the part of res the backends in
// up hold. The caller holds e.mu.
func (e *Engine) announce(ctx context.Context, root *tree.Node, res routing.Result, up func(backend string) bool) error {
	if e.ann == nil {
		return nil
	}
	return e.ann.Announce(ctx, root, realizedPart(res, up))
}

// announceCurrent announces the engine's committed state again: at
// start, and to step back from a refused or lost transaction. Failure is
// logged: the next transaction announces again. The caller holds e.mu.
func (e *Engine) announceCurrent(ctx context.Context) {
	up := func(name string) bool {
		b := e.backends[name]
		return b != nil && b.drv != nil && b.cfg.AdminUp
	}
	if err := e.announce(ctx, e.root, e.result, up); err != nil {
		e.log.Error("realize: announcing the committed state", "err", err)
	}
}

// announceFailed is the error that refuses a transaction the announcer
// could not take.
func announceFailed(err error) error {
	return &tree.Error{Kind: tree.KindAborted, Path: "/bgp", Msg: fmt.Sprintf("the BGP speaker or the site gateway could not take the transaction: %v; it was undone on every backend", err)}
}

// realizedPart is res without the hosts of backends that do not hold it
// (admin down, or whose driver could not be opened): only what is
// realized is announced.
func realizedPart(res routing.Result, up func(backend string) bool) routing.Result {
	out := routing.Result{Hosts: make(map[string]*routing.HostView, len(res.Hosts)), Warnings: res.Warnings}
	for name, h := range res.Hosts {
		if up(h.Backend) {
			out.Hosts[name] = h
		}
	}
	return out
}
