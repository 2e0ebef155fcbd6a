package tree

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/btree"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/strictjson"
)

// The payload decoder as it was before it read the payload straight into
// nodes: strictjson.Parse's maps and slices, then a tree from them. Kept
// as the oracle the streaming decoder must agree with (FuzzDecodersAgree).
// It ranges over maps, so where an object holds two errors it reports
// either.

// mapDecoder is decoder over a parsed JSON value.
type mapDecoder struct{ *decoder }

// mapDecodeJSON is DecodeJSON as it was.
func mapDecodeJSON(p Path, data []byte, ietf bool) (*Node, error) {
	v, err := strictjson.Parse(data)
	if err != nil {
		return nil, errorf(KindInvalid, PathString(p), "invalid JSON: %v", err)
	}
	d := &mapDecoder{&decoder{own: &owner{}, ietf: ietf}}
	return d.mDecodeAt(p, v)
}

// mapDecodeRootJSON is DecodeRootJSON as it was.
func mapDecodeRootJSON(root *schema.Node, data []byte, ietf bool) (*Node, error) {
	v, err := strictjson.Parse(data)
	if err != nil {
		return nil, errorf(KindInvalid, "/", "invalid JSON: %v", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errorf(KindInvalid, "/", "the root takes a JSON object, got %s", jsonKind(v))
	}
	d := &mapDecoder{&decoder{own: &owner{}, ietf: ietf}}
	return d.mDir(d.newDir(root), obj, "")
}

func (d *mapDecoder) mDecodeAt(p Path, v any) (*Node, error) {
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
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, errorf(KindInvalid, ps, "a list entry takes a JSON object, got %s", jsonKind(v))
		}
		return d.mEntry(s, obj, last.Keys, fixed(ps), "")
	case s.Kind == schema.List:
		return d.mList(s, v, parentString(p))
	case s.Kind == schema.Container:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, errorf(KindInvalid, ps, "a container takes a JSON object, got %s", jsonKind(v))
		}
		return d.mDir(d.newDir(s), obj, ps)
	case s.Kind == schema.LeafList:
		return d.mJsonLeafList(s, v, fixed(ps))
	default:
		n, err := d.mJsonLeaf(s, v, fixed(ps))
		if err != nil {
			return nil, err
		}
		return n, checkKeyLeaf(p, n.val)
	}
}

// dir fills a container or list entry n from a JSON object.
func (d *mapDecoder) mDir(n *Node, obj map[string]any, ps string) (*Node, error) {
	t := &Txn{own: d.own}
	seen := make(map[*schema.Node]bool, len(obj))
	// The object's leaves come from one allocation, not one each: a bulk
	// Set decodes 100,000s of leaves.
	outer := d.leaves
	d.leaves = mapLeafRoom(n, obj)
	defer func() { d.leaves = outer }()
	for name, raw := range obj {
		if strings.HasPrefix(name, "@") {
			continue // RFC 7952 metadata: nothing of ours
		}
		c := n.schema.Child(name)
		// The member's path is built only for an error or a container:
		// most members are leaves, and most payloads are valid.
		cps := func() string { return ps + "/" + unqualified(name) }
		if c == nil {
			return nil, errorf(KindNotFound, cps(), "no such element in the schema under %s", n.schema.PathString())
		}
		if d.ietf && n.schema.Parent == nil && !strings.Contains(name, ":") {
			return nil, errorf(KindInvalid, cps(), "a top-level member takes its module's name in JSON_IETF (RFC 7951 section 4): %q, not %q", c.Module+":"+c.Name, name)
		}
		if seen[c] {
			return nil, errorf(KindInvalid, cps(), "member given more than once (qualified and unqualified)")
		}
		seen[c] = true
		if !c.Config && !d.state {
			return nil, errorf(KindInvalid, cps(), "read-only (config false) data cannot be set")
		}
		if c.IsKey && n.isEntry() {
			continue // checked by entry
		}
		kid, err := d.mChild(c, raw, cps, ps)
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

func (d *mapDecoder) mChild(c *schema.Node, raw any, cps func() string, ps string) (*Node, error) {
	switch c.Kind {
	case schema.Leaf:
		return d.mJsonLeaf(c, raw, cps)
	case schema.LeafList:
		return d.mJsonLeafList(c, raw, cps)
	case schema.List:
		return d.mList(c, raw, ps)
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, errorf(KindInvalid, cps(), "a container takes a JSON object, got %s", jsonKind(raw))
	}
	return d.mDir(d.newDir(c), obj, cps())
}

// list decodes a JSON array of entries. ps is the path of the list's parent.
func (d *mapDecoder) mList(s *schema.Node, raw any, ps string) (*Node, error) {
	arr, ok := raw.([]any)
	lps := ps + "/" + s.Name
	if !ok {
		return nil, errorf(KindInvalid, lps, "a list takes a JSON array, got %s", jsonKind(raw))
	}
	l := &Node{schema: s, owner: d.own, entries: btree.NewG(btreeDegree, entryLess)}
	for i, el := range arr {
		obj, ok := el.(map[string]any)
		if !ok {
			return nil, errorf(KindInvalid, fmt.Sprintf("%s[%d]", lps, i), "a list entry takes a JSON object, got %s", jsonKind(el))
		}
		e, err := d.mEntry(s, obj, nil, func() string { return fmt.Sprintf("%s[%d]", lps, i) }, ps)
		if err != nil {
			return nil, err
		}
		if l.Entry(e.key) != nil {
			return nil, errorf(KindInvalid, entryPath(ps, e), "duplicate list entry")
		}
		l.entries.ReplaceOrInsert(e)
	}
	return l, nil
}

// entry decodes a list entry. Keys come from the body, or from the path
// when pathKeys is set (then the body may repeat them, but not differ). at
// is the entry's path (for an entry of a JSON array, its index: built only
// for an error); parent is the path of the list's parent, from which the
// path of an entry of an array is built once its keys are known.
func (d *mapDecoder) mEntry(s *schema.Node, obj map[string]any, pathKeys []value.Value, at func() string, parent string) (*Node, error) {
	keys := make([]value.Value, len(s.Keys))
	for i, k := range s.Keys {
		raw, ok := mapMember(obj, k)
		switch {
		case ok:
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
		return d.mDir(e, obj, entryPath(parent, e))
	}
	return d.mDir(e, obj, at())
}

// member finds the JSON member for schema node k, qualified or not.
func mapMember(obj map[string]any, k *schema.Node) (any, bool) {
	if v, ok := obj[k.Name]; ok {
		return v, true
	}
	v, ok := obj[k.Module+":"+k.Name]
	return v, ok
}

func (d *mapDecoder) mJsonLeaf(s *schema.Node, raw any, ps func() string) (*Node, error) {
	v, err := value.ParseJSON(s.ValueType(), raw, d.ietf)
	if err != nil {
		return nil, errorf(KindInvalid, ps(), "%v", err)
	}
	return d.leaf(s, v, ps)
}

// leafRoom returns room for the leaves among the members of obj that dir
// decodes into n (a key of an entry is not one: entry made it), or nil
// for at most one.
func mapLeafRoom(n *Node, obj map[string]any) []Node {
	count := 0
	for name := range obj {
		if c := n.schema.Child(name); c != nil && c.Kind == schema.Leaf && !(c.IsKey && n.isEntry()) {
			count++
		}
	}
	if count <= 1 {
		return nil
	}
	return make([]Node, 0, count)
}

func (d *mapDecoder) mJsonLeafList(s *schema.Node, raw any, ps func() string) (*Node, error) {
	arr, ok := raw.([]any)
	if !ok {
		return nil, errorf(KindInvalid, ps(), "a leaf-list takes a JSON array, got %s", jsonKind(raw))
	}
	if err := checkMaxElements(s, len(arr), ps); err != nil {
		return nil, err
	}
	vals := make([]value.Value, 0, len(arr))
	for _, el := range arr {
		v, err := value.ParseJSON(s.ValueType(), el, d.ietf)
		if err != nil {
			return nil, errorf(KindInvalid, ps(), "%v", err)
		}
		vals = append(vals, v)
	}
	return d.leafList(s, vals, ps)
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
