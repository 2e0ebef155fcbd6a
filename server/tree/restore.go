package tree

import (
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
