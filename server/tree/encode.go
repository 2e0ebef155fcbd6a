package tree

import (
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
)

// Filter selects what an encoding includes, after gNMI's data types.
type Filter uint8

// Filters.
const (
	All    Filter = iota // configuration and state
	Config               // config true nodes only
	State                // config false nodes, with the keys that locate them
)

func (f Filter) keeps(s *schema.Node) bool {
	switch f {
	case Config:
		return s.Config
	case State:
		return !s.Config || s.IsDir() // directories may hold state below
	}
	return true
}

// AppendJSON appends the JSON (ietf false) or RFC 7951 JSON_IETF encoding
// of n filtered by f, and reports whether anything passed the filter.
// Encoding writes bytes directly (no reflection, no maps) because a Get of
// the whole tree encodes hundreds of thousands of leaves.
//
// Empty lists and non-presence containers inside n are left out (they are
// no data); n itself always encodes as valid JSON ("{}" or "[]" when empty).
func AppendJSON(dst []byte, n *Node, ietf bool, f Filter) ([]byte, bool) {
	return appendJSON(dst, n, &encoder{ietf: ietf, f: f})
}

// Visibility is how much of a subtree a reader may see.
type Visibility uint8

// Visibilities.
const (
	Visible Visibility = iota // the whole subtree
	Hidden                    // nothing of it, not even that it exists
	Partly                    // some descendants: ask again for each child
)

// VisibleFunc decides the visibility of the last node of chain (see
// ChainPath). It is asked once per subtree until it answers Visible or
// Hidden, so its cost follows the shape of the policy, not the data.
type VisibleFunc func(chain []*Node) Visibility

// AppendJSONVisible is AppendJSON for a reader who may see only part of the
// last node of chain (the node itself was judged Partly): children are
// encoded as vis allows.
func AppendJSONVisible(dst []byte, chain []*Node, root *Node, ietf bool, f Filter, vis VisibleFunc) ([]byte, bool) {
	n := root
	if len(chain) > 0 {
		n = chain[len(chain)-1]
	}
	e := &encoder{ietf: ietf, f: f, vis: vis, check: true, chain: append([]*Node(nil), chain...)}
	return appendJSON(dst, n, e)
}

func appendJSON(dst []byte, n *Node, e *encoder) ([]byte, bool) {
	out, ok := e.node(dst, n)
	if ok {
		return out, true
	}
	if n.schema.Kind == schema.List && !n.isEntry() {
		return append(out, '[', ']'), false
	}
	return append(out, '{', '}'), false
}

type encoder struct {
	ietf bool
	f    Filter
	// With a visibility function, chain is the path to the node being
	// encoded and check whether its descendants still need asking.
	vis   VisibleFunc
	check bool
	chain []*Node
}

// child encodes c, a child or entry of the node being encoded, as far as
// the reader may see it.
func (e *encoder) child(dst []byte, c *Node) ([]byte, bool) {
	if !e.check {
		return e.node(dst, c)
	}
	e.chain = append(e.chain, c)
	var ok bool
	switch e.vis(e.chain) {
	case Hidden:
	case Visible:
		e.check = false
		dst, ok = e.node(dst, c)
		e.check = true
	default:
		dst, ok = e.node(dst, c)
	}
	e.chain = e.chain[:len(e.chain)-1]
	return dst, ok
}

func (e *encoder) node(dst []byte, n *Node) ([]byte, bool) {
	s := n.schema
	switch s.Kind {
	case schema.Leaf:
		return value.AppendJSON(dst, s.ValueType(), n.val, e.ietf), true
	case schema.LeafList:
		dst = append(dst, '[')
		for i, v := range n.Values() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = value.AppendJSON(dst, s.ValueType(), v, e.ietf)
		}
		return append(dst, ']'), true
	case schema.List:
		if n.entries != nil {
			return e.list(dst, n)
		}
	}
	return e.dir(dst, n)
}

func (e *encoder) list(dst []byte, n *Node) ([]byte, bool) {
	start := len(dst)
	dst = append(dst, '[')
	any := false
	n.entries.Ascend(func(en *Node) bool {
		mark := len(dst)
		if any {
			dst = append(dst, ',')
		}
		var ok bool
		if dst, ok = e.child(dst, en); ok {
			any = true
		} else {
			dst = dst[:mark]
		}
		return true
	})
	if !any {
		return dst[:start], false // an empty list is no data
	}
	return append(dst, ']'), true
}

// dir encodes a container or list entry as an object. Under the State
// filter an object without state is left out; keys are kept in objects
// that hold state so the state can be located.
func (e *encoder) dir(dst []byte, n *Node) ([]byte, bool) {
	start := len(dst)
	dst = append(dst, '{')
	members, state := 0, false
	for _, k := range n.kids {
		ks := k.schema
		if !e.f.keeps(ks) && !(e.f == State && ks.IsKey) {
			continue
		}
		mark := len(dst)
		if members > 0 {
			dst = append(dst, ',')
		}
		dst = e.name(dst, ks)
		var ok bool
		if dst, ok = e.child(dst, k); !ok {
			dst = dst[:mark]
			continue
		}
		members++
		if !ks.IsKey {
			state = true
		}
	}
	if e.f == State && !state {
		return dst[:start], false
	}
	if members == 0 && !n.schema.Presence && !n.isEntry() {
		// An empty non-presence container is no data: it is not stored
		// either, so showing it would make Get differ across a restart.
		return dst[:start], false
	}
	return append(dst, '}'), true
}

func (e *encoder) name(dst []byte, s *schema.Node) []byte {
	dst = append(dst, '"')
	if e.ietf {
		dst = append(dst, s.QualifiedName()...)
	} else {
		dst = append(dst, s.Name...)
	}
	return append(dst, '"', ':')
}

// Leaves calls fn with the chain of every leaf and leaf-list at or below
// the last node of chain that passes f, in schema order. It serves the
// PROTO encoding, which carries one scalar per update.
func Leaves(chain []*Node, f Filter, fn func(chain []*Node) error) error {
	return LeavesVisible(chain, f, nil, fn)
}

// LeavesUnder is LeavesVisible for a node that Match found in root: chain
// is empty when the match is the root itself, whose leaves are then those
// of its children (the root is no node a path can name).
func LeavesUnder(root *Node, chain []*Node, f Filter, vis VisibleFunc, fn func(chain []*Node) error) error {
	if len(chain) > 0 {
		return LeavesVisible(chain, f, vis, fn)
	}
	for _, k := range root.kids {
		if !f.keeps(k.schema) {
			continue
		}
		if err := LeavesVisible([]*Node{k}, f, vis, fn); err != nil {
			return err
		}
	}
	return nil
}

// LeavesVisible is Leaves for a reader who may see only what vis allows
// (nil: everything). The last node of chain is asked about too.
func LeavesVisible(chain []*Node, f Filter, vis VisibleFunc, fn func(chain []*Node) error) error {
	if vis != nil {
		switch vis(chain) {
		case Hidden:
			return nil
		case Visible:
			vis = nil
		}
	}
	n := chain[len(chain)-1]
	s := n.schema
	if s.Kind == schema.Leaf || s.Kind == schema.LeafList {
		if f.keeps(s) && (f != State || !s.Config) {
			return fn(chain)
		}
		return nil
	}
	var err error
	if n.entries != nil {
		n.entries.Ascend(func(en *Node) bool {
			err = LeavesVisible(append(chain[:len(chain):len(chain)], en), f, vis, fn)
			return err == nil
		})
		return err
	}
	for _, k := range n.kids {
		if !f.keeps(k.schema) {
			continue
		}
		if err := LeavesVisible(append(chain[:len(chain):len(chain)], k), f, vis, fn); err != nil {
			return err
		}
	}
	return nil
}
