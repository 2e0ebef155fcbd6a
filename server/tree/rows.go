package tree

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/netready/netready/server/gnmipath"
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
//
// The rows are gathered in blocks of at most rowBlock and copied once into
// a slice of the exact length: one growing slice would be copied over and
// over for the 30,000 rows of a bulk Set.
func RowsOf(walk func(DiffFunc)) []RowChange {
	var full [][]RowChange
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
			if len(rows) == rowBlock {
				full, rows = append(full, rows), make([]RowChange, 0, rowBlock)
			}
			rows = append(rows, RowChange{Key: rowKey(chain), Old: ob, New: nb})
		}
		return true
	})
	if len(full) == 0 {
		return rows
	}
	all := make([]RowChange, 0, len(full)*rowBlock+len(rows))
	for _, b := range full {
		all = append(all, b...)
	}
	return append(all, rows...)
}

// rowBlock is how many rows RowsOf gathers per block.
const rowBlock = 1024

// AllRows returns a row for every object of the tree (for a snapshot or a
// full rewrite of the store).
func AllRows(root *Node) []RowChange {
	return Rows(NewRoot(&schema.Schema{Root: root.schema}), root)
}

// sameOwnLeaves reports whether two versions of an object share all their
// config leaves (leaves are immutable, so pointers suffice). It walks both
// children lists in step rather than gathering them: it runs for every
// object a Set changes.
func sameOwnLeaves(o, n *Node) bool {
	i, j := 0, 0
	for {
		for i < len(o.kids) && !isOwnLeaf(o.kids[i]) {
			i++
		}
		for j < len(n.kids) && !isOwnLeaf(n.kids[j]) {
			j++
		}
		if i == len(o.kids) || j == len(n.kids) {
			return i == len(o.kids) && j == len(n.kids)
		}
		if o.kids[i] != n.kids[j] {
			return false
		}
		i, j = i+1, j+1
	}
}

// isOwnLeaf reports whether k is a config leaf (or leaf-list) that was
// set, one that goes into its object's row.
func isOwnLeaf(k *Node) bool { return k.schema.Config && !k.schema.IsDir() && !k.dflt }

// ownLeaves appends n's own leaves (isOwnLeaf) to dst.
func ownLeaves(dst []*Node, n *Node) []*Node {
	for _, k := range n.kids {
		if isOwnLeaf(k) {
			dst = append(dst, k)
		}
	}
	return dst
}

// rowOf encodes an object's row, or nil when the object needs none.
func rowOf(n *Node) []byte {
	if n == nil {
		return nil
	}
	var room [16]*Node // most objects have fewer leaves: no allocation
	leaves := ownLeaves(room[:0], n)
	entry := n.schema.Kind == schema.List
	if len(leaves) == 0 && !entry && !n.schema.Presence {
		return nil
	}
	b := make([]byte, 1, 2+32*len(leaves)) // most leaves fit in 32 bytes
	b[0] = '{'
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
		return &Error{Kind: KindCorrupt, Path: key, Msg: "row does not name an object"}
	}
	payload, err := DecodeJSON(p, data, false)
	if err != nil {
		return fmt.Errorf("row %q: %w", key, err)
	}
	return t.Merge(p, payload)
}

// rowKey is the store key of the object at the end of chain. Its text is
// part of the store's data format (version 1), so it is not ChainString:
// keys come in schema order and `\`, `=` and `]` are escaped in key values
// (ygot's form), other characters written as they are. gnmipath.Parse
// reads it. Changing it needs a migration of stored rows, or a row written
// before would never again be overwritten or deleted.
func rowKey(chain []*Node) string {
	return chainText(chain, true)
}

// PathKey is the text of p in the form of row keys (see rowKey), which
// ParsePathKey reads back: what names an object's state in a store
// (a replica leader's published status, one key per object).
func PathKey(p Path) string {
	var b []byte
	for _, el := range p {
		b = appendRowElem(b, el.Schema, el.Keys)
	}
	return string(b)
}

// ParsePathKey reads a key PathKey wrote, as strictly as a row key: a bad
// key is KindCorrupt.
func ParsePathKey(root *schema.Node, key string) (Path, error) {
	return rowPath(root, key)
}

func appendRowElem(b []byte, s *schema.Node, keys []value.Value) []byte {
	b = append(append(b, '/'), s.Name...)
	for i, k := range keys {
		b = append(append(append(b, '['), s.Keys[i].Name...), '=')
		v := value.String(k)
		for j := 0; j < len(v); j++ {
			if c := v[j]; c == '\\' || c == '=' || c == ']' {
				b = append(b, '\\')
			}
			b = append(b, v[j])
		}
		b = append(b, ']')
	}
	return b
}

// rowPath parses a row key, the text rowKey writes, with gnmipath.Parse.
// Unlike Resolve it is strict (key names unqualified, every key of a list
// entry present, a list without keys only last) and reads a key value as
// data, never as a wildcard ("*"): a bad key is DataLoss.
func rowPath(root *schema.Node, key string) (Path, error) {
	bad := func(format string, args ...any) error {
		return &Error{Kind: KindCorrupt, Path: key, Msg: "bad row key: " + fmt.Sprintf(format, args...)}
	}
	if !strings.HasPrefix(key, "/") {
		return nil, bad("not an absolute path")
	}
	elems, err := gnmipath.Parse(key)
	if err != nil {
		return nil, bad("%v", err)
	}
	p := make(Path, 0, len(elems))
	s := root
	for i, e := range elems {
		c := s.Child(e.Name)
		if c == nil {
			return nil, bad("no element %q under %s", e.Name, s.PathString())
		}
		el := Elem{Schema: c}
		if len(e.Key) > 0 || (c.Kind == schema.List && i < len(elems)-1) {
			if el.Keys, err = rowKeys(c, e.Key); err != nil {
				return nil, bad("%v", err)
			}
		}
		p = append(p, el)
		s = c
	}
	return p, nil
}

// rowKeys parses the key values of an entry of list s, in schema order.
func rowKeys(s *schema.Node, kv map[string]string) ([]value.Value, error) {
	if s.Kind != schema.List || len(kv) != len(s.Keys) {
		return nil, fmt.Errorf("%s takes the keys (%s)", s.Name, keyNames(s))
	}
	keys := make([]value.Value, len(s.Keys))
	for i, k := range s.Keys {
		raw, ok := kv[k.Name]
		if !ok {
			return nil, fmt.Errorf("%s takes the keys (%s)", s.Name, keyNames(s))
		}
		v, err := value.ParseString(k.ValueType(), raw)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", k.Name, err)
		}
		keys[i] = v
	}
	return keys, nil
}

// RestoreRow makes the object a row key names hold exactly what the row
// says (data, as stored; nil: no row), the inverse of what RowsOf records:
// restoring the old value of every row a run of commits changed rebuilds
// the configuration from before them (rollback). An absent row deletes a
// list entry or presence container, and clears the own config leaves of
// any other container; a row replaces the object's own leaves, keys
// excepted. Objects below are left alone: they have rows of their own.
func (t *Txn) RestoreRow(key string, data []byte) error {
	p, err := rowPath(t.root.schema, key)
	if err != nil {
		return fmt.Errorf("row %q: %w", key, err)
	}
	s := target(p)
	if len(p) == 0 || !s.IsDir() {
		return &Error{Kind: KindCorrupt, Path: key, Msg: "row does not name an object"}
	}
	cur := Lookup(t.root, p)
	if have := rowOf(cur); (have == nil) == (data == nil) && bytes.Equal(have, data) {
		return nil
	}
	if data == nil && (s.Kind == schema.List || s.Presence) {
		t.Delete(p)
		return nil
	}
	if cur != nil {
		for _, k := range ownLeaves(nil, cur) {
			if !slices.Contains(s.Keys, k.schema) {
				t.Delete(append(p[:len(p):len(p)], Elem{Schema: k.schema}))
			}
		}
	}
	if data == nil {
		return nil
	}
	payload, err := DecodeJSON(p, data, false)
	if err != nil {
		return fmt.Errorf("row %q: %w", key, err)
	}
	return t.Merge(p, payload)
}
