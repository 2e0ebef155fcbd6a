package tree

import (
	"slices"
	"strings"
	"weak"

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
	d := differ{fn: fn}
	d.kids(nil, old, cur)
}

// differ walks two versions for Diff. It carves the chains it hands to fn
// out of shared slabs (each chain its own capacity-limited window, so
// callers may keep or extend it): one allocation per slab rather than
// per changed node, which a Set of 100,000 objects feels.
type differ struct {
	fn   DiffFunc
	slab []*Node
	next int // the size of the last slab
}

// slabSize is how many chain elements the largest slab holds.
const slabSize = 4096

// extend returns chain followed by x, in fresh storage.
func (d *differ) extend(chain []*Node, x *Node) []*Node {
	n := len(chain) + 1
	if len(d.slab) < n {
		// Slabs start small and double, so a small diff stays small.
		d.next = min(max(2*d.next, 64), slabSize)
		d.slab = make([]*Node, max(d.next, n))
	}
	out := d.slab[:n:n]
	d.slab = d.slab[n:]
	// A loop, not copy: chains are short, and copy's bulk write barrier
	// costs more per call than they hold while the GC runs.
	for i, c := range chain {
		out[i] = c
	}
	out[n-1] = x
	return out
}

func (d *differ) kids(chain []*Node, o, n *Node) {
	ok, nk := kidsOf(o), kidsOf(n)
	i, j := 0, 0
	for i < len(ok) || j < len(nk) {
		switch {
		case j == len(nk) || (i < len(ok) && ok[i].schema.Index < nk[j].schema.Index):
			d.node(chain, ok[i], nil)
			i++
		case i == len(ok) || nk[j].schema.Index < ok[i].schema.Index:
			d.node(chain, nil, nk[j])
			j++
		default:
			if ok[i] != nk[j] {
				d.node(chain, ok[i], nk[j])
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

func (d *differ) node(chain []*Node, o, n *Node) {
	x := either(o, n)
	chain = d.extend(chain, x)
	switch x.schema.Kind {
	case schema.Leaf, schema.LeafList:
		if o != nil && n != nil && sameLeaf(o, n) {
			return
		}
		d.fn(chain, o, n)
	case schema.List:
		d.list(chain, o, n)
	default:
		if d.fn(chain, o, n) {
			d.kids(chain, o, n)
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
	ov, nv := o.Values(), n.Values()
	if len(ov) != len(nv) {
		return false
	}
	for i := range ov {
		if !value.Equal(ov[i], nv[i]) {
			return false
		}
	}
	return true
}

func (d *differ) list(chain []*Node, o, n *Node) {
	if o != nil && n != nil && copiedFrom(n, o) {
		// o is n's base: what o held at a touched key, and what n holds, are
		// recorded.
		touched := make([]keyChange, 0, len(n.aux.touched))
		for k, c := range n.aux.touched {
			touched = append(touched, keyChange{k, c})
		}
		slices.SortFunc(touched, func(a, b keyChange) int { return strings.Compare(a.key, b.key) })
		for _, t := range touched {
			if t.was != t.now {
				d.entry(chain, t.was, t.now)
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
			d.entry(chain, olds[i], nil)
			i++
		case i == len(olds) || news[j].key < olds[i].key:
			d.entry(chain, nil, news[j])
			j++
		default:
			if olds[i] != news[j] {
				d.entry(chain, olds[i], news[j])
			}
			i++
			j++
		}
	}
}

func (d *differ) entry(chain []*Node, o, n *Node) {
	chain = d.extend(chain, either(o, n))
	if d.fn(chain, o, n) {
		d.kids(chain, o, n)
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

// keyChange is a key a transaction touched and what it did there.
type keyChange struct {
	key string
	entryChange
}

// copiedFrom reports whether list n was copied from o in its transaction,
// so that only the keys it touched differ. It compares weak pointers
// rather than turning n's into a strong one: weak.Pointer.Value parks the
// caller while the collector ends its mark phase, which put the writer
// to sleep for up to milliseconds in the middle of a Set's diff (a trace
// of 100 1,000-leaf Sets: 64 ms, docs/performance.md); weak.Make of a
// live node and the comparison never wait.
func copiedFrom(n, o *Node) bool {
	return n.aux != nil && n.aux.base != (weak.Pointer[Node]{}) && n.aux.base == weak.Make(o)
}
