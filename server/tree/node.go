// Package tree is NetReady's in-memory data tree: schema-driven, persistent
// (copy-on-write) and shared by every compiled and loaded module.
//
// A published tree is never modified. A Txn edits a new version by copying
// only the nodes on the paths it changes; everything else is shared with the
// previous version. That gives Get and Subscribe a consistent snapshot
// without locks, makes an aborted transaction free (drop the new root), and
// lets Diff find what a transaction changed by skipping shared subtrees, so
// the cost of a Set follows the size of the change, not of the tree.
//
// Lists keep their entries in a copy-on-write B-tree (github.com/google/btree)
// so that changing one entry of a 100k-entry list copies a few B-tree nodes,
// not the list.
package tree

import (
	"sort"
	"strconv"
	"strings"
	"sync"
	"weak"

	"github.com/google/btree"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
)

// owner marks the transaction that may still modify a node in place. It has
// a field so that distinct owners have distinct addresses.
type owner struct {
	// bare marks the nodes of a payload decoded for a merge
	// (DecodeTypedForMerge): its containers and entries lack their default
	// leaves until Txn.complete gives them the ones they still need.
	bare bool
}

// Node is one instance of a schema node.
type Node struct {
	schema *schema.Node
	owner  *owner

	// Containers and list entries: children ordered by their schema order.
	kids []*Node
	// List entries: the canonical key (see KeyString).
	key string

	// Lists.
	entries *btree.BTreeG[*Node]
	// aux holds what only lists being edited and leaf-lists need. Kept
	// out of line so that a Node is 96 bytes, not 128: a bulk Set creates
	// 100,000s of leaves and entries, and their bytes (fresh memory to
	// fault in and zero, then to scan) were a large part of its CPU.
	aux *nodeAux

	// Leaves.
	val value.Value
	// dflt marks a leaf that holds its schema default rather than a value
	// that was set.
	dflt bool
}

// nodeAux is the rarely used part of a Node. It is never changed once
// the node is published; a transaction gives a list it copies its own.
type nodeAux struct {
	// base is the list this one was copied from in the current transaction,
	// and touched the keys changed since, each with the entry base held and
	// the one the list holds now (nil: none): Diff uses them to visit only
	// the changed entries of a large list, without looking any up (two
	// B-tree searches per key, each comparison a likely cache miss). base
	// is weak: a strong pointer would make every version of a list keep
	// the one before it, so a list edited on every Set (the audit log)
	// would keep all its versions. The entries base held at touched keys
	// are kept (an entry deleted by the transaction lives on until no
	// tree holds this version of the list: the next edit of the list
	// copies it), but not base itself, so nothing builds up.
	base    weak.Pointer[Node]
	touched map[string]entryChange

	// vals are a leaf-list's values.
	vals []value.Value
}

// entryChange is what a transaction did at one key of a copied list: the
// entry its base held there, and the one the list holds now.
type entryChange struct{ was, now *Node }

// leafListNode returns a leaf-list instance holding vals, the node and
// its nodeAux in one allocation.
func leafListNode(s *schema.Node, own *owner, vals []value.Value) *Node {
	both := &struct {
		n Node
		a nodeAux
	}{Node{schema: s, owner: own}, nodeAux{vals: vals}}
	both.n.aux = &both.a
	return &both.n
}

func entryLess(a, b *Node) bool { return a.key < b.key }

// isEntry reports whether n is a list entry rather than the list itself
// (both share the list's schema node). A list always has its B-tree; the
// key cannot tell them apart, since "" is a valid key.
func (n *Node) isEntry() bool { return n.schema.Kind == schema.List && n.entries == nil }

// Schema returns the schema node n is an instance of.
func (n *Node) Schema() *schema.Node { return n.schema }

// Key returns the canonical key of a list entry.
func (n *Node) Key() string { return n.key }

// Value returns a leaf's value.
func (n *Node) Value() value.Value { return n.val }

// Values returns a leaf-list's values.
func (n *Node) Values() []value.Value {
	if n.aux == nil {
		return nil
	}
	return n.aux.vals
}

// IsDefault reports whether a leaf holds its schema default.
func (n *Node) IsDefault() bool { return n.dflt }

// Children returns the children of a container or list entry in schema
// order. The slice must not be modified.
func (n *Node) Children() []*Node { return n.kids }

// Len returns the number of entries of a list.
func (n *Node) Len() int {
	if n.entries == nil {
		return 0
	}
	return n.entries.Len()
}

// Entries calls fn for each entry of a list in key order until fn returns false.
func (n *Node) Entries(fn func(*Node) bool) {
	if n.entries != nil {
		n.entries.Ascend(fn)
	}
}

// Entry returns the list entry with the given canonical key.
func (n *Node) Entry(key string) *Node {
	if n.entries == nil {
		return nil
	}
	probe := probes.Get().(*Node)
	probe.key = key
	e, _ := n.entries.Get(probe)
	probe.key = ""
	probes.Put(probe)
	return e
}

// probes recycles the key-only nodes Entry searches the B-tree with: a
// probe escapes to the heap through the B-tree's comparison function, and
// allocating one per lookup was a tenth of a bulk Set's garbage. A probe
// holds no state between uses.
var probes = sync.Pool{New: func() any { return new(Node) }}

// Child returns the child instance of schema node s, or nil.
func (n *Node) Child(s *schema.Node) *Node {
	i, ok := n.kidIndex(s)
	if !ok {
		return nil
	}
	return n.kids[i]
}

// ChildByName returns the child called name (unqualified), or nil.
func (n *Node) ChildByName(name string) *Node {
	s := n.schema.Child(name)
	if s == nil {
		return nil
	}
	return n.Child(s)
}

func (n *Node) kidIndex(s *schema.Node) (int, bool) {
	i := sort.Search(len(n.kids), func(i int) bool { return n.kids[i].schema.Index >= s.Index })
	return i, i < len(n.kids) && n.kids[i].schema == s
}

// KeyString builds the internal key of a list entry from its key values in
// key order: the B-tree order of entries. Integers are written fixed-width
// so entries keyed by numbers list in numeric order (2 before 10); other
// values use their canonical text. Paths show the canonical text instead
// (see KeyValues).
func KeyString(vals []value.Value) string {
	if len(vals) == 1 {
		return keyPart(vals[0])
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = keyPart(v)
	}
	return strings.Join(parts, "\x00")
}

func keyPart(v value.Value) string {
	const width = 20 // digits of the largest uint64
	var n uint64
	switch x := v.(type) {
	case uint64:
		n = x
	case int64:
		n = uint64(x) ^ 1<<63 // two's complement with the sign flipped sorts as unsigned
	default:
		return value.String(v)
	}
	b := strconv.AppendUint(make([]byte, 0, width), n, 10)
	return strings.Repeat("0", width-len(b)) + string(b)
}

// KeyValues returns a list entry's key values in key order.
func (n *Node) KeyValues() []value.Value {
	return n.appendKeyValues(make([]value.Value, 0, len(n.schema.Keys)))
}

// appendKeyValues appends a list entry's key values, in key order, to dst
// (a caller's buffer: building a path needs no allocation for them).
func (n *Node) appendKeyValues(dst []value.Value) []value.Value {
	for _, k := range n.schema.Keys {
		var v value.Value
		if c := n.Child(k); c != nil {
			v = c.val
		}
		dst = append(dst, v)
	}
	return dst
}

// HasConfig reports whether n holds any configuration: a set config leaf,
// a list entry, or a presence container. Non-presence containers that hold
// only defaults or state do not count.
func (n *Node) HasConfig() bool {
	s := n.schema
	if !s.Config {
		return false
	}
	switch s.Kind {
	case schema.Leaf:
		return !n.dflt
	case schema.LeafList:
		return len(n.Values()) > 0
	case schema.List:
		return n.isEntry() || n.Len() > 0
	}
	if s.Presence {
		return true
	}
	for _, k := range n.kids {
		if k.HasConfig() {
			return true
		}
	}
	return false
}

// NewRoot returns an empty tree for sch. Like every new container it holds
// the default leaves (and the non-presence containers holding them) that
// exist implicitly, so it equals the tree a root Delete leaves behind.
func NewRoot(sch *schema.Schema) *Node { return (&Txn{own: &owner{}}).newNode(sch.Root) }
