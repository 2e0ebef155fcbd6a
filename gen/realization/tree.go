package realization

import (
	"iter"

	"github.com/netready/netready/server/tree"
)

// node is the shape of every generated type: a tree node, nil when the
// object is absent (every accessor of an absent object reads zero).
type node interface{ ~struct{ Node *tree.Node } }

// descend follows names from n through containers; nil when one is absent.
func descend(n *tree.Node, names ...string) *tree.Node {
	for _, name := range names {
		if n == nil {
			return nil
		}
		n = n.ChildByName(name)
	}
	return n
}

// entries yields every entry of the list reached from n through names.
func entries[T node](n *tree.Node, names ...string) iter.Seq[T] {
	l := descend(n, names...)
	return func(yield func(T) bool) {
		if l != nil {
			l.Entries(func(e *tree.Node) bool { return yield(T{Node: e}) })
		}
	}
}

// entry returns the entry with key key of the list reached from n
// through names.
func entry[T node](n *tree.Node, key string, names ...string) (T, bool) {
	var e *tree.Node
	if l := descend(n, names...); l != nil {
		e = l.Entry(key)
	}
	return T{Node: e}, e != nil
}

// inner returns the container reached from n through names.
func inner[T node](n *tree.Node, names ...string) (T, bool) {
	c := descend(n, names...)
	return T{Node: c}, c != nil
}

// leaf returns the value of leaf name of n, or the zero V.
func leaf[V any](n *tree.Node, name string) V {
	var zero V
	if c := descend(n, name); c != nil {
		if v, ok := c.Value().(V); ok {
			return v
		}
	}
	return zero
}

// leafList returns the values of leaf-list name of n.
func leafList[V any](n *tree.Node, name string) []V {
	c := descend(n, name)
	if c == nil {
		return nil
	}
	out := make([]V, 0, len(c.Values()))
	for _, v := range c.Values() {
		if v, ok := v.(V); ok {
			out = append(out, v)
		}
	}
	return out
}
