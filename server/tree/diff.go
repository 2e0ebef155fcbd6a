package tree

import (
	"sort"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
)

// DiffFunc receives one difference: chain ends with the node (the new one,
// or the old one when it was deleted); old or cur is nil where the node does
// not exist on that side. For a container or list entry, returning false
// skips its descendants.
type DiffFunc func(chain []*Node, old, cur *Node) bool

// Diff reports every node that differs between two versions of a tree,
// parents before children. Subtrees the versions share are skipped without
// being read, and for a list copied from old only the entries the
// transaction touched are compared, so the cost follows the change.
// Lists themselves are not reported, their entries are.
func Diff(old, cur *Node, fn DiffFunc) {
	if old == cur {
		return
	}
	diffKids(nil, old, cur, fn)
}

func diffKids(chain []*Node, o, n *Node, fn DiffFunc) {
	ok, nk := kidsOf(o), kidsOf(n)
	i, j := 0, 0
	for i < len(ok) || j < len(nk) {
		switch {
		case j == len(nk) || (i < len(ok) && ok[i].schema.Index < nk[j].schema.Index):
			diffNode(chain, ok[i], nil, fn)
			i++
		case i == len(ok) || nk[j].schema.Index < ok[i].schema.Index:
			diffNode(chain, nil, nk[j], fn)
			j++
		default:
			if ok[i] != nk[j] {
				diffNode(chain, ok[i], nk[j], fn)
			}
			i++
			j++
		}
	}
}

func kidsOf(n *Node) []*Node {
	if n == nil {
		return nil
	}
	return n.kids
}

func either(o, n *Node) *Node {
	if n != nil {
		return n
	}
	return o
}

func diffNode(chain []*Node, o, n *Node, fn DiffFunc) {
	x := either(o, n)
	chain = append(chain[:len(chain):len(chain)], x)
	switch x.schema.Kind {
	case schema.Leaf, schema.LeafList:
		if o != nil && n != nil && sameLeaf(o, n) {
			return
		}
		fn(chain, o, n)
	case schema.List:
		diffList(chain, o, n, fn)
	default:
		if fn(chain, o, n) {
			diffKids(chain, o, n, fn)
		}
	}
}

func sameLeaf(o, n *Node) bool {
	if o.dflt != n.dflt {
		return false
	}
	if o.schema.Kind == schema.Leaf {
		return value.Equal(o.val, n.val)
	}
	if len(o.vals) != len(n.vals) {
		return false
	}
	for i := range o.vals {
		if !value.Equal(o.vals[i], n.vals[i]) {
			return false
		}
	}
	return true
}

func diffList(chain []*Node, o, n *Node, fn DiffFunc) {
	if o != nil && n != nil && n.base.Value() == o {
		keys := make([]string, 0, len(n.touched))
		for k := range n.touched {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if oe, ne := o.Entry(k), n.Entry(k); oe != ne {
				diffEntry(chain, oe, ne, fn)
			}
		}
		return
	}
	// Merge-walk both lists in key order.
	var olds, news []*Node
	if o != nil {
		o.Entries(func(e *Node) bool { olds = append(olds, e); return true })
	}
	if n != nil {
		n.Entries(func(e *Node) bool { news = append(news, e); return true })
	}
	i, j := 0, 0
	for i < len(olds) || j < len(news) {
		switch {
		case j == len(news) || (i < len(olds) && olds[i].key < news[j].key):
			diffEntry(chain, olds[i], nil, fn)
			i++
		case i == len(olds) || news[j].key < olds[i].key:
			diffEntry(chain, nil, news[j], fn)
			j++
		default:
			if olds[i] != news[j] {
				diffEntry(chain, olds[i], news[j], fn)
			}
			i++
			j++
		}
	}
}

func diffEntry(chain []*Node, o, n *Node, fn DiffFunc) {
	chain = append(chain[:len(chain):len(chain)], either(o, n))
	if fn(chain, o, n) {
		diffKids(chain, o, n, fn)
	}
}

// Changed reports whether two versions differ in any value.
func Changed(old, cur *Node) bool {
	changed := false
	Diff(old, cur, func(_ []*Node, o, n *Node) bool {
		if o == nil || n == nil || !n.schema.IsDir() {
			changed = true
		}
		return !changed
	})
	return changed
}
