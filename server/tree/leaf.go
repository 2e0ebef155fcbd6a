package tree

import (
	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
)

// SetLeaf sets the leaf at p to v, creating its ancestors. It is how the
// server writes operational state, which no client payload may carry;
// callers pass values of the leaf's type.
func (t *Txn) SetLeaf(p Path, v value.Value) {
	t.SetLeaves(p[:len(p)-1], Leaf{Schema: p[len(p)-1].Schema, Value: v})
}

// Leaf is one leaf SetLeaves writes: Value for a leaf, Values for a
// leaf-list.
type Leaf struct {
	Schema *schema.Node
	Value  value.Value
	Values []value.Value
}

// SetLeaves sets leaves of the container or list entry at parent,
// creating it and its ancestors. The commit hooks write several leaves of
// one entry for every Set; SetLeaf for each walked from the root again,
// looking the entry up in its list and re-inserting it every time. A leaf
// whose value is unchanged keeps sharing its node.
func (t *Txn) SetLeaves(parent Path, leaves ...Leaf) {
	chain := t.walk(parent, true)
	dir := chain[len(chain)-1]
	var nodes []Node // the new leaf nodes, allocated together
	for _, l := range leaves {
		if l.Schema.Kind != schema.LeafList {
			if old := dir.Child(l.Schema); old != nil && !old.dflt && value.Equal(old.val, l.Value) {
				continue // unchanged: keep sharing the node
			}
		}
		if l.Schema.Kind == schema.LeafList {
			t.setKid(dir, leafListNode(l.Schema, t.own, l.Values))
			continue
		}
		if nodes == nil {
			nodes = make([]Node, 0, len(leaves))
		}
		nodes = append(nodes, Node{schema: l.Schema, owner: t.own, val: l.Value})
		t.setKid(dir, &nodes[len(nodes)-1])
	}
}

// TypedValue encodes a leaf or leaf-list for a gNMI update: a JSON or
// JSON_IETF scalar, or for PROTO a scalar (leaflist_val for a leaf-list).
func TypedValue(n *Node, enc gpb.Encoding) *gpb.TypedValue {
	s := n.schema
	switch enc {
	case gpb.Encoding_PROTO:
		if s.Kind == schema.LeafList {
			vals := n.Values()
			elems := make([]*gpb.TypedValue, len(vals))
			for i, v := range vals {
				elems[i] = value.Typed(s.ValueType(), v)
			}
			return &gpb.TypedValue{Value: &gpb.TypedValue_LeaflistVal{LeaflistVal: &gpb.ScalarArray{Element: elems}}}
		}
		return value.Typed(s.ValueType(), n.val)
	case gpb.Encoding_JSON_IETF:
		js, _ := AppendJSON(nil, n, true, All)
		return &gpb.TypedValue{Value: &gpb.TypedValue_JsonIetfVal{JsonIetfVal: js}}
	}
	js, _ := AppendJSON(nil, n, false, All)
	return &gpb.TypedValue{Value: &gpb.TypedValue_JsonVal{JsonVal: js}}
}

// MustResolve resolves a path the server itself names, such as a state
// leaf of a compiled module; it panics when the schema lacks it, which is
// a programming error caught by any test.
func MustResolve(root *schema.Node, names ...string) Path {
	p := make(Path, 0, len(names))
	s := root
	for _, n := range names {
		if s = s.Child(n); s == nil {
			panic("tree: schema has no " + n + " under the path " + PathString(p))
		}
		p = append(p, Elem{Schema: s})
	}
	return p
}

// SetLeafList sets the leaf-list at p to vals (in this order), creating
// its ancestors; like SetLeaf, for server-written state.
func (t *Txn) SetLeafList(p Path, vals []value.Value) {
	t.SetLeaves(p[:len(p)-1], Leaf{Schema: p[len(p)-1].Schema, Values: vals})
}

// PathVisibleFunc decides the visibility of the node at a data path (gNMI
// elements, unqualified names, canonical keys), as an access policy does.
type PathVisibleFunc func(path []*gpb.PathElem) Visibility

// ByPath adapts a path-based decision to the chains the encoders walk.
func ByPath(f PathVisibleFunc) VisibleFunc {
	if f == nil {
		return nil
	}
	return func(chain []*Node) Visibility { return f(GNMIElems(ChainPath(chain))) }
}
