package tree

import (
	"fmt"

	"github.com/netready/netready/server/schema"
)

// RowDepth is how many path elements a row key names (its depth in the
// tree): history restores rows parents first by it.
func RowDepth(sch *schema.Schema, key string) (int, error) {
	p, err := rowPath(sch.Root, key)
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// RestoreRow makes the object a row key names hold exactly the row data
// (the commit log's Old or New side of a RowChange), keeping whatever is
// below it: history rebuilds a past version of the tree, or steps it
// forward, by setting only the rows the commits in between touched. nil
// data means the row did not exist: a list entry or presence container is
// deleted with everything below it, a plain container only loses its own
// config leaves (its children have rows of their own).
func (t *Txn) RestoreRow(key string, data []byte) error {
	p, err := rowPath(t.root.schema, key)
	if err != nil {
		return fmt.Errorf("row %q: %w", key, err)
	}
	if len(p) == 0 || !target(p).IsDir() {
		return &Error{Kind: KindCorrupt, Path: key, Msg: "row does not name an object"}
	}
	s := target(p)
	if data == nil && (s.Kind == schema.List || s.Presence) {
		t.Delete(p)
		return nil
	}
	if cur := Lookup(t.root, p); cur != nil {
		for _, leaf := range ownLeaves(cur) {
			t.Delete(append(p[:len(p):len(p)], Elem{Schema: leaf.schema}))
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
