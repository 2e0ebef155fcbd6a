package schema

import (
	"sort"
	"strings"

	"github.com/openconfig/goyang/pkg/yang"

	"github.com/netready/netready/server/schema/value"
)

// Node is one data node of the schema. Nodes are built once and never
// change, so they are shared freely between goroutines.
type Node struct {
	Entry  *yang.Entry
	Name   string
	Module string // instantiating module: RFC 7951 qualifies a name when it differs from the parent's
	Kind   Kind
	Config bool // effective config flag (config false is inherited)
	Parent *Node
	Path   string // schema path without keys, e.g. /tenants/tenant/ports/port

	// Containers and lists.
	Presence bool
	Keys     []*Node // list keys in key order
	children map[string]*Node
	// Children is every data child sorted with list keys first, then by name,
	// which is the order the encoders emit.
	Children []*Node
	// MandatoryChildren are the leaves marked mandatory and the lists with
	// min-elements, outside choices: checked whenever an instance is created
	// or changed.
	MandatoryChildren []*Node
	choices           []*Choice
	// HasDefaults reports whether instantiating this node brings default
	// leaves into existence (directly or in non-presence containers below).
	HasDefaults bool

	// Leaves and leaf-lists.
	Type      *yang.YangType // for leafrefs, see Leafref.Target for the value type
	Mandatory bool
	Default   []string
	// DefaultValue is Default[0] parsed, nil when the leaf has no default.
	DefaultValue value.Value
	Leafref      *Leafref
	// IsKey reports whether the leaf is a key of its parent list.
	IsKey bool
	// Index is the position of n in its parent's Children: keys first, then
	// by name. Instances keep their children in this order.
	Index int

	// Lists and leaf-lists.
	MinElements, MaxElements uint64

	// Choice membership: the choice and case that contain this node, if any.
	Choice *Choice
	Case   string
}

// Choice is a YANG choice among the children of a container or list entry.
type Choice struct {
	Name      string
	Mandatory bool
	Default   string
	nodes     []*Node
}

// Nodes returns the data nodes of every case of the choice.
func (c *Choice) Nodes() []*Node { return c.nodes }

type caseRef struct {
	choice *Choice
	name   string
}

// finish computes the derived per-node facts once all children exist.
func (n *Node) finish() {
	n.Children = make([]*Node, 0, len(n.children))
	for _, c := range n.children {
		n.Children = append(n.Children, c)
	}
	keyPos := map[*Node]int{}
	for i, k := range n.Keys {
		keyPos[k] = i + 1
		k.IsKey = true
	}
	sort.Slice(n.Children, func(i, j int) bool {
		a, b := n.Children[i], n.Children[j]
		pa, pb := keyPos[a], keyPos[b]
		if pa != pb {
			if pa == 0 || pb == 0 {
				return pb == 0
			}
			return pa < pb
		}
		return a.Name < b.Name
	})
	for i, c := range n.Children {
		c.Index = i
		if c.Choice == nil && (c.Mandatory || (c.Kind == List || c.Kind == LeafList) && c.MinElements > 0) {
			n.MandatoryChildren = append(n.MandatoryChildren, c)
		}
		if (c.Kind == Leaf && len(c.Default) > 0 && c.Choice == nil) ||
			(c.Kind == Container && !c.Presence && c.HasDefaults) {
			n.HasDefaults = true
		}
	}
}

// Child returns the data child called name, which may be qualified with its
// module name ("netready-l3vpn:vpns"). A qualifier naming another module
// than the child's own returns nil.
func (n *Node) Child(name string) *Node {
	if c := n.children[name]; c != nil {
		return c
	}
	i := strings.IndexByte(name, ':')
	if i < 0 {
		return nil
	}
	c := n.children[name[i+1:]]
	if c == nil || c.Module != name[:i] {
		return nil
	}
	return c
}

// Choices returns the choices among n's children.
func (n *Node) Choices() []*Choice { return n.choices }

// IsDir reports whether n has children (container or list).
func (n *Node) IsDir() bool { return n.Kind == Container || n.Kind == List }

// QualifiedName is the RFC 7951 member name of n: module-qualified when n is
// top-level or its module differs from its parent's.
func (n *Node) QualifiedName() string {
	if n.Parent == nil || n.Parent.Parent == nil || n.Parent.Module != n.Module {
		return n.Module + ":" + n.Name
	}
	return n.Name
}

// PathString returns the schema path, "/" for the root.
func (n *Node) PathString() string {
	if n.Path == "" {
		return "/"
	}
	return n.Path
}

// ValueType is the type values of this leaf are parsed with: the leafref
// target's type for a leafref, else the leaf's own type.
func (n *Node) ValueType() *yang.YangType {
	if n.Leafref != nil {
		return n.Leafref.Target.ValueType()
	}
	return n.Type
}
