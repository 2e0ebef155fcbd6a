// Package typed holds what the generated typed views of the
// configuration tree (gen/realization, gen/sites) share: reading lists,
// containers and leaves of server/tree by name, zero when absent. Only
// generated code calls it; gen/internal/realgen writes those calls.
package typed

import (
	"iter"

	"github.com/netready/netready/server/tree"
)

// Node is the shape of every generated type: a tree node, nil when the
// object is absent (every accessor of an absent object reads zero).
type Node interface{ ~struct{ Node *tree.Node } }

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

// Entries yields every entry of the list reached from n through names.
func Entries[T Node](n *tree.Node, names ...string) iter.Seq[T] {
	l := descend(n, names...)
	return func(yield func(T) bool) {
		if l != nil {
			l.Entries(func(e *tree.Node) bool { return yield(T{Node: e}) })
		}
	}
}

// Entry returns the entry with key key of the list reached from n
// through names.
func Entry[T Node](n *tree.Node, key string, names ...string) (T, bool) {
	var e *tree.Node
	if l := descend(n, names...); l != nil {
		e = l.Entry(key)
	}
	return T{Node: e}, e != nil
}

// Inner returns the container reached from n through names.
func Inner[T Node](n *tree.Node, names ...string) (T, bool) {
	c := descend(n, names...)
	return T{Node: c}, c != nil
}

// Leaf returns the value of leaf name of n, or the zero V.
func Leaf[V any](n *tree.Node, name string) V {
	var zero V
	if c := descend(n, name); c != nil {
		if v, ok := c.Value().(V); ok {
			return v
		}
	}
	return zero
}

// LeafList returns the values of leaf-list name of n.
func LeafList[V any](n *tree.Node, name string) []V {
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
