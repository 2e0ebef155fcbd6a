// Package changeset is the list of what one transaction changed, computed
// once by the datastore's writer and handed to everyone who cares:
// validation, the store's rows, the realizer's filter, the data backends
// and the telemetry hub. Nobody walks the two trees again to learn what
// changed: they replay this list.
package changeset

import (
	"iter"

	"github.com/netready/netready/server/tree"
)

// Change is one node that differs between the two versions: Chain runs
// from the root's child down to the node (the new node, or the old one
// when it was deleted); Old or New is nil where the node does not exist on
// that side.
type Change struct {
	Chain    []*tree.Node
	Old, New *tree.Node
}

// Set is what one transaction changed, from Old to New: every differing
// node, parents before children, including everything below a created or
// deleted object.
type Set struct {
	Old, New *tree.Node
	// blocks hold the changes in order. A bulk Set reports 100,000s of
	// changes: Compute gathers them in blocks and Then joins two sets'
	// blocks, so no change is ever copied (copying a slice of pointers
	// that large costs more than the diff itself while the GC runs).
	blocks [][]Change
}

// Blocks start at firstBlock changes and each new one doubles, up to
// blockSize: a small change stays small, and no block is ever copied to
// grow (growing one block by append threw away as much as it kept: for
// the hooks' diff of a batch, ≈ 2.7 KB per Set of garbage).
const (
	firstBlock = 16
	blockSize  = 1024
)

// Compute diffs old and cur once (tree.Diff: shared subtrees are skipped,
// so the cost follows the change) and records every difference.
func Compute(old, cur *tree.Node) *Set {
	s := &Set{Old: old, New: cur}
	var block []Change
	tree.Diff(old, cur, func(chain []*tree.Node, o, n *tree.Node) bool {
		if len(block) == cap(block) {
			if len(block) > 0 {
				s.blocks = append(s.blocks, block)
			}
			block = make([]Change, 0, min(max(2*cap(block), firstBlock), blockSize))
		}
		// tree.Diff gives every call its own chain array, so it can be kept.
		block = append(block, Change{Chain: chain, Old: o, New: n})
		return true
	})
	if len(block) > 0 {
		s.blocks = append(s.blocks, block)
	}
	return s
}

// All returns the changes in order.
func (s *Set) All() iter.Seq[Change] {
	return func(yield func(Change) bool) {
		if s == nil {
			return
		}
		for _, b := range s.blocks {
			for _, c := range b {
				if !yield(c) {
					return
				}
			}
		}
	}
}

// Len returns the number of changes.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	n := 0
	for _, b := range s.blocks {
		n += len(b)
	}
	return n
}

// Walk replays the changes to fn as tree.Diff would report them: when fn
// returns false for a container or list entry, nothing below it is
// reported.
func (s *Set) Walk(fn tree.DiffFunc) {
	var skipped *tree.Node // the node whose descendants are skipped
	depth := 0             // its depth
	for c := range s.All() {
		if skipped != nil && len(c.Chain) > depth && c.Chain[depth-1] == skipped {
			continue
		}
		skipped = nil
		if !fn(c.Chain, c.Old, c.New) {
			skipped, depth = c.Chain[len(c.Chain)-1], len(c.Chain)
		}
	}
}

// Then returns the changes of s followed by those of next, a transaction
// on top of s.New (the state a commit's hooks write after validation):
// together they take s.Old to next.New. A node changed in both appears in
// both parts; its New in the first part may be an intermediate version,
// but every leaf and deleted subtree reported is final. The result shares
// the changes of both (they are never modified).
func (s *Set) Then(next *Set) *Set {
	if next.Empty() {
		return &Set{Old: s.Old, New: next.newOr(s.New), blocks: s.blocks}
	}
	blocks := make([][]Change, 0, len(s.blocks)+len(next.blocks))
	blocks = append(append(blocks, s.blocks...), next.blocks...)
	return &Set{Old: s.Old, New: next.New, blocks: blocks}
}

func (s *Set) newOr(dflt *tree.Node) *tree.Node {
	if s == nil {
		return dflt
	}
	return s.New
}

// Empty reports whether nothing changed.
func (s *Set) Empty() bool { return s == nil || len(s.blocks) == 0 }
