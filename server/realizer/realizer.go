// Package realizer is the contract between the datastore's writer and
// whatever makes accepted transactions real outside the server (the
// southbound engine). It is a leaf of the core: the datastore depends on
// it, southbound implements it, and neither imports the other.
//
// The contract is two-phase. The writer hands each validated transaction
// to Prepare, which applies it to the network and returns a Prepared
// handle; the writer then stores the commit and calls Commit, or, when the
// store write failed, Abort. Status the realizer learns outside a
// transaction (a reconciliation, a failure) travels as data over the
// Updates channel, which the writer drains: the realizer never calls back
// into the datastore and hands it no closures.
package realizer

import (
	"context"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/tree"
)

// Realizer carries accepted transactions out to the network.
type Realizer interface {
	// Prepare makes the network hold cs.New, which the writer will commit
	// on top of cs.Old. It returns a nil Prepared when the transaction
	// concerns no backend. On error the realizer has undone whatever it
	// applied, and the error refuses the transaction.
	Prepare(ctx context.Context, cs *changeset.Set) (Prepared, error)
	// Updates delivers status changes found outside transactions. The
	// writer publishes each as operational state.
	Updates() <-chan Status
}

// Prepared is one transaction applied to the network, awaiting the
// outcome of its store write.
type Prepared interface {
	// State is stored with the commit (store.Commit.State): the
	// realizer's own assignments, so they survive a restart.
	State() map[string][]byte
	// Status is written into the commit's own transaction, so it is
	// published with the commit it describes.
	Status() Status
	// Commit says the commit is durable.
	Commit()
	// Abort says the commit could not be stored: the realizer returns to
	// its state before Prepare and brings the backends back, without
	// holding up the writer.
	Abort()
}

// Status is a list of operational-state edits.
type Status []Edit

// Edit sets a state leaf (Value), a state leaf-list (Values), or deletes
// the node at Path (Delete). Object is how many elements of Path name the
// configured object the state belongs to: an edit whose object no longer
// exists is dropped, so late status never resurrects a deleted object.
type Edit struct {
	Path   tree.Path
	Object int
	Value  value.Value
	Values []value.Value
	Delete bool
}

// Apply writes s into t, skipping edits whose object is gone and leaves
// that already hold their value (so an unchanged status publishes
// nothing). Consecutive leaf edits of one container or entry (an
// object's several status leaves) are written together: their object
// and parent are looked up once and the parent is walked to once, where
// each edit used to walk from the root three times.
func (s Status) Apply(t *tree.Txn) {
	for i := 0; i < len(s); {
		n := s[i:].siblings()
		if n == 0 {
			s[i].apply(t)
			i++
			continue
		}
		s[i : i+n].applyLeaves(t)
		i += n
	}
}

// siblings returns how many edits from the first set leaves of the same
// parent and object, each leaf once; 0 when the first is a delete.
func (s Status) siblings() int {
	first := s[0]
	if first.Delete {
		return 0
	}
	parent := first.Path[:len(first.Path)-1]
	if first.Object > len(parent) {
		return 1 // the object is the leaf itself
	}
	n := 1
	for ; n < len(s); n++ {
		e := s[n]
		if e.Delete || e.Object != first.Object || len(e.Path) != len(first.Path) || !samePath(e.Path[:len(parent)], parent) {
			break
		}
		if s[:n].setsLeaf(e.Path[len(parent)].Schema) {
			break // a later value of the same leaf is judged against the earlier one
		}
	}
	return n
}

// setsLeaf reports whether an edit of s sets the leaf of schema node l.
func (s Status) setsLeaf(l *schema.Node) bool {
	for _, e := range s {
		if e.Path[len(e.Path)-1].Schema == l {
			return true
		}
	}
	return false
}

// applyLeaves writes edits that set leaves of one parent (see siblings).
func (s Status) applyLeaves(t *tree.Txn) {
	first := s[0]
	if first.Object > 0 && tree.Lookup(t.Root(), first.Path[:first.Object]) == nil {
		return
	}
	parentPath := first.Path[:len(first.Path)-1]
	parent := tree.Lookup(t.Root(), parentPath)
	leaves := make([]tree.Leaf, 0, len(s))
	for _, e := range s {
		l := e.Path[len(e.Path)-1].Schema
		var cur *tree.Node
		if parent != nil {
			cur = parent.Child(l)
		}
		if e.Values != nil {
			if cur == nil || !sameValues(cur.Values(), e.Values) {
				leaves = append(leaves, tree.Leaf{Schema: l, Values: e.Values})
			}
		} else if cur == nil || cur.IsDefault() || !value.Equal(cur.Value(), e.Value) {
			leaves = append(leaves, tree.Leaf{Schema: l, Value: e.Value})
		}
	}
	if len(leaves) > 0 {
		t.SetLeaves(parentPath, leaves...)
	}
}

// apply writes one edit.
func (e Edit) apply(t *tree.Txn) {
	if e.Object > 0 && tree.Lookup(t.Root(), e.Path[:e.Object]) == nil {
		return
	}
	cur := tree.Lookup(t.Root(), e.Path)
	switch {
	case e.Delete:
		if cur != nil {
			t.Delete(e.Path)
		}
	case e.Values != nil:
		if cur == nil || !sameValues(cur.Values(), e.Values) {
			t.SetLeafList(e.Path, e.Values)
		}
	default:
		if cur == nil || cur.IsDefault() || !value.Equal(cur.Value(), e.Value) {
			t.SetLeaf(e.Path, e.Value)
		}
	}
}

// samePath reports whether two resolved paths name the same node.
func samePath(a, b tree.Path) bool {
	for i := range a {
		if a[i].Schema != b[i].Schema || len(a[i].Keys) != len(b[i].Keys) {
			return false
		}
		for k := range a[i].Keys {
			if !value.Equal(a[i].Keys[k], b[i].Keys[k]) {
				return false
			}
		}
	}
	return true
}

func sameValues(a, b []value.Value) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !value.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// Planner is implemented by a Realizer that can tell what Prepare would
// do with a transaction without doing it: a dry-run Set shows the plan.
// Plan must leave the realizer, its drivers and the backends untouched.
type Planner interface {
	Plan(ctx context.Context, cs *changeset.Set) (Plan, error)
}

// Plan is what a transaction would change on each backend it concerns,
// by backend name.
type Plan map[string]BackendPlan

// BackendPlan is one backend's part of a Plan: its changes, one line each
// in the order they would be sent ("create vrf host-a blue/blue",
// "update /chains/chain[name=c1]"). Reconcile says the backend would be
// brought to its full state instead (new, reconfigured or re-enabled, or
// asked to); its lines are then what that changes if the backend holds
// what the server believes it holds.
type BackendPlan struct {
	Reconcile bool     `json:"reconcile,omitempty"`
	Changes   []string `json:"changes"`
}
