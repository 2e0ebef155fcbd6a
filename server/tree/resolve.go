package tree

import (
	"strings"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/gnmipath"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
)

// ElemsString renders gNMI path elements for messages ("/" for none): it
// is gnmipath.String, so a message's path reads back as the same path.
func ElemsString(elems []*gpb.PathElem) string { return gnmipath.String(elems) }

// Resolve resolves a concrete gNMI path (no wildcards; a list either with
// all its keys or, as the last element, with none) against the schema.
// Unknown names are NotFound, malformed keys and wildcards InvalidArgument.
func Resolve(root *schema.Node, elems []*gpb.PathElem) (Path, error) {
	p := make(Path, 0, len(elems))
	s := root
	for i, e := range elems {
		name := e.GetName()
		if name == "*" || name == "..." {
			return nil, errorf(KindInvalid, ElemsString(elems), "wildcards are not allowed here")
		}
		c := s.Child(name)
		if c == nil {
			return nil, errorf(KindNotFound, ElemsString(elems[:i+1]), "no such element in the schema")
		}
		el := Elem{Schema: c}
		switch {
		case c.Kind == schema.List && len(e.GetKey()) > 0:
			keys, wild, err := parseKeys(c, e.GetKey(), elems[:i+1])
			if err != nil {
				return nil, err
			}
			if wild {
				return nil, errorf(KindInvalid, ElemsString(elems[:i+1]), "every key of %s is needed here (no wildcards)", c.Name)
			}
			el.Keys = keys
		case c.Kind == schema.List && i < len(elems)-1:
			return nil, errorf(KindInvalid, ElemsString(elems[:i+1]), "list %s needs its keys (%s)", c.Name, keyNames(c))
		case len(e.GetKey()) > 0:
			return nil, errorf(KindInvalid, ElemsString(elems[:i+1]), "%s is a %s and takes no keys", c.Name, c.Kind)
		}
		p = append(p, el)
		s = c
	}
	return p, nil
}

func keyNames(s *schema.Node) string {
	names := make([]string, len(s.Keys))
	for i, k := range s.Keys {
		names[i] = k.Name
	}
	return strings.Join(names, ", ")
}

// parseKeys parses the key map of a list element. wild reports a missing
// key or a "*" value; the returned slice then has nil in those places.
func parseKeys(s *schema.Node, kv map[string]string, elems []*gpb.PathElem) ([]value.Value, bool, error) {
	keys := make([]value.Value, len(s.Keys))
	wild := false
	// Key names may be module-qualified like node names: look values up
	// by key node, so "t:n" is the key n and not a missing (wildcard) key.
	byKey := make(map[*schema.Node]string, len(kv))
	for name, raw := range kv {
		k := s.Child(name)
		if k == nil || !k.IsKey {
			return nil, false, errorf(KindInvalid, ElemsString(elems), "%s is not a key of list %s (keys: %s)", name, s.Name, keyNames(s))
		}
		if _, dup := byKey[k]; dup {
			return nil, false, errorf(KindInvalid, ElemsString(elems), "key %s is given more than once", k.Name)
		}
		byKey[k] = raw
	}
	for i, k := range s.Keys {
		raw, ok := byKey[k]
		if !ok || raw == "*" {
			wild = true
			continue
		}
		v, err := value.ParseString(k.ValueType(), raw)
		if err != nil {
			return nil, false, errorf(KindInvalid, ElemsString(elems), "key %s: %v", k.Name, err)
		}
		keys[i] = v
	}
	return keys, wild, nil
}

// CheckPattern checks a gNMI path that may hold wildcards against the
// schema: names that cannot exist are NotFound, keys that cannot parse are
// InvalidArgument. Past a "*" or "..." element names are not checked, as
// they may match anywhere.
func CheckPattern(root *schema.Node, elems []*gpb.PathElem) error {
	s := root
	for i, e := range elems {
		if e.GetName() == "*" || e.GetName() == "..." {
			return nil
		}
		c := s.Child(e.GetName())
		if c == nil {
			return errorf(KindNotFound, ElemsString(elems[:i+1]), "no such element in the schema")
		}
		if len(e.GetKey()) > 0 {
			if c.Kind != schema.List {
				return errorf(KindInvalid, ElemsString(elems[:i+1]), "%s is a %s and takes no keys", c.Name, c.Kind)
			}
			if _, _, err := parseKeys(c, e.GetKey(), elems[:i+1]); err != nil {
				return err
			}
		}
		s = c
	}
	return nil
}

// Match calls fn with the chain of every node that the gNMI path pattern
// elems matches in root: names or "*", keys or "*" (missing keys match all
// entries) and "..." (any number of levels). A path ending at a list
// matches each of its entries. Check the pattern with CheckPattern first.
func Match(root *Node, elems []*gpb.PathElem, fn func(chain []*Node) error) error {
	m := &matcher{fn: fn}
	return m.dir(root, nil, collapseEllipses(elems))
}

// collapseEllipses drops every "..." that follows another: "/.../..." means
// "/...", and matching both would report nodes once per way of splitting
// the levels between them (and cost as much).
func collapseEllipses(elems []*gpb.PathElem) []*gpb.PathElem {
	for i := 1; i < len(elems); i++ {
		if elems[i].GetName() == "..." && elems[i-1].GetName() == "..." {
			out := append([]*gpb.PathElem(nil), elems[:i]...)
			for _, e := range elems[i:] {
				if e.GetName() != "..." || out[len(out)-1].GetName() != "..." {
					out = append(out, e)
				}
			}
			return out
		}
	}
	return elems
}

type matcher struct {
	fn func([]*Node) error
}

func (m *matcher) dir(n *Node, chain []*Node, elems []*gpb.PathElem) error {
	if len(elems) == 0 {
		if len(chain) == 0 {
			return m.fn(chain) // the root itself
		}
		return m.fn(chain)
	}
	e := elems[0]
	switch e.GetName() {
	case "...":
		if err := m.dir(n, chain, elems[1:]); err != nil {
			return err
		}
		for _, c := range n.kids {
			if c.schema.IsDir() {
				if err := m.step(c, chain, e, elems); err != nil {
					return err
				}
			}
		}
		return nil
	case "*":
		for _, c := range n.kids {
			if err := m.step(c, chain, e, elems[1:]); err != nil {
				return err
			}
		}
		return nil
	}
	s := n.schema.Child(e.GetName())
	if s == nil {
		return nil
	}
	c := n.Child(s)
	if c == nil {
		return nil
	}
	return m.step(c, chain, e, elems[1:])
}

// step moves into child c (matched by e) and continues with rest.
func (m *matcher) step(c *Node, chain []*Node, e *gpb.PathElem, rest []*gpb.PathElem) error {
	if c.schema.Kind != schema.List && len(e.GetKey()) > 0 && e.GetName() != "..." {
		return nil // keys select list entries: nothing else matches them
	}
	chain = append(chain[:len(chain):len(chain)], c)
	switch c.schema.Kind {
	case schema.Leaf, schema.LeafList:
		if len(rest) == 0 || (len(rest) == 1 && rest[0].GetName() == "...") {
			return m.fn(chain)
		}
		return nil
	case schema.Container:
		return m.dir(c, chain, rest)
	}
	keys := e.GetKey()
	if e.GetName() == "..." {
		keys = nil
	}
	var want []value.Value
	wild := true
	if len(keys) > 0 {
		var err error
		if want, wild, err = parseKeys(c.schema, keys, []*gpb.PathElem{e}); err != nil {
			if e.GetName() == "*" {
				return nil // keys of another list: no match
			}
			return err
		}
	}
	if !wild {
		if en := c.Entry(KeyString(want)); en != nil {
			return m.dir(en, append(chain, en), rest)
		}
		return nil
	}
	var err error
	c.Entries(func(en *Node) bool {
		if !keysMatch(en, want) {
			return true
		}
		err = m.dir(en, append(chain[:len(chain):len(chain)], en), rest)
		return err == nil
	})
	return err
}

// keysMatch reports whether entry en has the given key values (nil matches any).
func keysMatch(en *Node, want []value.Value) bool {
	if want == nil {
		return true
	}
	for i, k := range en.schema.Keys {
		if want[i] == nil {
			continue
		}
		if c := en.Child(k); c == nil || !value.Equal(c.val, want[i]) {
			return false
		}
	}
	return true
}
