package tree

import (
	"fmt"
	"slices"
	"strings"
	"weak"

	"github.com/google/btree"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
)

// btreeDegree suits lists of up to millions of entries: a change copies
// about log32(n) nodes of at most 63 pointers.
const btreeDegree = 32

// Elem is one step of a resolved data path. For a list, Keys holds the key
// values in key order (an entry) or is nil (the whole list).
type Elem struct {
	Schema *schema.Node
	Keys   []value.Value
}

// Path is a resolved data path from the root.
type Path []Elem

// Txn edits a new version of a tree. Nodes it has copied are owned by it
// and changed in place; published nodes are never written. A Txn is used
// by one goroutine.
type Txn struct {
	own  *owner
	root *Node
}

// Begin starts editing a new version of root.
func Begin(root *Node) *Txn {
	t := &Txn{own: &owner{}}
	t.root = t.mutable(root)
	return t
}

// Root returns the edited tree. After the last edit it is an ordinary
// immutable tree: publish it and drop the Txn.
func (t *Txn) Root() *Node { return t.root }

// mutable returns n if t owns it, else a shallow copy owned by t.
func (t *Txn) mutable(n *Node) *Node {
	if n.owner == t.own {
		return n
	}
	c := *n
	c.owner = t.own
	c.kids = append([]*Node(nil), n.kids...)
	if n.entries != nil {
		// btree's Clone also gives the tree it clones a new copy-on-write
		// context, a write to a published (shared) tree that races with
		// other transactions on the same version. Published trees are
		// never written, so clone a private copy of the header instead.
		hdr := *n.entries
		c.entries = hdr.Clone()
		c.aux = &nodeAux{base: weak.Make(n)}
	}
	return &c
}

// newNode returns an empty instance of s owned by t; containers and list
// entries get their default leaves.
func (t *Txn) newNode(s *schema.Node) *Node {
	n := &Node{schema: s, owner: t.own}
	if s.Kind == schema.List {
		n.entries = btree.NewG(btreeDegree, entryLess)
	}
	if (s.Kind == schema.Container || s.Kind == schema.List) && !t.own.bare {
		// A list entry shares the list's schema node; defaults are per entry.
		t.fillDefaults(n)
	}
	return n
}

// complete returns n, a node of a payload, with the default leaves a bare
// payload (DecodeTypedForMerge) left out of its containers and entries, as
// copies owned by t; n itself when it is not bare. A merge completes only
// what it places new in the tree: an existing entry keeps its own
// defaults, which a payload's defaults never overwrite.
func (t *Txn) complete(n *Node) *Node {
	if !n.owner.bare || !n.schema.IsDir() {
		return n
	}
	if n.entries != nil {
		l := &Node{schema: n.schema, owner: t.own, entries: btree.NewG(btreeDegree, entryLess)}
		n.entries.Ascend(func(e *Node) bool {
			l.entries.ReplaceOrInsert(t.complete(e))
			return true
		})
		return l
	}
	c := *n
	c.owner = t.own
	c.kids = append([]*Node(nil), n.kids...)
	t.completeKids(&c, true)
	return &c
}

// completeKids completes the children of n, an owned copy of a payload's
// container or entry, and gives n its own defaults when it was bare.
func (t *Txn) completeKids(n *Node, bare bool) {
	for i, k := range n.kids {
		n.kids[i] = t.complete(k)
	}
	if bare {
		t.fillDefaults(n)
	}
}

// newEntry returns a new list entry with its key leaves set, and its
// default leaves unless t decodes a bare payload.
func (t *Txn) newEntry(list *schema.Node, keys []value.Value) *Node {
	defaults := !t.own.bare
	// The entry, its key leaves and its default leaves come from one
	// allocation, and the children slice has room for the usual few
	// others: a bulk Set creates 10,000s of entries.
	nk := len(list.Keys)
	room := 0
	if defaults {
		room = entryDefaults(list)
	}
	nodes := make([]Node, 1+nk, 1+nk+room)
	e := &nodes[0]
	*e = Node{schema: list, owner: t.own, key: KeyString(keys)}
	e.kids = make([]*Node, nk, max(nk, min(len(list.Children), maxKidsHint)))
	for i, k := range list.Keys {
		nodes[1+i] = Node{schema: k, owner: t.own, val: keys[i]}
		e.kids[i] = &nodes[1+i]
	}
	sortKids(e)
	if defaults {
		t.fillDefaultsInto(e, nodes[1+nk:])
	}
	return e
}

// entryDefaults is how many default leaves fillDefaults gives a new entry
// of list, which holds only its keys.
func entryDefaults(list *schema.Node) int {
	if !list.HasDefaults {
		return 0
	}
	count := 0
	for _, c := range list.Children {
		if c.Kind == schema.Leaf && c.DefaultValue != nil && c.Choice == nil && !c.IsKey {
			count++
		}
	}
	return count
}

// maxKidsHint caps the children capacity a new list entry starts with.
const maxKidsHint = 16

// fillDefaults adds the default leaves (and the non-presence containers
// holding defaults) that an instance of a container or list entry has
// implicitly. n must be owned by t.
func (t *Txn) fillDefaults(n *Node) { t.fillDefaultsInto(n, nil) }

// fillDefaultsInto is fillDefaults taking the default leaves from the
// room left in slab (newEntry's allocation) while it lasts.
func (t *Txn) fillDefaultsInto(n *Node, slab []Node) {
	if n.schema.Kind == schema.List && !n.isEntry() {
		return // the list node itself has no leaves
	}
	if !n.schema.HasDefaults {
		return
	}
	missing := func(c *schema.Node) bool { return c.Choice == nil && n.Child(c) == nil }
	leaves := slab[:0:cap(slab)]
	if cap(leaves) == 0 {
		count := 0
		for _, c := range n.schema.Children {
			if c.Kind == schema.Leaf && c.DefaultValue != nil && missing(c) {
				count++
			}
		}
		leaves = make([]Node, 0, count) // the default leaves, allocated together
	}
	for _, c := range n.schema.Children {
		if !missing(c) {
			continue
		}
		switch {
		case c.Kind == schema.Leaf && c.DefaultValue != nil:
			leaves = append(leaves, Node{schema: c, owner: t.own, val: c.DefaultValue, dflt: true})
			n.insertKid(&leaves[len(leaves)-1])
		case c.Kind == schema.Container && !c.Presence && c.HasDefaults:
			n.insertKid(t.newNode(c))
		}
	}
}

// insertKid adds or replaces a child in schema order. n must be owned.
func (n *Node) insertKid(k *Node) {
	i, ok := n.kidIndex(k.schema)
	if ok {
		n.kids[i] = k
		return
	}
	n.kids = append(n.kids, nil)
	copy(n.kids[i+1:], n.kids[i:])
	n.kids[i] = k
}

// removeKid removes the child instance of s, if any. n must be owned.
func (n *Node) removeKid(s *schema.Node) {
	if i, ok := n.kidIndex(s); ok {
		n.kids = append(n.kids[:i], n.kids[i+1:]...)
	}
}

func sortKids(n *Node) {
	for i := 1; i < len(n.kids); i++ {
		for j := i; j > 0 && n.kids[j-1].schema.Index > n.kids[j].schema.Index; j-- {
			n.kids[j-1], n.kids[j] = n.kids[j], n.kids[j-1]
		}
	}
}

// setEntry inserts or replaces an entry of an owned list.
func (t *Txn) setEntry(list, e *Node) {
	was, _ := list.entries.ReplaceOrInsert(e)
	list.touch(e.key, was, e)
}

// touch records that the entry at key changed from was to now (nil: none).
// Every change of a copied list's entries goes through here, so the first
// change of a key hands over base's entry, and the last the list's.
func (n *Node) touch(key string, was, now *Node) {
	if n.aux == nil || n.aux.base == (weak.Pointer[Node]{}) {
		return // a list new in this transaction: Diff visits all of it
	}
	if n.aux.touched == nil {
		n.aux.touched = map[string]entryChange{}
	}
	if c, seen := n.aux.touched[key]; seen {
		was = c.was
	}
	n.aux.touched[key] = entryChange{was: was, now: now}
}

// walk returns the owned chain of nodes along p, creating missing
// containers and list entries when create is set. The chain starts with the
// root; it is shorter than len(p)+1 when a node is missing and create is
// false. For a Path ending in a list entry, the last two nodes are the list
// and the entry.
func (t *Txn) walk(p Path, create bool) []*Node {
	// Sized for the deepest chain (a list and its entry per element), so
	// it is allocated once: every Set's edits and its commit hooks walk.
	chain := make([]*Node, 1, 2*len(p)+1)
	chain[0] = t.root
	cur := t.root
	for i, el := range p {
		child := cur.Child(el.Schema)
		if child == nil {
			if !create {
				return chain
			}
			child = t.newNode(el.Schema)
			t.setKid(cur, child)
		} else {
			child = t.mutable(child)
			cur.insertKid(child)
		}
		chain = append(chain, child)
		cur = child
		if el.Schema.Kind != schema.List || el.Keys == nil {
			continue
		}
		key := KeyString(el.Keys)
		e := cur.Entry(key)
		if e == nil {
			if !create {
				return chain
			}
			e = t.newEntry(el.Schema, el.Keys)
		} else {
			e = t.mutable(e)
		}
		t.setEntry(cur, e)
		chain = append(chain, e)
		cur = e
		_ = i
	}
	return chain
}

// setKid adds child to an owned parent, enforcing choice exclusivity: data
// of one case removes the data of the choice's other cases (RFC 7950 7.9.2).
func (t *Txn) setKid(parent, child *Node) {
	if c := child.schema.Choice; c != nil {
		for _, other := range c.Nodes() {
			if other.Case != child.schema.Case {
				parent.removeKid(other)
			}
		}
	}
	parent.insertKid(child)
}

// Delete removes the node at p. Deleting what does not exist succeeds.
// Leaves with a default fall back to it; a non-presence container keeps
// existing with its defaults.
func (t *Txn) Delete(p Path) {
	if len(p) == 0 {
		t.root = t.newNode(t.root.schema)
		return
	}
	if !exists(t.root, p) {
		return
	}
	last := p[len(p)-1]
	if last.Schema.Kind == schema.List && last.Keys != nil {
		// Walk to the list only: walking to the entry would copy it and
		// put the copy back into the list, just to delete it.
		chain := t.walk(p[:len(p)-1], false)
		parent := chain[len(chain)-1]
		list := t.mutable(parent.Child(last.Schema))
		parent.insertKid(list)
		key := KeyString(last.Keys)
		was, _ := list.entries.Delete(&Node{key: key})
		list.touch(key, was, nil)
		return
	}
	chain := t.walk(p, false)
	parent := chain[len(chain)-2]
	parent.removeKid(last.Schema)
	t.fillDefaults(parent)
}

// Lookup returns the node at p in root, or nil.
func Lookup(root *Node, p Path) *Node {
	cur := root
	for _, el := range p {
		if cur = cur.Child(el.Schema); cur == nil {
			return nil
		}
		if el.Schema.Kind == schema.List && el.Keys != nil {
			if cur = cur.Entry(KeyString(el.Keys)); cur == nil {
				return nil
			}
		}
	}
	return cur
}

func exists(root *Node, p Path) bool { return Lookup(root, p) != nil }

// Merge merges payload, an instance of the node at p (see Decoder), into
// the tree, creating p's ancestors as needed.
func (t *Txn) Merge(p Path, payload *Node) error { return t.place(p, payload, t.merge) }

// Replace replaces the node at p with payload. State (config false) data
// of objects that exist before and after is kept: replace is about
// configuration.
func (t *Txn) Replace(p Path, payload *Node) error {
	return t.place(p, t.complete(payload), t.graftState)
}

// place puts payload at p, creating p's ancestors; where a node is there
// already, combine(old, payload) decides what stays.
func (t *Txn) place(p Path, payload *Node, combine func(old, payload *Node) *Node) error {
	if len(p) == 0 {
		t.root = combine(t.root, payload)
		return nil
	}
	chain := t.walk(p[:len(p)-1], true)
	parent := chain[len(chain)-1]
	last := p[len(p)-1]
	if last.Schema.Kind != schema.List || last.Keys == nil {
		if old := parent.Child(last.Schema); old != nil {
			payload = combine(old, payload)
		} else {
			payload = t.complete(payload)
		}
		t.setKid(parent, payload)
		return nil
	}
	if err := checkEntryKeys(payload, last); err != nil {
		return err
	}
	list := parent.Child(last.Schema)
	if list == nil {
		list = t.newNode(last.Schema)
		t.setKid(parent, list)
	} else {
		list = t.mutable(list)
		parent.insertKid(list)
	}
	if old := list.Entry(payload.key); old != nil {
		payload = combine(old, payload)
	} else {
		payload = t.complete(payload)
	}
	t.setEntry(list, payload)
	return nil
}

// checkEntryKeys makes sure a list-entry payload names the entry of the
// path: a body with other key values than its path is an error.
func checkEntryKeys(payload *Node, el Elem) error {
	if want := KeyString(el.Keys); payload.key != want {
		return fmt.Errorf("key in payload (%s) differs from key in path (%s)", keyText(payload.KeyValues()), keyText(el.Keys))
	}
	return nil
}

// merge returns dst with src merged in: leaves of src win unless they only
// hold a default, containers and entries merge recursively, a leaf-list is
// replaced by src's.
func (t *Txn) merge(dst, src *Node) *Node {
	switch dst.schema.Kind {
	case schema.Leaf:
		if src.dflt {
			return dst
		}
		return src
	case schema.LeafList:
		return src
	}
	if dst == src {
		return dst
	}
	out := t.mutable(dst)
	if src.entries != nil {
		t.mergeEntries(out, src)
		return out
	}
	for _, sk := range src.kids {
		if dk := out.Child(sk.schema); dk != nil {
			out.insertKid(t.merge(dk, sk))
			continue
		}
		t.setKid(out, t.complete(sk))
	}
	return out
}

// mergeEntries merges the entries of the list src into the owned list
// out with one B-tree search per entry: a copy of src's entry takes the
// place of out's (ReplaceOrInsert hands back the one it replaced), then
// gets the children of merge(out's entry, src's). Looking the entry up
// and then putting the merged one back searched twice per entry, each
// comparison a likely cache miss in a list of 10,000s.
func (t *Txn) mergeEntries(out, src *Node) {
	src.entries.Ascend(func(se *Node) bool {
		ne := new(Node)
		*ne = *se
		ne.owner = t.own
		de, found := out.entries.ReplaceOrInsert(ne)
		if found {
			ne.kids = t.mergeKids(de, se)
		} else {
			ne.kids = append([]*Node(nil), se.kids...)
			t.completeKids(ne, se.owner.bare)
		}
		out.touch(ne.key, de, ne)
		return true
	})
}

// mergeKids returns the children of merge(dst, src), two instances of one
// container or entry, in one pass over both (each in schema order): src's
// leaves win unless they hold a default, directories merge, and dst's
// children of a choice's case other than the one src sets are dropped.
func (t *Txn) mergeKids(dst, src *Node) []*Node {
	kids := make([]*Node, 0, len(dst.kids)+len(src.kids))
	i, j := 0, 0
	for i < len(dst.kids) || j < len(src.kids) {
		switch {
		case j == len(src.kids) || i < len(dst.kids) && dst.kids[i].schema.Index < src.kids[j].schema.Index:
			if dk := dst.kids[i]; !otherCaseSet(src, dk.schema) {
				kids = append(kids, dk)
			}
			i++
		case i == len(dst.kids) || src.kids[j].schema.Index < dst.kids[i].schema.Index:
			kids = append(kids, t.complete(src.kids[j]))
			j++
		default:
			kids = append(kids, t.merge(dst.kids[i], src.kids[j]))
			i++
			j++
		}
	}
	return kids
}

// otherCaseSet reports whether n has a child in a case of a choice s
// belongs to other than s's own: setting it removes s (see setKid).
func otherCaseSet(n *Node, s *schema.Node) bool {
	for _, k := range n.kids {
		if c := k.schema.Choice; c != nil && k.schema.Case != s.Case && slices.Contains(c.Nodes(), s) {
			return true
		}
	}
	return false
}

// graftState returns repl with the state children of old carried over
// wherever the same container or list entry exists in both. A
// non-presence container exists whether or not repl names it, so the
// state below one that repl leaves out is kept too (the server's own
// /system/state survives a replace at the root).
func (t *Txn) graftState(old, repl *Node) *Node {
	s := old.schema
	if s.Kind == schema.Leaf || s.Kind == schema.LeafList || !s.Config {
		return repl
	}
	out := t.mutable(repl)
	if repl.entries != nil {
		repl.entries.Ascend(func(re *Node) bool {
			if oe := old.Entry(re.key); oe != nil {
				t.setEntry(out, t.graftState(oe, re))
			}
			return true
		})
		// The replaced list drops entries: Diff must compare all of it.
		out.aux = nil
		return out
	}
	for _, ok := range old.kids {
		if !ok.schema.Config {
			out.insertKid(ok)
			continue
		}
		if rk := out.Child(ok.schema); rk != nil && rk.schema.IsDir() {
			out.insertKid(t.graftState(ok, rk))
		} else if rk == nil && isNonPresence(ok.schema) {
			if st := t.stateBelow(ok); st != nil {
				out.insertKid(st)
			}
		}
	}
	return out
}

func isNonPresence(s *schema.Node) bool { return s.Kind == schema.Container && !s.Presence }

// stateBelow returns a new instance of the non-presence container old
// holding only old's state: its state children and the state below its
// non-presence containers. Nil when there is none.
func (t *Txn) stateBelow(old *Node) *Node {
	var n *Node
	for _, k := range old.kids {
		if k.schema.Config && isNonPresence(k.schema) {
			k = t.stateBelow(k)
		} else if k.schema.Config {
			k = nil
		}
		if k == nil {
			continue
		}
		if n == nil {
			n = t.newNode(old.schema)
		}
		n.insertKid(k)
	}
	return n
}

// keyText is key values as people read them: canonical text, comma-separated.
func keyText(vals []value.Value) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = value.String(v)
	}
	return strings.Join(parts, ",")
}
