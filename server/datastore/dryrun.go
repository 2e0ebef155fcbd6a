package datastore

import (
	"context"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/server/store"
)

// DryRun is what a Set would do: the configuration it would change and
// what the realizer would send to each backend.
type DryRun struct {
	Changes *changeset.Set
	// Plan is nil when there is no realizer or it cannot plan.
	Plan realizer.Plan
}

// DryRun runs req as Apply would, in the writer and against the newest
// tree (after every Set queued before it), and returns what it would do,
// or the error Apply would return. Nothing is stored, realized, published
// or given to the commit hooks, and the validator's index is left as it
// was: a refused dry run and an accepted one leave the same server.
func (d *Datastore) DryRun(ctx context.Context, req *Request) (*DryRun, error) {
	var (
		out *DryRun
		err error
	)
	run := func() {
		if err = ctx.Err(); err != nil {
			return
		}
		snap := d.snap.Load()
		var rows []store.RowChange
		if req.Restore != nil {
			if rows, err = d.restoreRows(req.Restore.To, snap.CommitID, nil); err != nil {
				return
			}
		}
		var cs *changeset.Set
		if cs, _, err = d.apply(snap.Root, req, rows); err != nil {
			return
		}
		out = &DryRun{Changes: cs}
		if pl, ok := d.rz.(realizer.Planner); ok {
			out.Plan, err = pl.Plan(ctx, cs)
		}
	}
	if _, serr := d.submit(&pending{ctx: ctx, run: run, reply: make(chan reply, 1)}); serr != nil {
		return nil, serr
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}
