package confirm

import (
	"time"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
)

// paths locate /system/state/commit-confirmed (netready-system.yang).
type paths struct {
	container, id, commit, deadline tree.Path
}

func resolvePaths(sch *schema.Schema) paths {
	leaf := func(name string) tree.Path {
		return tree.MustResolve(sch.Root, "system", "state", "commit-confirmed", name)
	}
	return paths{
		container: tree.MustResolve(sch.Root, "system", "state", "commit-confirmed"),
		id:        leaf("id"), commit: leaf("commit-id"), deadline: leaf("rollback-time"),
	}
}

// write publishes p as the pending commit (nil: none).
func (m *Manager) write(t *tree.Txn, p *Pending) {
	if p == nil {
		if tree.Lookup(t.Root(), m.paths.id) != nil {
			t.Delete(m.paths.container)
		}
		return
	}
	t.SetLeaf(m.paths.id, p.ID)
	t.SetLeaf(m.paths.commit, p.Commit)
	t.SetLeaf(m.paths.deadline, stamp(p.Deadline))
}

// Committing implements datastore.CommitHook: a commit-confirmed step
// publishes the pending commit it leaves, with the commit.
func (m *Manager) Committing(t *tree.Txn, req *datastore.Request, _ uint64, _ time.Time) []byte {
	if req.Action != nil {
		m.write(t, m.cur)
	}
	return nil
}

// NotStored implements datastore.CommitHook; Done(false) already went
// back.
func (m *Manager) NotStored(int) {}
