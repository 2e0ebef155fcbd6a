package telemetry

import (
	"strings"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/gnmipath"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
)

// canonical rewrites a subscription path so that it compares directly with
// the data paths of changes: names unqualified, key values in their
// canonical text form (so [mtu=09000] matches 9000). Past a wildcard name
// the schema is unknown and keys are kept as written.
func canonical(root *schema.Node, elems []*gpb.PathElem) []*gpb.PathElem {
	out := make([]*gpb.PathElem, len(elems))
	s := root
	for i, e := range elems {
		name := e.GetName()
		if j := strings.IndexByte(name, ':'); j >= 0 {
			name = name[j+1:]
		}
		pe := &gpb.PathElem{Name: name}
		if s != nil && name != "*" && name != "..." {
			s = s.Child(name)
		} else {
			s = nil
		}
		if len(e.GetKey()) > 0 {
			pe.Key = make(map[string]string, len(e.GetKey()))
			for k, v := range e.GetKey() {
				if j := strings.IndexByte(k, ':'); j >= 0 {
					k = k[j+1:]
				}
				pe.Key[k] = canonicalKey(s, k, v)
			}
		}
		out[i] = pe
	}
	return out
}

func canonicalKey(list *schema.Node, key, v string) string {
	if list == nil || v == "*" {
		return v
	}
	k := list.Child(key)
	if k == nil {
		return v
	}
	if parsed, err := value.ParseString(k.ValueType(), v); err == nil {
		return value.String(parsed)
	}
	return v
}

// elemMatch reports whether pattern element p matches data element d.
func elemMatch(p, d *gpb.PathElem) bool {
	if p.Name != "*" && p.Name != d.Name {
		return false
	}
	for k, v := range p.Key {
		if v == "*" {
			continue
		}
		if dv, ok := d.Key[k]; !ok || dv != v {
			return false
		}
	}
	return true
}

// covers reports whether pattern p matches data path d or one of its
// ancestors, that is whether d lies in the subscribed subtree.
func covers(p, d []*gpb.PathElem) bool {
	for len(p) > 0 {
		if p[0].Name == "..." {
			for i := 0; i <= len(d); i++ {
				if covers(p[1:], d[i:]) {
					return true
				}
			}
			return false
		}
		if len(d) == 0 || !elemMatch(p[0], d[0]) {
			return false
		}
		p, d = p[1:], d[1:]
	}
	return true
}

// below returns what remains of pattern p once it has matched all of data
// path d without covering it: the patterns to look for inside the subtree
// at d (used to turn the deletion of a subtree into the deletions of the
// subscribed nodes in it).
func below(p, d []*gpb.PathElem) [][]*gpb.PathElem {
	switch {
	case len(d) == 0:
		if len(p) == 0 {
			return nil
		}
		return [][]*gpb.PathElem{p}
	case len(p) == 0:
		return nil
	case p[0].Name == "...":
		// "..." absorbs d[0], or nothing.
		return append(below(p, d[1:]), below(p[1:], d)...)
	case elemMatch(p[0], d[0]):
		return below(p[1:], d[1:])
	}
	return nil
}

// pathKey is a data path as a string key, for deduplication and
// coalescing: its gNMI string form ("/" for the root), which is distinct
// for distinct paths and ends every element where the element ends, so a
// path's descendants are exactly the keys starting with pathKey+"/".
func pathKey(elems []*gpb.PathElem) string { return gnmipath.String(elems) }

// isAtOrBelow reports whether key is the key of a path at or below the
// path whose key is at.
func isAtOrBelow(key, at string) bool {
	return key == at || at == "/" || strings.HasPrefix(key, at+"/")
}
