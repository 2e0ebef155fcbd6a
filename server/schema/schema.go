// Package schema turns YANG modules into the data-node index the rest of the
// server works from. It loads modules with goyang (the built-in .yang files
// embedded from yang/, and those dropped in at run time), so compiled
// modules and modules loaded at run time are described the same way and share one validator, one store
// encoding and one Get/Set/Subscribe path.
//
// A Node describes one data node: choice and case statements are flattened
// away (they have no instance in the data tree), the effective config flag is
// inherited, leafref types are resolved to their target, and per-node facts
// the hot paths need (keys, mandatory children, defaults, the instantiating
// module for RFC 7951 names) are computed once at load time.
package schema

import (
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/openconfig/goyang/pkg/yang"

	"github.com/netready/netready/server/schema/value"
)

// Kind is the kind of a data node.
type Kind uint8

// Data node kinds. Choice and case are not data nodes and never appear.
const (
	Container Kind = iota
	List
	Leaf
	LeafList
)

func (k Kind) String() string {
	return [...]string{"container", "list", "leaf", "leaf-list"}[k]
}

// Module describes one loaded module, as Capabilities reports it.
type Module struct {
	Name         string
	Namespace    string
	Prefix       string
	Organization string
	Revision     string // newest revision date, used as the gNMI model version
	File         string
}

// Schema is an immutable index of data nodes built from a set of modules.
type Schema struct {
	// Root is a container-like node whose children are the top-level data
	// nodes of every module.
	Root    *Node
	Modules []Module
	// leafrefs lists every leafref leaf, so deletions of referenced entries
	// can be checked without walking the schema.
	leafrefs []*Node
}

// Source is one YANG file to load.
type Source struct {
	Name    string // file name, used in error messages
	Content string
}

// LoadFS loads every *.yang file at the top of fsys.
func LoadFS(fsys fs.FS) (*Schema, error) {
	srcs, err := ReadSources(fsys)
	if err != nil {
		return nil, err
	}
	return Load(srcs)
}

// ReadSources returns the *.yang files at the top of fsys, sorted by name.
func ReadSources(fsys fs.FS) ([]Source, error) {
	names, err := fs.Glob(fsys, "*.yang")
	if err != nil {
		return nil, fmt.Errorf("schema: list modules: %w", err)
	}
	sort.Strings(names)
	srcs := make([]Source, 0, len(names))
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("schema: read %s: %w", n, err)
		}
		srcs = append(srcs, Source{Name: n, Content: string(b)})
	}
	return srcs, nil
}

// Load parses and processes the sources and builds the index. Errors name
// the file and line where goyang reports them.
func Load(srcs []Source) (*Schema, error) {
	ms := yang.NewModules()
	for _, s := range srcs {
		if err := ms.Parse(s.Content, s.Name); err != nil {
			return nil, fmt.Errorf("schema: parse %s: %w", s.Name, err)
		}
	}
	if errs := ms.Process(); len(errs) > 0 {
		return nil, fmt.Errorf("schema: %w", joinErrors(errs))
	}
	b := &builder{ms: ms, sch: &Schema{}}
	return b.build()
}

func joinErrors(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}

type builder struct {
	ms  *yang.Modules
	sch *Schema
}

func (b *builder) build() (*Schema, error) {
	root := &Node{Name: "", Kind: Container, Config: true, children: map[string]*Node{}}
	root.Path = ""
	names := make([]string, 0, len(b.ms.Modules))
	for name, m := range b.ms.Modules {
		if m.Kind() == "module" && name == m.Name {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		m := b.ms.Modules[name]
		b.sch.Modules = append(b.sch.Modules, moduleInfo(m))
		e := yang.ToEntry(m)
		if errs := e.GetErrors(); len(errs) > 0 {
			return nil, fmt.Errorf("schema: module %s: %w", name, joinErrors(errs))
		}
		// goyang can share pattern slices between types of a typedef chain
		// and drops invert-match; rebuild them before anything reads types.
		value.RepairPatterns(e)
		if err := b.addChildren(root, e, nil); err != nil {
			return nil, err
		}
	}
	root.finish()
	b.sch.Root = root
	if err := b.resolveLeafrefs(root); err != nil {
		return nil, err
	}
	if err := parseDefaults(root); err != nil {
		return nil, err
	}
	return b.sch, nil
}

// parseDefaults parses the default of every leaf once, against the leaf's
// value type (which needs leafrefs resolved first).
func parseDefaults(n *Node) error {
	for _, c := range n.Children {
		if c.Kind == Leaf && len(c.Default) > 0 {
			v, err := value.ParseString(c.ValueType(), c.Default[0])
			if err != nil {
				return fmt.Errorf("schema: %s: default of %s: %w", c.Location(), c.Path, err)
			}
			c.DefaultValue = v
		}
		if err := parseDefaults(c); err != nil {
			return err
		}
	}
	return nil
}

func moduleInfo(m *yang.Module) Module {
	mi := Module{Name: m.Name, Prefix: m.GetPrefix(), Revision: m.Current()}
	if m.Namespace != nil {
		mi.Namespace = m.Namespace.Name
	}
	if m.Organization != nil {
		mi.Organization = m.Organization.Name
	}
	if src := m.Statement(); src != nil {
		mi.File = strings.SplitN(src.Location(), ":", 2)[0]
	}
	return mi
}

// addChildren adds the data children of e to parent, descending through
// choice and case entries. ch is the innermost enclosing case, if any.
func (b *builder) addChildren(parent *Node, e *yang.Entry, ch *caseRef) error {
	names := make([]string, 0, len(e.Dir))
	for n := range e.Dir {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := e.Dir[n]
		switch {
		case c.RPC != nil, c.Kind == yang.NotificationEntry, c.Kind == yang.InputEntry, c.Kind == yang.OutputEntry:
			continue // operations are not data
		case c.IsChoice():
			choice := &Choice{Name: c.Name, Mandatory: c.Mandatory == yang.TSTrue, Default: defaultCase(c)}
			parent.choices = append(parent.choices, choice)
			if err := b.addChoice(parent, c, choice); err != nil {
				return err
			}
		case c.Kind == yang.AnyDataEntry || c.Kind == yang.AnyXMLEntry:
			return fmt.Errorf("schema: %s: anydata/anyxml is not supported", location(c))
		default:
			node, err := b.newNode(parent, c, ch)
			if err != nil {
				return err
			}
			if prev, dup := parent.children[node.Name]; dup {
				return fmt.Errorf("schema: %s: duplicate data node %q under %s (also defined at %s)", location(c), node.Name, parent.PathString(), prev.Location())
			}
			parent.children[node.Name] = node
		}
	}
	return nil
}

func (b *builder) addChoice(parent *Node, c *yang.Entry, choice *Choice) error {
	names := make([]string, 0, len(c.Dir))
	for n := range c.Dir {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		cs := c.Dir[n]
		ref := &caseRef{choice: choice, name: cs.Name}
		if cs.IsCase() {
			if err := b.addChildren(parent, cs, ref); err != nil {
				return err
			}
			continue
		}
		// Shorthand case: a data node directly under the choice.
		node, err := b.newNode(parent, cs, ref)
		if err != nil {
			return err
		}
		parent.children[node.Name] = node
	}
	return nil
}

func defaultCase(c *yang.Entry) string {
	if d, ok := c.SingleDefaultValue(); ok {
		return d
	}
	return ""
}

func (b *builder) newNode(parent *Node, e *yang.Entry, ch *caseRef) (*Node, error) {
	n := &Node{
		Entry:  e,
		Name:   e.Name,
		Parent: parent,
		Config: parent.Config && e.Config != yang.TSFalse,
	}
	if ch != nil {
		n.Choice, n.Case = ch.choice, ch.name
		ch.choice.nodes = append(ch.choice.nodes, n)
	}
	mod, err := e.InstantiatingModule()
	if err != nil {
		return nil, fmt.Errorf("schema: %s: %w", location(e), err)
	}
	n.Module = mod
	n.Path = parent.Path + "/" + n.Name
	switch {
	case e.IsLeaf(), e.IsLeafList():
		return n, b.fillLeaf(n, e)
	case e.IsList():
		n.Kind = List
		n.children = map[string]*Node{}
		if e.ListAttr != nil {
			n.MinElements, n.MaxElements = e.ListAttr.MinElements, e.ListAttr.MaxElements
		}
		if err := b.addChildren(n, e, nil); err != nil {
			return nil, err
		}
		for _, k := range strings.Fields(e.Key) {
			kn := n.children[k]
			if kn == nil {
				return nil, fmt.Errorf("schema: %s: key %q is not a child of list %s", location(e), k, n.Name)
			}
			n.Keys = append(n.Keys, kn)
		}
		if len(n.Keys) == 0 && n.Config {
			return nil, fmt.Errorf("schema: %s: config list %s has no key", location(e), n.Name)
		}
	default:
		n.Kind = Container
		n.children = map[string]*Node{}
		if c, ok := e.Node.(*yang.Container); ok && c.Presence != nil {
			n.Presence = true
		}
		if err := b.addChildren(n, e, nil); err != nil {
			return nil, err
		}
	}
	n.finish()
	return n, nil
}

func (b *builder) fillLeaf(n *Node, e *yang.Entry) error {
	n.Kind = Leaf
	if e.IsLeafList() {
		n.Kind = LeafList
		if e.ListAttr != nil {
			n.MinElements, n.MaxElements = e.ListAttr.MinElements, e.ListAttr.MaxElements
		}
	}
	n.Type = e.Type
	n.Mandatory = e.Mandatory == yang.TSTrue
	n.Default = e.DefaultValues()
	if len(n.Default) == 0 && e.Type != nil && e.Type.HasDefault && n.Kind == Leaf {
		n.Default = []string{e.Type.Default}
	}
	if e.Type != nil && e.Type.Kind == yang.Yleafref {
		b.sch.leafrefs = append(b.sch.leafrefs, n)
	}
	return nil
}

// location returns "file:line:col" of the statement behind e, for errors.
func location(e *yang.Entry) string {
	if e != nil && e.Node != nil && e.Node.Statement() != nil {
		return e.Node.Statement().Location()
	}
	return e.Path()
}

// Location returns the file:line:col where n is defined.
func (n *Node) Location() string { return location(n.Entry) }

// ModuleByName returns the loaded module called name.
func (s *Schema) ModuleByName(name string) (Module, bool) {
	for _, m := range s.Modules {
		if m.Name == name {
			return m, true
		}
	}
	return Module{}, false
}

// Leafrefs returns every leafref leaf or leaf-list in the schema.
func (s *Schema) Leafrefs() []*Node { return s.leafrefs }

// Find resolves a slash-separated schema path of unqualified or
// module-qualified names (no keys), e.g. "/tenants/tenant/ports/port".
func (s *Schema) Find(p string) *Node {
	n := s.Root
	for _, el := range strings.Split(strings.Trim(p, "/"), "/") {
		if el == "" {
			continue
		}
		if n = n.Child(el); n == nil {
			return nil
		}
	}
	return n
}

// FileStatus is the outcome of loading one module file given to
// LoadWithModels.
type FileStatus struct {
	File     string // the file name, as in Source.Name
	Module   string // the module (or submodule) it defines; "" when unparsable
	Revision string // its newest revision, when loaded
	Loaded   bool
	// Message says why the file was refused, naming file:line where the
	// problem is; "" for a loaded file.
	Message string
}

// LoadWithModels loads the built-in modules together with every extra
// module (files dropped in at run time) that loads cleanly with them. An
// extra file is refused, not fatal, when it does not parse, does not
// resolve (imports, augments, types), defines a module that is built in
// or defined by another extra file, or clashes with a loaded module (a
// top-level data node of the same name); the others still load. Imports
// among extra files are resolved whatever their order. An error is
// returned only when the built-in modules themselves do not load.
func LoadWithModels(builtin, extra []Source) (*Schema, []FileStatus, error) {
	sch, err := Load(builtin)
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{} // module name -> defining file ("" built in)
	for _, m := range sch.Modules {
		names[m.Name] = ""
	}
	for _, s := range builtin {
		if n, _ := moduleName(s); n != "" {
			names[n] = ""
		}
	}
	status := make([]FileStatus, len(extra))
	var pending []int
	for i, s := range extra {
		status[i].File = s.Name
		name, err := moduleName(s)
		status[i].Module = name
		switch file, dup := names[name]; {
		case err != nil:
			status[i].Message = err.Error()
		case dup && file == "":
			status[i].Message = fmt.Sprintf("%s: module %s is built into the server", s.Name, name)
		case dup:
			status[i].Message = fmt.Sprintf("%s: module %s is already defined by %s", s.Name, name, file)
		default:
			names[name] = s.Name
			pending = append(pending, i)
		}
	}
	// Add extra files one at a time until none more loads: a file whose
	// imports are other extra files loads once they have.
	loaded := append([]Source(nil), builtin...)
	lastErr := map[int]error{}
	for progress := true; progress && len(pending) > 0; {
		progress = false
		var still []int
		for _, i := range pending {
			next, err := Load(append(loaded[:len(loaded):len(loaded)], extra[i]))
			if err != nil {
				lastErr[i] = err
				still = append(still, i)
				continue
			}
			sch, loaded, progress = next, append(loaded, extra[i]), true
			status[i].Loaded = true
			if m, ok := sch.ModuleByName(status[i].Module); ok {
				status[i].Revision = m.Revision
			}
		}
		pending = still
	}
	for _, i := range pending {
		status[i].Message = strings.TrimPrefix(lastErr[i].Error(), "schema: ")
	}
	return sch, status, nil
}

// moduleName parses s alone and returns the name of the module or
// submodule it defines. Syntax errors are reported with file:line.
func moduleName(s Source) (string, error) {
	ms := yang.NewModules()
	if err := ms.Parse(s.Content, s.Name); err != nil {
		return "", fmt.Errorf("parse: %w", err)
	}
	for name, m := range ms.Modules {
		if name == m.Name {
			return name, nil
		}
	}
	for name, m := range ms.SubModules {
		if name == m.Name {
			return name, nil
		}
	}
	return "", fmt.Errorf("%s: defines no module", s.Name)
}
