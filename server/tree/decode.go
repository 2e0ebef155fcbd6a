package tree

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/btree"
	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/strictjson"
)

func errorf(kind Kind, path, format string, args ...any) *Error {
	return &Error{Kind: kind, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// decoder builds detached nodes from a payload. The nodes are owned by the
// decoder until a Txn adopts them, so decoding can run outside the writer.
//
// A JSON payload is checked whole first (strictjson.NewReader: a syntax
// error anywhere is the error, as when the payload was parsed into maps
// before decoding), then read straight into nodes: an object's members are
// listed (names and offsets), its keys read before the rest, and only the
// scalars become Go values. A bulk Set's objects were a map each, built to
// be thrown away.
type decoder struct {
	own  *owner
	ietf bool
	// state admits config false data: only for what the server itself
	// publishes (DecodeStateJSON), never for client payloads.
	state bool
	// leaves is room for the leaves of the object being decoded, taken by
	// leaf while it lasts (see dir).
	leaves []Node
	r      *strictjson.Reader
	// members is a stack of the members of the objects being decoded,
	// each dir's above its parent's: one buffer for the whole payload.
	members []strictjson.Member
}

// DecodeJSON decodes a JSON (ietf false) or JSON_IETF payload for the node
// at p: an object for the root, a container or a list entry, an array for a
// whole list or a leaf-list, a scalar for a leaf. The returned node carries
// the defaults of every container and entry it creates. pathStr is p as
// text, for errors.
func DecodeJSON(p Path, data []byte, ietf bool) (*Node, error) {
	return decodeJSON(p, data, ietf, &owner{})
}

// decodeJSON is DecodeJSON, the nodes owned by own (bare or not).
func decodeJSON(p Path, data []byte, ietf bool, own *owner) (*Node, error) {
	d, err := newJSONDecoder(data, PathString(p), ietf, false, own)
	if err != nil {
		return nil, err
	}
	return d.decodeAt(p)
}

// newJSONDecoder checks data, which must hold exactly one JSON value,
// strictly: invalid UTF-8, lone surrogates and duplicate members are
// refused with where they are (strictjson), not stored as U+FFFD or the
// last of the duplicates. ps is the payload's path, for the error.
func newJSONDecoder(data []byte, ps string, ietf, state bool, own *owner) (*decoder, error) {
	r, err := strictjson.NewReader(data)
	if err != nil {
		return nil, errorf(KindInvalid, ps, "invalid JSON: %v", err)
	}
	return &decoder{own: own, ietf: ietf, state: state, r: r}, nil
}

// DecodeStateAt is DecodeJSON (JSON_IETF) for state the server itself
// publishes at p — a replica leader's realization status of one object,
// read by its followers: config false data is accepted.
func DecodeStateAt(p Path, data []byte) (*Node, error) {
	d, err := newJSONDecoder(data, PathString(p), true, true, &owner{})
	if err != nil {
		return nil, err
	}
	return d.decodeAt(p)
}

// DecodeTyped decodes a gNMI TypedValue for the node at p: JSON and
// JSON_IETF values of any node, scalars for leaves and leaflist_val for
// leaf-lists.
func DecodeTyped(p Path, tv *gpb.TypedValue) (*Node, error) {
	return decodeTyped(p, tv, &owner{})
}

// DecodeTypedForMerge is DecodeTyped for a payload only Txn.Merge will
// use. Its containers and list entries come without their default leaves:
// merged into an object that exists, a payload's defaults are dropped
// (a default never overwrites), and a bulk Set changing one leaf of
// 1,000 existing entries spent a third of its decoding on defaults. Merge
// gives what it places new the defaults it lacks, and Replace the whole
// payload, so the tree is the same as with DecodeTyped's payload.
func DecodeTypedForMerge(p Path, tv *gpb.TypedValue) (*Node, error) {
	return decodeTyped(p, tv, &owner{bare: true})
}

// decodeTyped is DecodeTyped, the nodes owned by own.
func decodeTyped(p Path, tv *gpb.TypedValue, own *owner) (*Node, error) {
	switch v := tv.GetValue().(type) {
	case *gpb.TypedValue_JsonIetfVal:
		return decodeJSON(p, v.JsonIetfVal, true, own)
	case *gpb.TypedValue_JsonVal:
		return decodeJSON(p, v.JsonVal, false, own)
	case nil:
		return nil, errorf(KindInvalid, PathString(p), "missing value")
	}
	s := target(p)
	d := &decoder{own: own}
	ps := PathString(p)
	if s == nil {
		return nil, errorf(KindInvalid, ps, "the root takes a JSON or JSON_IETF value")
	}
	switch s.Kind {
	case schema.Leaf:
		val, err := value.ParseTyped(s.ValueType(), tv)
		if err != nil {
			return nil, errorf(KindInvalid, ps, "%v", err)
		}
		if err := checkKeyLeaf(p, val); err != nil {
			return nil, err
		}
		return d.leaf(s, val, fixed(ps))
	case schema.LeafList:
		ll, ok := tv.GetValue().(*gpb.TypedValue_LeaflistVal)
		if !ok {
			return nil, errorf(KindInvalid, ps, "a leaf-list takes leaflist_val or JSON, not %T", tv.GetValue())
		}
		if err := checkMaxElements(s, len(ll.LeaflistVal.GetElement()), fixed(ps)); err != nil {
			return nil, err
		}
		vals := make([]value.Value, 0, len(ll.LeaflistVal.GetElement()))
		for _, el := range ll.LeaflistVal.GetElement() {
			val, err := value.ParseTyped(s.ValueType(), el)
			if err != nil {
				return nil, errorf(KindInvalid, ps, "%v", err)
			}
			vals = append(vals, val)
		}
		return d.leafList(s, vals, fixed(ps))
	}
	return nil, errorf(KindInvalid, ps, "a %s takes a JSON or JSON_IETF value", s.Kind)
}

// target is the schema node a path ends at.
func target(p Path) *schema.Node {
	if len(p) == 0 {
		return nil
	}
	return p[len(p)-1].Schema
}

func (d *decoder) decodeAt(p Path) (*Node, error) {
	ps := PathString(p)
	if len(p) == 0 {
		return nil, errorf(KindInternal, "/", "root payload needs a schema root; use DecodeRootJSON")
	}
	last := p[len(p)-1]
	s := last.Schema
	if !s.Config && !d.state {
		return nil, errorf(KindInvalid, ps, "read-only (config false) data cannot be set")
	}
	switch {
	case s.Kind == schema.List && last.Keys != nil:
		if k := d.r.Peek(); k != strictjson.Object {
			return nil, errorf(KindInvalid, ps, "a list entry takes a JSON object, got %s", k)
		}
		return d.entry(s, last.Keys, fixed(ps), "")
	case s.Kind == schema.List:
		return d.list(s, parentString(p))
	case s.Kind == schema.Container:
		if k := d.r.Peek(); k != strictjson.Object {
			return nil, errorf(KindInvalid, ps, "a container takes a JSON object, got %s", k)
		}
		return d.dir(d.newDir(s), ps)
	case s.Kind == schema.LeafList:
		return d.jsonLeafList(s, fixed(ps))
	default:
		n, err := d.jsonLeaf(s, fixed(ps))
		if err != nil {
			return nil, err
		}
		return n, checkKeyLeaf(p, n.val)
	}
}

// checkKeyLeaf refuses a value for a list's key leaf, set at the leaf's own
// path, that differs from the key of the entry in the path: the entry would
// no longer match its key.
func checkKeyLeaf(p Path, v value.Value) error {
	s := target(p)
	if !s.IsKey || len(p) < 2 || p[len(p)-2].Keys == nil {
		return nil
	}
	for i, k := range s.Parent.Keys {
		if k == s && !value.Equal(v, p[len(p)-2].Keys[i]) {
			return errorf(KindInvalid, PathString(p), "key %s is %s in the body but %s in the path", s.Name, value.String(v), value.String(p[len(p)-2].Keys[i]))
		}
	}
	return nil
}

// DecodeRootJSON decodes a payload for the schema root (a Set at path "/").
func DecodeRootJSON(root *schema.Node, data []byte, ietf bool) (*Node, error) {
	return decodeRoot(root, data, ietf, false, &owner{})
}

// DecodeRootJSONForMerge is DecodeRootJSON for a payload only Txn.Merge
// will use, without default leaves (DecodeTypedForMerge).
func DecodeRootJSONForMerge(root *schema.Node, data []byte, ietf bool) (*Node, error) {
	return decodeRoot(root, data, ietf, false, &owner{bare: true})
}

// decodeRoot decodes a JSON object for the schema root, the nodes owned
// by own.
func decodeRoot(root *schema.Node, data []byte, ietf, state bool, own *owner) (*Node, error) {
	d, err := newJSONDecoder(data, "/", ietf, state, own)
	if err != nil {
		return nil, err
	}
	if k := d.r.Peek(); k != strictjson.Object {
		return nil, errorf(KindInvalid, "/", "the root takes a JSON object, got %s", k)
	}
	return d.dir(d.newDir(root), "")
}

// DecodeStateJSON is DecodeRootJSON for state the server publishes from
// its own files (the access policy): config false data is accepted.
func DecodeStateJSON(root *schema.Node, data []byte) (*Node, error) {
	return decodeRoot(root, data, true, true, &owner{})
}

func (d *decoder) newDir(s *schema.Node) *Node {
	t := &Txn{own: d.own}
	return t.newNode(s)
}

// dir fills a container or list entry n from the JSON object at the
// reader's offset.
func (d *decoder) dir(n *Node, ps string) (*Node, error) {
	base := len(d.members)
	d.members = d.r.Members(d.members)
	defer func() { d.members = d.members[:base] }()
	return d.fill(n, d.members[base:], fixed(ps))
}

// fill fills n from the members ms of its object, in document order. ps
// is n's path, built only when needed: for an error, or for a container
// or list below n (most members of a bulk payload are leaves).
func (d *decoder) fill(n *Node, ms []strictjson.Member, ps func() string) (*Node, error) {
	t := &Txn{own: d.own}
	// A member given twice is refused by strictjson; seen catches one
	// given qualified and unqualified. Objects have a few members.
	var seenBuf [16]*schema.Node
	seen := seenBuf[:0]
	// The object's leaves come from one allocation, not one each: a bulk
	// Set decodes 100,000s of leaves.
	outer := d.leaves
	d.leaves = leafRoom(n, ms)
	defer func() { d.leaves = outer }()
	for _, m := range ms {
		name := m.Name
		if strings.HasPrefix(name, "@") {
			continue // RFC 7952 metadata: nothing of ours
		}
		c := n.schema.Child(name)
		// The member's path is built only for an error or a container:
		// most members are leaves, and most payloads are valid.
		cps := func() string { return ps() + "/" + unqualified(name) }
		if c == nil {
			return nil, errorf(KindNotFound, cps(), "no such element in the schema under %s", n.schema.PathString())
		}
		if d.ietf && n.schema.Parent == nil && !strings.Contains(name, ":") {
			return nil, errorf(KindInvalid, cps(), "a top-level member takes its module's name in JSON_IETF (RFC 7951 section 4): %q, not %q", c.Module+":"+c.Name, name)
		}
		if slices.Contains(seen, c) {
			return nil, errorf(KindInvalid, cps(), "member given more than once (qualified and unqualified)")
		}
		seen = append(seen, c)
		if !c.Config && !d.state {
			return nil, errorf(KindInvalid, cps(), "read-only (config false) data cannot be set")
		}
		if c.IsKey && n.isEntry() {
			continue // checked by entry
		}
		d.r.Seek(m.At)
		kid, err := d.child(c, cps, ps)
		if err != nil {
			return nil, err
		}
		if c.Choice != nil {
			if other := otherCase(n, c); other != nil {
				return nil, errorf(KindInvalid, cps(), "choice %s: cases %s and %s are both present", c.Choice.Name, other.Case, c.Case)
			}
		}
		t.setKid(n, kid)
	}
	return n, nil
}

// otherCase returns a child of n in another case of c's choice.
func otherCase(n *Node, c *schema.Node) *schema.Node {
	for _, k := range n.kids {
		if k.schema.Choice == c.Choice && k.schema.Case != c.Case {
			return k.schema
		}
	}
	return nil
}

func (d *decoder) child(c *schema.Node, cps, ps func() string) (*Node, error) {
	switch c.Kind {
	case schema.Leaf:
		return d.jsonLeaf(c, cps)
	case schema.LeafList:
		return d.jsonLeafList(c, cps)
	case schema.List:
		return d.list(c, ps())
	}
	if k := d.r.Peek(); k != strictjson.Object {
		return nil, errorf(KindInvalid, cps(), "a container takes a JSON object, got %s", k)
	}
	return d.dir(d.newDir(c), cps())
}

// list decodes the JSON array of entries at the reader's offset. ps is the
// path of the list's parent.
func (d *decoder) list(s *schema.Node, ps string) (*Node, error) {
	lps := ps + "/" + s.Name
	if k := d.r.Peek(); k != strictjson.Array {
		return nil, errorf(KindInvalid, lps, "a list takes a JSON array, got %s", k)
	}
	l := &Node{schema: s, owner: d.own, entries: btree.NewG(btreeDegree, entryLess)}
	for i, off := range d.r.Elements(nil) {
		d.r.Seek(off)
		at := func() string { return fmt.Sprintf("%s[%d]", lps, i) }
		if k := d.r.Peek(); k != strictjson.Object {
			return nil, errorf(KindInvalid, at(), "a list entry takes a JSON object, got %s", k)
		}
		e, err := d.entry(s, nil, at, ps)
		if err != nil {
			return nil, err
		}
		// One search: a duplicate found is reported, the list dropped.
		if _, dup := l.entries.ReplaceOrInsert(e); dup {
			return nil, errorf(KindInvalid, entryPath(ps, e), "duplicate list entry")
		}
	}
	return l, nil
}

// entry decodes the list entry at the reader's offset, its keys before
// its other members. Keys come from the body, or from the path when
// pathKeys is set (then the body may repeat them, but not differ). at is
// the entry's path (for an entry of a JSON array, its index: built only
// for an error); parent is the path of the list's parent, from which the
// path of an entry of an array is built once its keys are known.
func (d *decoder) entry(s *schema.Node, pathKeys []value.Value, at func() string, parent string) (*Node, error) {
	base := len(d.members)
	d.members = d.r.Members(d.members)
	defer func() { d.members = d.members[:base] }()
	ms := d.members[base:]
	keys := make([]value.Value, len(s.Keys))
	for i, k := range s.Keys {
		m, ok := member(ms, k)
		switch {
		case ok:
			d.r.Seek(m.At)
			raw := d.r.Value()
			if err := checkKeyValueLen(raw, func() string { return at() + "/" + k.Name }); err != nil {
				return nil, err
			}
			v, err := value.ParseJSON(k.ValueType(), raw, d.ietf)
			if err != nil {
				return nil, errorf(KindInvalid, at()+"/"+k.Name, "%v", err)
			}
			if pathKeys != nil && !value.Equal(v, pathKeys[i]) {
				return nil, errorf(KindInvalid, at()+"/"+k.Name, "key %s is %s in the body but %s in the path", k.Name, value.String(v), value.String(pathKeys[i]))
			}
			keys[i] = v
		case pathKeys != nil:
			keys[i] = pathKeys[i]
		default:
			return nil, errorf(KindInvalid, at(), "list entry is missing key %s", k.Name)
		}
	}
	t := &Txn{own: d.own}
	e := t.newEntry(s, keys)
	if pathKeys == nil {
		return d.fill(e, ms, func() string { return entryPath(parent, e) })
	}
	return d.fill(e, ms, at)
}

// member finds the member for schema node k, unqualified before qualified.
func member(ms []strictjson.Member, k *schema.Node) (strictjson.Member, bool) {
	var qualified strictjson.Member
	found := false
	for _, m := range ms {
		switch {
		case m.Name == k.Name:
			return m, true
		case !found && len(m.Name) == len(k.Module)+1+len(k.Name) &&
			strings.HasPrefix(m.Name, k.Module) && m.Name[len(k.Module)] == ':' && strings.HasSuffix(m.Name, k.Name):
			qualified, found = m, true
		}
	}
	return qualified, found
}

// jsonLeaf decodes the leaf value at the reader's offset.
func (d *decoder) jsonLeaf(s *schema.Node, ps func() string) (*Node, error) {
	v, err := value.ParseJSON(s.ValueType(), d.r.Value(), d.ietf)
	if err != nil {
		return nil, errorf(KindInvalid, ps(), "%v", err)
	}
	return d.leaf(s, v, ps)
}

func (d *decoder) leaf(s *schema.Node, v value.Value, ps func() string) (*Node, error) {
	if !s.Config && !d.state {
		return nil, errorf(KindInvalid, ps(), "read-only (config false) data cannot be set")
	}
	if len(d.leaves) < cap(d.leaves) { // never grown: the nodes taken stay put
		d.leaves = append(d.leaves, Node{schema: s, owner: d.own, val: v})
		return &d.leaves[len(d.leaves)-1], nil
	}
	return &Node{schema: s, owner: d.own, val: v}, nil
}

// leafRoom returns room for the leaves among the members ms that fill
// decodes into n (a key of an entry is not one: entry made it), or nil for
// at most one.
func leafRoom(n *Node, ms []strictjson.Member) []Node {
	count := 0
	for _, m := range ms {
		if c := n.schema.Child(m.Name); c != nil && c.Kind == schema.Leaf && !(c.IsKey && n.isEntry()) {
			count++
		}
	}
	if count <= 1 {
		return nil
	}
	return make([]Node, 0, count)
}

// jsonLeafList decodes the JSON array of values at the reader's offset.
func (d *decoder) jsonLeafList(s *schema.Node, ps func() string) (*Node, error) {
	if k := d.r.Peek(); k != strictjson.Array {
		return nil, errorf(KindInvalid, ps(), "a leaf-list takes a JSON array, got %s", k)
	}
	els := d.r.Elements(nil)
	if err := checkMaxElements(s, len(els), ps); err != nil {
		return nil, err
	}
	vals := make([]value.Value, 0, len(els))
	for _, off := range els {
		d.r.Seek(off)
		v, err := value.ParseJSON(s.ValueType(), d.r.Value(), d.ietf)
		if err != nil {
			return nil, errorf(KindInvalid, ps(), "%v", err)
		}
		vals = append(vals, v)
	}
	return d.leafList(s, vals, ps)
}

// checkMaxElements refuses a leaf-list payload of more values than the
// model's max-elements before any value is parsed. A payload replaces the
// whole leaf-list, so validation would refuse the result anyway (with the
// same message); refusing here spares parsing the values.
func checkMaxElements(s *schema.Node, n int, ps func() string) error {
	if s.MaxElements > 0 && uint64(n) > s.MaxElements {
		return errorf(KindConflict, ps(), "has %d elements, at most %d allowed (max-elements)", n, s.MaxElements)
	}
	return nil
}

func (d *decoder) leafList(s *schema.Node, vals []value.Value, ps func() string) (*Node, error) {
	if !s.Config && !d.state {
		return nil, errorf(KindInvalid, ps(), "read-only (config false) data cannot be set")
	}
	seen := make(map[any]struct{}, len(vals))
	for _, v := range vals {
		k := value.Key(v)
		if _, dup := seen[k]; dup {
			return nil, errorf(KindInvalid, ps(), "duplicate leaf-list value %s", value.String(v))
		}
		seen[k] = struct{}{}
	}
	return leafListNode(s, d.own, vals), nil
}

// fixed is the path function of a path already built.
func fixed(ps string) func() string { return func() string { return ps } }

func unqualified(name string) string {
	if i := strings.IndexByte(name, ':'); i >= 0 {
		return name[i+1:]
	}
	return name
}
