package tree

import (
	"fmt"

	"github.com/openconfig/ygot/ygot"
	"google.golang.org/grpc/codes"

	"github.com/netready/netready/server/schema"
)

// A row is how the store persists configuration: one row per object (a list
// entry, a presence container, or a container holding set leaves), keyed by
// the object's canonical path, holding the object's own config leaves
// (keys included, defaults and state excluded) as a JSON object. A one-leaf
// Set rewrites one small row, and loading rebuilds the tree row by row.

// RowChange is one row a transaction writes: Old nil for a new row, New nil
// for a deleted one.
type RowChange struct {
	Key      string
	Old, New []byte
}

// Rows returns the row changes between two versions of a tree.
func Rows(old, cur *Node) []RowChange {
	var rows []RowChange
	Diff(old, cur, func(chain []*Node, o, n *Node) bool {
		x := either(o, n)
		if !x.schema.IsDir() || !x.schema.Config {
			return x.schema.Config
		}
		if o != nil && n != nil && sameOwnLeaves(o, n) {
			return true
		}
		ob, nb := rowOf(o), rowOf(n)
		if ob != nil || nb != nil {
			rows = append(rows, RowChange{Key: ChainString(chain), Old: ob, New: nb})
		}
		return true
	})
	return rows
}

// AllRows returns a row for every object of the tree (for a snapshot or a
// full rewrite of the store).
func AllRows(root *Node) []RowChange {
	return Rows(NewRoot(&schema.Schema{Root: root.schema}), root)
}

// sameOwnLeaves reports whether two versions of an object share all their
// config leaves (leaves are immutable, so pointers suffice).
func sameOwnLeaves(o, n *Node) bool {
	ol, nl := ownLeaves(o), ownLeaves(n)
	if len(ol) != len(nl) {
		return false
	}
	for i := range ol {
		if ol[i] != nl[i] {
			return false
		}
	}
	return true
}

func ownLeaves(n *Node) []*Node {
	var out []*Node
	for _, k := range n.kids {
		if k.schema.Config && !k.schema.IsDir() && !k.dflt {
			out = append(out, k)
		}
	}
	return out
}

// rowOf encodes an object's row, or nil when the object needs none.
func rowOf(n *Node) []byte {
	if n == nil {
		return nil
	}
	leaves := ownLeaves(n)
	entry := n.schema.Kind == schema.List
	if len(leaves) == 0 && !entry && !n.schema.Presence {
		return nil
	}
	b := []byte{'{'}
	for i, k := range leaves {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, k.schema.Name...)
		b = append(b, '"', ':')
		b, _ = (&encoder{}).node(b, k)
	}
	return append(b, '}')
}

// LoadRow merges one stored row into the tree being rebuilt by t.
func (t *Txn) LoadRow(key string, data []byte) error {
	gp, err := ygot.StringToStructuredPath(key)
	if err != nil {
		return fmt.Errorf("row %q: bad path: %w", key, err)
	}
	p, err := Resolve(t.root.schema, gp.GetElem())
	if err != nil {
		return fmt.Errorf("row %q: %w", key, err)
	}
	if len(p) == 0 || !target(p).IsDir() {
		return &Error{Code: codes.DataLoss, Path: key, Msg: "row does not name an object"}
	}
	payload, err := DecodeJSON(p, data, false)
	if err != nil {
		return fmt.Errorf("row %q: %w", key, err)
	}
	return t.Merge(p, payload)
}
