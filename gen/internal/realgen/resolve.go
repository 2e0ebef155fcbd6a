package main

import (
	"fmt"
	"go/token"
	"slices"
	"strings"

	"github.com/openconfig/goyang/pkg/yang"

	"github.com/netready/netready/server/schema"
)

// model is the declaration checked against the schema.
type model struct {
	objs  []*object        // in declaration order
	enums map[string]*enum // by Go type name
	reads []string         // ReadPaths, sorted
}

// object is a declared list or container.
type object struct {
	typ    string
	s      *schema.Node
	parent *object  // nil: the root
	via    []string // node names from the parent's node down to this one
	leaves []*field
}

// field is a leaf or leaf-list read of an object.
type field struct {
	method string
	s      *schema.Node
	goType string // string, uint64, int64, bool or an enum's type
	enum   bool
}

// enum is an enumeration type: a YANG typedef, or an inline enumeration
// named after its object and leaf.
type enum struct {
	typ    string
	yang   string // the typedef's name, or the leaf's path
	values []string
}

func resolve(sch *schema.Schema, decls []decl) (*model, error) {
	m := &model{enums: map[string]*enum{}}
	byPath := map[string]*object{}
	for _, d := range decls {
		o, err := m.object(sch, d, byPath)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", d.line, err)
		}
		byPath[d.path] = o
		m.objs = append(m.objs, o)
	}
	slices.Sort(m.reads)
	return m, nil
}

// object checks one declaration against the schema; the objects declared
// before it are in byPath.
func (m *model) object(sch *schema.Schema, d decl, byPath map[string]*object) (*object, error) {
	if !token.IsExported(d.typ) || d.typ == "Root" {
		return nil, fmt.Errorf("%q is not an exported Go type name other than Root", d.typ)
	}
	s := sch.Find(d.path)
	if s == nil || s.Path != d.path || !s.IsDir() || !s.Config {
		return nil, fmt.Errorf("%s is not a configuration list or container of the built-in modules", d.path)
	}
	if _, dup := byPath[d.path]; dup {
		return nil, fmt.Errorf("%s is declared twice", d.path)
	}
	o := &object{typ: d.typ, s: s}
	// Climb to the nearest declared ancestor, through containers only:
	// a list on the way would have entries the accessors could not name.
	for p := s; p.Parent != nil; p = p.Parent {
		if p != s {
			if o.parent = byPath[p.Path]; o.parent != nil {
				break
			}
			if p.Kind == schema.List {
				return nil, fmt.Errorf("%s is under the list %s: declare it first", d.path, p.Path)
			}
		}
		o.via = append([]string{p.Name}, o.via...)
	}
	if s.Kind == schema.List {
		m.reads = append(m.reads, s.Path)
	}
	methods := map[string]bool{}
	for _, name := range d.leaves {
		f, err := m.field(o, name)
		if err != nil {
			return nil, err
		}
		if methods[f.method] {
			return nil, fmt.Errorf("%s: two leaves give the method %s", d.path, f.method)
		}
		methods[f.method] = true
		o.leaves = append(o.leaves, f)
		m.reads = append(m.reads, f.s.Path)
	}
	return o, nil
}

// field resolves leaf name of o and chooses its Go type.
func (m *model) field(o *object, name string) (*field, error) {
	s := o.s.Child(name)
	if s == nil || s.Kind != schema.Leaf && s.Kind != schema.LeafList || !s.Config {
		return nil, fmt.Errorf("%s has no configuration leaf or leaf-list %q", o.s.Path, name)
	}
	f := &field{method: camel(name), s: s}
	t := s.ValueType()
	switch {
	case t.Kind == yang.Yenum:
		e, err := m.enum(o, s, t)
		if err != nil {
			return nil, err
		}
		f.goType, f.enum = e.typ, true
	default:
		gt, err := goType(t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Path, err)
		}
		f.goType = gt
	}
	if s.Kind == schema.LeafList && f.goType != "string" {
		return nil, fmt.Errorf("%s: only leaf-lists of strings are supported", s.Path)
	}
	return f, nil
}

// goType is the Go type server/schema/value stores values of t as.
func goType(t *yang.YangType) (string, error) {
	switch t.Kind {
	case yang.Ystring, yang.Yidentityref, yang.Ybits, yang.YinstanceIdentifier:
		return "string", nil
	case yang.Ybool:
		return "bool", nil
	case yang.Yuint8, yang.Yuint16, yang.Yuint32, yang.Yuint64:
		return "uint64", nil
	case yang.Yint8, yang.Yint16, yang.Yint32, yang.Yint64:
		return "int64", nil
	case yang.Yunion:
		for _, mt := range t.Type {
			if k, err := goType(mt); err != nil || k != "string" {
				return "", fmt.Errorf("union member %s is not a string type", mt.Name)
			}
		}
		return "string", nil
	}
	return "", fmt.Errorf("type %s (%v) is not supported", t.Name, t.Kind)
}

// enum returns the Go type of the enumeration of leaf s of o: one per
// typedef, shared by every leaf of that type.
func (m *model) enum(o *object, s *schema.Node, t *yang.YangType) (*enum, error) {
	e := &enum{typ: o.typ + camel(s.Name), yang: s.Path}
	if t.Name != "enumeration" {
		e.typ, e.yang = camel(t.Name), t.Name
	}
	for _, v := range t.Enum.Values() {
		e.values = append(e.values, t.Enum.Name(v))
	}
	if old := m.enums[e.typ]; old != nil {
		if old.yang != e.yang || !slices.Equal(old.values, e.values) {
			return nil, fmt.Errorf("%s: enumeration type %s already stands for %s", s.Path, e.typ, old.yang)
		}
		return old, nil
	}
	m.enums[e.typ] = e
	return e, nil
}

// initialisms are the name parts Go spells in capitals.
var initialisms = map[string]string{"ip": "IP", "vpn": "VPN", "vrf": "VRF", "id": "ID", "mtu": "MTU", "as": "AS", "bfd": "BFD"}

// camel turns a YANG identifier into an exported Go one: admin-state is
// AdminState, ip-address IPAddress.
func camel(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		if up, ok := initialisms[part]; ok {
			b.WriteString(up)
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
