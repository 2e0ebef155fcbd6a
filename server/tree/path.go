package tree

import (
	"strings"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
)

// The canonical text form of a data path is the gNMI path string form
// ("/tenants/tenant[name=blue]/ports/port[name=g1]/mtu") with keys in schema
// key order and `\`, `=` and `]` escaped in key values as ygot does. It
// names store rows (rowPath parses it back) and appears in error messages.

// PathString returns the canonical text of p ("/" for the root).
func PathString(p Path) string {
	if len(p) == 0 {
		return "/"
	}
	var b strings.Builder
	for _, el := range p {
		appendElem(&b, el.Schema, el.Keys)
	}
	return b.String()
}

func parentString(p Path) string {
	if len(p) <= 1 {
		return ""
	}
	return PathString(p[:len(p)-1])
}

func appendElem(b *strings.Builder, s *schema.Node, keys []value.Value) {
	b.WriteByte('/')
	b.WriteString(s.Name)
	for i, k := range keys {
		b.WriteByte('[')
		b.WriteString(s.Keys[i].Name)
		b.WriteByte('=')
		writeKeyValue(b, value.String(k))
		b.WriteByte(']')
	}
}

func writeKeyValue(b *strings.Builder, v string) {
	if !strings.ContainsAny(v, `\=]`) {
		b.WriteString(v)
		return
	}
	for _, r := range v {
		if r == '\\' || r == '=' || r == ']' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
}

// entryPath is the path of list entry e under the parent path ps.
func entryPath(ps string, e *Node) string {
	var b strings.Builder
	b.WriteString(ps)
	appendElem(&b, e.schema, e.KeyValues())
	return b.String()
}

// ChainString returns the canonical path of the last node of chain, a
// sequence of nodes from a child of the root downwards in which a list is
// followed by one of its entries (as Diff and Walk produce).
func ChainString(chain []*Node) string {
	if len(chain) == 0 {
		return "/"
	}
	var b strings.Builder
	for i, n := range chain {
		if n.isEntry() {
			continue // the entry's elem is written when its list is
		}
		var keys []value.Value
		if n.schema.Kind == schema.List && i+1 < len(chain) && chain[i+1].schema == n.schema {
			keys = chain[i+1].KeyValues()
		}
		appendElem(&b, n.schema, keys)
	}
	return b.String()
}

// ChainPath returns the resolved Path of the last node of chain.
func ChainPath(chain []*Node) Path {
	p := make(Path, 0, len(chain))
	for i, n := range chain {
		if n.isEntry() {
			continue
		}
		el := Elem{Schema: n.schema}
		if n.schema.Kind == schema.List && i+1 < len(chain) && chain[i+1].schema == n.schema {
			el.Keys = chain[i+1].KeyValues()
		}
		p = append(p, el)
	}
	return p
}

// GNMIElems returns p as gNMI path elements. Key values are in their
// canonical text form; names are unqualified.
func GNMIElems(p Path) []*gpb.PathElem {
	elems := make([]*gpb.PathElem, len(p))
	for i, el := range p {
		pe := &gpb.PathElem{Name: el.Schema.Name}
		if el.Keys != nil {
			pe.Key = make(map[string]string, len(el.Keys))
			for j, k := range el.Schema.Keys {
				pe.Key[k.Name] = value.String(el.Keys[j])
			}
		}
		elems[i] = pe
	}
	return elems
}
