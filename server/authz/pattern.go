package authz

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/ygot/ygot"
)

// TenantPlaceholder, as a whole key value of a rule's path pattern,
// matches the list entries named after one of the subject's tenants.
const TenantPlaceholder = "{tenant}"

// ProviderPath is the subtree of the provider attributes of L2 networks,
// whose writes the provider-network entry governs (for every tenant and
// every L2 network).
const ProviderPath = "/tenants/tenant/l2-networks/l2-network/provider"

// keyKind says how a key of a pattern element matches a data key value.
type keyKind uint8

const (
	keyAny    keyKind = iota // '*': every entry
	keyLit                   // the value as written
	keyTenant                // '{tenant}': one of the subject's tenants
	keyGate                  // the tenants the subject may not set provider attributes in
)

type keyMatch struct {
	name  string
	kind  keyKind
	value string
}

// elemKind says how a pattern element matches data elements.
type elemKind uint8

const (
	elemName elemKind = iota // a name, matched exactly
	elemAny                  // '*': any one element
	elemRest                 // '...': any number of elements, none included
)

type pelem struct {
	kind elemKind
	name string
	keys []keyMatch // sorted by name; keyAny keys are dropped
}

// pattern is a compiled gNMI path pattern.
type pattern struct {
	text   string
	elems  []pelem
	tenant bool // uses {tenant}
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// unqualify strips a module prefix ("netready-tenants:tenants").
func unqualify(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// compilePattern parses a rule's path pattern.
func compilePattern(s string) (pattern, error) {
	pat := pattern{text: s}
	if !strings.HasPrefix(s, "/") {
		return pat, fmt.Errorf("path %q does not start with '/'", s)
	}
	if s == "/" {
		return pat, nil
	}
	if strings.HasSuffix(s, "/") {
		return pat, fmt.Errorf("path %q ends with '/'", s)
	}
	p, err := ygot.StringToStructuredPath(s)
	if err != nil {
		return pat, fmt.Errorf("path %q: %v", s, err)
	}
	for _, e := range p.GetElem() {
		name := e.GetName()
		if name == "" {
			return pat, fmt.Errorf("path %q has an empty element", s)
		}
		pe := pelem{}
		switch name {
		case "*":
			pe.kind = elemAny
		case "...":
			pe.kind = elemRest
			if len(e.GetKey()) > 0 {
				return pat, fmt.Errorf("path %q: '...' cannot have keys", s)
			}
		default:
			if !validName(name) {
				return pat, fmt.Errorf("path %q: bad element name %q", s, name)
			}
			pe.name = unqualify(name)
		}
		for k, v := range e.GetKey() {
			if !validName(k) {
				return pat, fmt.Errorf("path %q: bad key name %q in element %s", s, k, name)
			}
			km := keyMatch{name: unqualify(k), kind: keyLit, value: v}
			switch {
			case v == "*":
				continue
			case v == TenantPlaceholder:
				km.kind, km.value = keyTenant, ""
				pat.tenant = true
			case strings.ContainsAny(v, "{}"):
				return pat, fmt.Errorf("path %q: key %s=%s: the only placeholder is %s, as a whole key value", s, k, v, TenantPlaceholder)
			}
			pe.keys = append(pe.keys, km)
		}
		sort.Slice(pe.keys, func(i, j int) bool { return pe.keys[i].name < pe.keys[j].name })
		pat.elems = append(pat.elems, pe)
	}
	return pat, nil
}

// validName accepts a YANG identifier, optionally module-qualified.
func validName(s string) bool {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return identifier.MatchString(s[:i]) && identifier.MatchString(s[i+1:])
	}
	return identifier.MatchString(s)
}

// rel is how the region a pattern selects (the matching nodes and their
// subtrees) relates to the subtree at a data path.
type rel uint8

const (
	relNone  rel = iota // disjoint
	relBelow            // overlaps only part of the subtree: something below it
	relCover            // contains the whole subtree
)

// matcher evaluates patterns for one subject.
type matcher struct {
	s *Subject
	// Where s may set provider attributes (for keyGate): every tenant, or
	// its own tenants.
	providerAll, providerOwn bool
}

// relate says how the region of pattern elements p relates to the
// subtree at data path d.
func (m *matcher) relate(p []pelem, d []*gpb.PathElem) rel {
	// partial: some element of d stands for several entries (no key, or a
	// '*' key) of which the pattern selects only some.
	partial := false
	for {
		if len(p) == 0 {
			// The pattern matched d or an ancestor of d.
			if partial {
				return relBelow
			}
			return relCover
		}
		if p[0].kind == elemRest {
			// '...' absorbs k >= 0 elements of d; with k = len(d) the
			// rest of the pattern may still match below d.
			best := relNone
			for k := 0; k <= len(d); k++ {
				r := m.relate(p[1:], d[k:])
				if r > best {
					best = r
					if r == relCover {
						break
					}
				}
			}
			if partial && best == relCover {
				best = relBelow
			}
			return best
		}
		if len(d) == 0 {
			// The pattern continues below d. Rules whose placeholders
			// cannot match (a subject without tenants) were skipped, so
			// the rest can match something.
			return relBelow
		}
		switch m.elem(&p[0], d[0]) {
		case relNone:
			return relNone
		case relBelow:
			partial = true
		}
		p, d = p[1:], d[1:]
	}
}

// elem matches one pattern element against one data element: relCover
// for a match, relBelow when d stands for several entries of which pe
// selects only some, relNone otherwise.
func (m *matcher) elem(pe *pelem, d *gpb.PathElem) rel {
	if pe.kind == elemName {
		if n := d.GetName(); n != pe.name && !qualifiedAs(n, pe.name) {
			return relNone
		}
	}
	r := relCover
	if len(pe.keys) == 0 {
		return r
	}
	dk := d.GetKey()
	for i := range pe.keys {
		km := &pe.keys[i]
		v, ok := dk[km.name]
		if !ok || v == "*" {
			r = relBelow
			continue
		}
		switch km.kind {
		case keyLit:
			if v != km.value {
				return relNone
			}
		case keyTenant:
			if !contains(m.s.Tenants, v) {
				return relNone
			}
		case keyGate:
			if m.providerAll || m.providerOwn && contains(m.s.Tenants, v) {
				return relNone
			}
		}
	}
	return r
}

// qualifiedAs says whether n is name qualified with a module prefix.
func qualifiedAs(n, name string) bool {
	i := len(n) - len(name) - 1
	return i > 0 && n[i] == ':' && n[i+1:] == name
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
