package tree

import (
	"fmt"

	"strings"

	"google.golang.org/grpc/codes"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
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
	return RowsOf(func(fn DiffFunc) { Diff(old, cur, fn) })
}

// RowsOf returns the row changes a walk over a transaction's differences
// reports (tree.Diff, or a recorded change set replayed).
func RowsOf(walk func(DiffFunc)) []RowChange {
	var rows []RowChange
	walk(func(chain []*Node, o, n *Node) bool {
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
	p, err := rowPath(t.root.schema, key)
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

// rowPath parses a row key, the canonical path text ChainString writes:
// "/name" elements, a list entry with "[key=value]" for each key in key
// order, and `\` escaping the next character of a value. It is the exact
// inverse of ChainString: ygot's path parser mishandles escapes inside
// keys (a value holding `]` followed by `\` or `/` comes back changed or
// not at all), and a stored key value is data, never a wildcard ("*").
func rowPath(root *schema.Node, key string) (Path, error) {
	bad := func(format string, args ...any) error {
		return &Error{Code: codes.DataLoss, Path: key, Msg: "bad row key: " + fmt.Sprintf(format, args...)}
	}
	var p Path
	s := root
	for i := 0; i < len(key); {
		if key[i] != '/' {
			return nil, bad("expected / at offset %d", i)
		}
		if key == "/" {
			break
		}
		j := i + 1
		for j < len(key) && key[j] != '/' && key[j] != '[' {
			j++
		}
		name := key[i+1 : j]
		c := s.Child(name)
		if c == nil {
			return nil, bad("no element %q under %s", name, s.PathString())
		}
		el := Elem{Schema: c}
		for i = j; i < len(key) && key[i] == '['; i++ {
			eq := strings.IndexByte(key[i:], '=')
			if eq < 0 {
				return nil, bad("key without = in %s", name)
			}
			kname := key[i+1 : i+eq]
			var v strings.Builder
			for i += eq + 1; i < len(key) && key[i] != ']'; i++ {
				if key[i] == '\\' && i+1 < len(key) {
					i++
				}
				v.WriteByte(key[i])
			}
			if i == len(key) {
				return nil, bad("unterminated key of %s", name)
			}
			n := len(el.Keys)
			if c.Kind != schema.List || n >= len(c.Keys) || c.Keys[n].Name != kname {
				return nil, bad("unexpected key %q of %s", kname, name)
			}
			kv, err := value.ParseString(c.Keys[n].ValueType(), v.String())
			if err != nil {
				return nil, bad("key %s: %v", kname, err)
			}
			el.Keys = append(el.Keys, kv)
		}
		if c.Kind == schema.List && len(el.Keys) != len(c.Keys) && (len(el.Keys) > 0 || i < len(key)) {
			return nil, bad("list %s needs its keys", name)
		}
		p = append(p, el)
		s = c
	}
	return p, nil
}
