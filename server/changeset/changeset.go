// Package changeset is the list of what one transaction changed, computed
// once by the datastore's writer and handed to everyone who cares:
// validation, the store's rows, the realizer's filter, the data backends
// and the telemetry hub. Nobody walks the two trees again to learn what
// changed: they replay this list.
package changeset

import "github.com/netready/netready/server/tree"

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
	Changes  []Change
}

// Compute diffs old and cur once (tree.Diff: shared subtrees are skipped,
// so the cost follows the change) and records every difference.
//
// The changes are gathered in blocks of at most blockSize (the first one
// grows as needed, so a small change stays small) and copied once into a
// slice of the exact length: appending to one slice would copy and
// reallocate it over and over (a bulk Set reports 100,000s of changes).
func Compute(old, cur *tree.Node) *Set {
	var (
		full  [][]Change
		block []Change
	)
	tree.Diff(old, cur, func(chain []*tree.Node, o, n *tree.Node) bool {
		if len(block) == blockSize {
			full, block = append(full, block), make([]Change, 0, blockSize)
		}
		// tree.Diff gives every call its own chain array, so it can be kept.
		block = append(block, Change{Chain: chain, Old: o, New: n})
		return true
	})
	if len(full) == 0 {
		return &Set{Old: old, New: cur, Changes: block}
	}
	all := make([]Change, 0, len(full)*blockSize+len(block))
	for _, b := range full {
		all = append(all, b...)
	}
	return &Set{Old: old, New: cur, Changes: append(all, block...)}
}

// blockSize is how many changes Compute gathers per block.
const blockSize = 1024

// Walk replays the changes to fn as tree.Diff would report them: when fn
// returns false for a container or list entry, nothing below it is
// reported.
func (s *Set) Walk(fn tree.DiffFunc) {
	if s == nil {
		return
	}
	var skipped *tree.Node // the node whose descendants are skipped
	depth := 0             // its depth
	for _, c := range s.Changes {
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
// but every leaf and deleted subtree reported is final.
func (s *Set) Then(next *Set) *Set {
	if next == nil || len(next.Changes) == 0 {
		return &Set{Old: s.Old, New: next.newOr(s.New), Changes: s.Changes}
	}
	all := make([]Change, 0, len(s.Changes)+len(next.Changes))
	all = append(append(all, s.Changes...), next.Changes...)
	return &Set{Old: s.Old, New: next.New, Changes: all}
}

func (s *Set) newOr(dflt *tree.Node) *tree.Node {
	if s == nil {
		return dflt
	}
	return s.New
}

// Empty reports whether nothing changed.
func (s *Set) Empty() bool { return s == nil || len(s.Changes) == 0 }
