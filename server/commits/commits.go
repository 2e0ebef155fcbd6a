// Package commits publishes the newest commits of the commit log as
// operational state under /system/state/commits (netready-system.yang):
// id, time, user, kind (a plain Set, a commit-confirmed step, a rollback)
// and summary, so a client can see what it may roll back to
// (/system/config/rollback-to) with a Get or a Subscribe.
package commits

import (
	"context"
	"time"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/tree"
)

// DefaultSize is how many commits the state shows. The commit log keeps
// more (its retention); rollback-to reaches all of them.
const DefaultSize = 100

// kindSet is the kind of a plain Set.
const kindSet = "set"

// View is the commit list in the tree; a datastore.CommitHook.
type View struct {
	size   int
	list   tree.Path // /system/state/commits/commit
	leaves map[string]*schema.Node
	// ids are the commits in the tree, oldest first. Only the
	// datastore's writer touches them (hooks and state changes run
	// there).
	ids []uint64
}

// New prepares a view of the newest size commits (DefaultSize if <= 0).
func New(sch *schema.Schema, size int) *View {
	if size <= 0 {
		size = DefaultSize
	}
	list := tree.MustResolve(sch.Root, "system", "state", "commits", "commit")
	v := &View{size: size, list: list, leaves: map[string]*schema.Node{}}
	for _, c := range list[len(list)-1].Schema.Children {
		v.leaves[c.Name] = c
	}
	return v
}

// Start publishes the newest stored commits.
func (v *View) Start(ctx context.Context, st store.Store, ds *datastore.Datastore) error {
	var from uint64 = 1
	if last := st.LastCommitID(); last > uint64(v.size) {
		from = last - uint64(v.size) + 1
	}
	var commits []*store.Commit
	err := st.Commits(ctx, from, 0, func(c *store.Commit) error {
		c.Changes = nil // not shown; the log can hold large ones
		commits = append(commits, c)
		return nil
	})
	if err != nil {
		return err
	}
	return ds.UpdateState(ctx, func(t *tree.Txn) error {
		for _, c := range commits {
			v.publish(t, c.ID, c.Time, c.User, c.Kind, c.Summary)
		}
		return nil
	})
}

// Committing adds a commit to the list in its own transaction.
func (v *View) Committing(t *tree.Txn, req *datastore.Request, id uint64, at time.Time) []byte {
	v.publish(t, id, at, req.User, req.Kind, req.Summary)
	return nil
}

// NotStored forgets the newest n commits: they were never published.
func (v *View) NotStored(n int) {
	v.ids = v.ids[:max(0, len(v.ids)-n)]
}

func (v *View) publish(t *tree.Txn, id uint64, at time.Time, user, kind, summary string) {
	if kind == "" {
		kind = kindSet
	}
	leaf := func(name string, val value.Value) tree.Leaf { return tree.Leaf{Schema: v.leaves[name], Value: val} }
	leaves := []tree.Leaf{leaf("id", id), leaf("time", at.UTC().Format(time.RFC3339Nano)), leaf("kind", kind), leaf("summary", summary)}
	if user != "" {
		leaves = append(leaves, leaf("user", user))
	}
	t.SetLeaves(v.entry(id), leaves...)
	v.ids = append(v.ids, id)
	for len(v.ids) > v.size {
		t.Delete(v.entry(v.ids[0]))
		v.ids = v.ids[1:]
	}
}

func (v *View) entry(id uint64) tree.Path {
	p := append(tree.Path(nil), v.list...)
	p[len(p)-1].Keys = []value.Value{id}
	return p
}
