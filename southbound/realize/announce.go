package realize

import (
	"context"
	"fmt"

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
	return &tree.Error{Kind: tree.KindAborted, Path: "/bgp", Msg: fmt.Sprintf("the BGP speaker could not announce the transaction: %v; it was undone on every backend", err)}
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
