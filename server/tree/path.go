package tree

import (
	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/gnmipath"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
)

// The canonical text form of a data path is its gNMI path string
// (server/gnmipath: "/tenants/tenant[name=blue]/ports/port[name=g1]/mtu",
// keys sorted by name, `]` and `\` escaped in key values), so that the
// paths of error messages and southbound changes read back as the same
// path. Store row keys keep the form of store format version 1 (rowKey).

// PathString returns the canonical text of p ("/" for the root).
func PathString(p Path) string {
	if len(p) == 0 {
		return "/"
	}
	var buf [256]byte // the text is built on the stack: one allocation, the string
	b := buf[:0]
	for _, el := range p {
		b = appendElem(b, el.Schema, el.Keys)
	}
	return string(b)
}

func parentString(p Path) string {
	if len(p) <= 1 {
		return ""
	}
	return PathString(p[:len(p)-1])
}

// appendElem appends the element of s with the given key values (in
// schema key order), writing the keys sorted by name as gnmipath does.
func appendElem(b []byte, s *schema.Node, keys []value.Value) []byte {
	b = gnmipath.AppendName(b, s.Name)
	prev := ""
	for range keys {
		// Key names are few and distinct: pick the next one in name
		// order each time rather than allocate a sorted copy.
		next := -1
		for i := range keys {
			if n := s.Keys[i].Name; (prev == "" || n > prev) && (next < 0 || n < s.Keys[next].Name) {
				next = i
			}
		}
		prev = s.Keys[next].Name
		b = gnmipath.AppendKey(b, prev, value.String(keys[next]))
	}
	return b
}

// entryPath is the path of list entry e under the parent path ps.
func entryPath(ps string, e *Node) string {
	var kbuf [4]value.Value // one per entry decoded: kept off the heap
	return string(appendElem([]byte(ps), e.schema, e.appendKeyValues(kbuf[:0])))
}

// ChainString returns the canonical path of the last node of chain, a
// sequence of nodes from a child of the root downwards in which a list is
// followed by one of its entries (as Diff and Walk produce).
func ChainString(chain []*Node) string {
	return chainText(chain, false)
}

// chainText writes the path of the last node of chain, each element as
// appendRowElem writes it when row is set, else as appendElem. It is
// called for every change of a bulk Set, so the text and the key values
// are built in stack buffers: one allocation, the string returned.
func chainText(chain []*Node, row bool) string {
	if len(chain) == 0 {
		return "/"
	}
	var (
		buf  [256]byte
		kbuf [4]value.Value
	)
	b := buf[:0]
	for i, n := range chain {
		if n.isEntry() {
			continue // the entry's elem is written when its list is
		}
		keys := kbuf[:0]
		if n.schema.Kind == schema.List && i+1 < len(chain) && chain[i+1].schema == n.schema {
			keys = chain[i+1].appendKeyValues(keys)
		}
		if row {
			b = appendRowElem(b, n.schema, keys)
		} else {
			b = appendElem(b, n.schema, keys)
		}
	}
	return string(b)
}

// ChainPath returns the resolved Path of the last node of chain.
//
// The key values of all its entries share one allocation (each element's
// Keys capacity-limited, so appending to one cannot overwrite the next):
// validation builds a path for every reference of a bulk Set.
func ChainPath(chain []*Node) Path {
	nkeys := 0
	for _, n := range chain {
		if n.schema.Kind == schema.List && n.isEntry() {
			nkeys += len(n.schema.Keys)
		}
	}
	p, _ := AppendChainPath(make(Path, 0, len(chain)), make([]value.Value, 0, nkeys), chain)
	return p
}

// AppendChainPath is ChainPath writing the path to p and its key values to
// keys, and returning both extended: a caller that builds 10,000s of paths
// it drops at once (validation, one per leafref) reuses the storage. Each
// element's keys are capped, as ChainPath's.
func AppendChainPath(p Path, keys []value.Value, chain []*Node) (Path, []value.Value) {
	for i, n := range chain {
		if n.isEntry() {
			continue
		}
		el := Elem{Schema: n.schema}
		if n.schema.Kind == schema.List && i+1 < len(chain) && chain[i+1].schema == n.schema {
			start := len(keys)
			keys = chain[i+1].appendKeyValues(keys)
			el.Keys = keys[start:len(keys):len(keys)]
		}
		p = append(p, el)
	}
	return p, keys
}

// ElemsBuilder gives the gNMI paths of the chains of a walk, sharing the
// elements of the ancestors a chain has in common with the chain before:
// the 1,000 changed leaves of one list share the elements down to the
// list, and each path costs its entry's and its leaf's elements instead
// of all of them, with their key maps. The paths it returns therefore
// share elements, which nothing may modify. The zero value is ready.
type ElemsBuilder struct {
	chain []*Node
	elems []*gpb.PathElem
	// ends[i] is the index in chain of the last node elems[i] was built
	// from (a list's element holds its entry's keys).
	ends []int
}

// Elems returns the gNMI path of the last node of chain, as
// GNMIElems(ChainPath(chain)).
func (b *ElemsBuilder) Elems(chain []*Node) []*gpb.PathElem {
	same := 0
	for same < len(chain) && same < len(b.chain) && chain[same] == b.chain[same] {
		same++
	}
	kept := 0
	for kept < len(b.ends) && b.ends[kept] < same {
		kept++
	}
	b.elems, b.ends = b.elems[:kept], b.ends[:kept]
	from := 0
	if kept > 0 {
		from = b.ends[kept-1] + 1
	}
	for i := from; i < len(chain); i++ {
		n := chain[i]
		if n.isEntry() {
			continue
		}
		pe, end := &gpb.PathElem{Name: n.schema.Name}, i
		if n.schema.Kind == schema.List {
			end = i + 1 // its keys, if any, are the next node's
			if i+1 < len(chain) && chain[i+1].schema == n.schema {
				pe.Key = keyMap(chain[i+1])
			}
		}
		b.elems, b.ends = append(b.elems, pe), append(b.ends, end)
	}
	b.chain = append(b.chain[:0], chain...)
	return append([]*gpb.PathElem(nil), b.elems...)
}

// keyMap is a list entry's keys as a gNMI key map.
func keyMap(e *Node) map[string]string {
	m := make(map[string]string, len(e.schema.Keys))
	for _, k := range e.schema.Keys {
		var v value.Value
		if c := e.Child(k); c != nil {
			v = c.val
		}
		m[k.Name] = value.String(v)
	}
	return m
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
