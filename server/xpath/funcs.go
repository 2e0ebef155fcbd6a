package xpath

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/openconfig/goyang/pkg/yang"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/tree"
)

// function describes one function of the library.
type function struct {
	min, max int // number of arguments; max < 0: any number
	ret      vkind
	nodeArgs []int // arguments that must be node-sets
	ctx      bool  // without arguments, it reads the context node
	strArgs  bool  // converts its arguments to strings or numbers
}

// functions is the supported library: XPath 1.0 core functions except
// the positional and namespace ones, and YANG 1.1's (RFC 7950 10).
var functions = map[string]*function{
	// Node-set functions.
	"current": {min: 0, max: 0, ret: kNodes},
	"count":   {min: 1, max: 1, ret: kNumber, nodeArgs: []int{0}},
	// String functions.
	"string":           {min: 0, max: 1, ret: kString, ctx: true, strArgs: true},
	"concat":           {min: 2, max: -1, ret: kString, strArgs: true},
	"starts-with":      {min: 2, max: 2, ret: kBool, strArgs: true},
	"contains":         {min: 2, max: 2, ret: kBool, strArgs: true},
	"substring-before": {min: 2, max: 2, ret: kString, strArgs: true},
	"substring-after":  {min: 2, max: 2, ret: kString, strArgs: true},
	"substring":        {min: 2, max: 3, ret: kString, strArgs: true},
	"string-length":    {min: 0, max: 1, ret: kNumber, ctx: true, strArgs: true},
	"normalize-space":  {min: 0, max: 1, ret: kString, ctx: true, strArgs: true},
	"translate":        {min: 3, max: 3, ret: kString, strArgs: true},
	// Boolean functions.
	"boolean": {min: 1, max: 1, ret: kBool},
	"not":     {min: 1, max: 1, ret: kBool},
	"true":    {min: 0, max: 0, ret: kBool},
	"false":   {min: 0, max: 0, ret: kBool},
	// Number functions.
	"number":  {min: 0, max: 1, ret: kNumber, ctx: true, strArgs: true},
	"sum":     {min: 1, max: 1, ret: kNumber, nodeArgs: []int{0}, strArgs: true},
	"floor":   {min: 1, max: 1, ret: kNumber, strArgs: true},
	"ceiling": {min: 1, max: 1, ret: kNumber, strArgs: true},
	"round":   {min: 1, max: 1, ret: kNumber, strArgs: true},
	// YANG 1.1 (RFC 7950 10).
	"re-match":             {min: 2, max: 2, ret: kBool, strArgs: true},
	"deref":                {min: 1, max: 1, ret: kNodes, nodeArgs: []int{0}},
	"derived-from":         {min: 2, max: 2, ret: kBool, nodeArgs: []int{0}, strArgs: true},
	"derived-from-or-self": {min: 2, max: 2, ret: kBool, nodeArgs: []int{0}, strArgs: true},
	"enum-value":           {min: 1, max: 1, ret: kNumber, nodeArgs: []int{0}, strArgs: true},
	"bit-is-set":           {min: 2, max: 2, ret: kBool, nodeArgs: []int{0}, strArgs: true},
}

func (c *compiler) call(e *callExpr, ctx sinfo) (sinfo, error) {
	f := functions[e.name]
	if f == nil {
		switch e.name {
		case "last", "position":
			return sinfo{}, errAt(e.pos, "function %s() is not supported (positional predicates are not)", e.name)
		}
		return sinfo{}, errAt(e.pos, "function %s() is not supported", e.name)
	}
	if len(e.args) < f.min || (f.max >= 0 && len(e.args) > f.max) {
		want := strconv.Itoa(f.min)
		switch {
		case f.max < 0:
			want = "at least " + want
		case f.max != f.min:
			want += " or " + strconv.Itoa(f.max)
		}
		return sinfo{}, errAt(e.pos, "function %s() takes %s arguments, not %d", e.name, want, len(e.args))
	}
	e.fn = f
	args := make([]sinfo, len(e.args))
	for i, a := range e.args {
		x, err := c.compile(a, ctx)
		if err != nil {
			return sinfo{}, err
		}
		args[i] = x
		if f.strArgs {
			c.useValue(x)
		}
	}
	for _, i := range f.nodeArgs {
		if args[i].kind != kNodes {
			return sinfo{}, errAt(e.args[i].offset(), "argument %d of %s() must be a node-set, not a %s", i+1, e.name, args[i].kind)
		}
	}
	if len(e.args) == 0 && f.ctx {
		e.ctx = true
		c.noteDepth(ctx)
		c.useValue(ctx)
	}
	switch e.name {
	case "current":
		return sinfo{kind: kNodes, nodes: []*schema.Node{c.opt.Context}, known: true, local: true}, nil
	case "derived-from", "derived-from-or-self":
		lit, ok := e.args[1].(*stringExpr)
		if !ok {
			return sinfo{}, errAt(e.args[1].offset(), "the identity argument of %s() must be a string literal", e.name)
		}
		id, err := c.identity(lit)
		if err != nil {
			return sinfo{}, err
		}
		e.idents = map[string]bool{}
		if e.name == "derived-from-or-self" {
			e.idents[identityName(id)] = true
		}
		for _, d := range id.Values {
			e.idents[identityName(d)] = true
		}
	case "re-match":
		if lit, ok := e.args[1].(*stringExpr); ok {
			m, ok := newReMatcher(lit.v)
			if !ok {
				return sinfo{}, errAt(lit.pos, "pattern %q cannot be used (see the supported XSD regular expressions)", lit.v)
			}
			e.re = m
		}
	case "deref":
		out := sinfo{kind: kNodes}
		for _, n := range args[0].nodes {
			if n.Leafref == nil {
				return sinfo{}, errAt(e.args[0].offset(), "deref() of %s, which is not a leafref", n.PathString())
			}
			c.readLeafrefPath(n)
			if !containsNode(out.nodes, n.Leafref.Target) {
				out.nodes = append(out.nodes, n.Leafref.Target)
			}
		}
		c.global = true
		return out, nil
	}
	return sinfo{kind: f.ret}, nil
}

// readLeafrefPath adds the nodes a leafref's path goes through to the
// read set.
func (c *compiler) readLeafrefPath(n *schema.Node) {
	lr := n.Leafref
	start := c.root
	if lr.Up >= 0 {
		start = n
		for i := 0; i < lr.Up && start.Parent != nil; i++ {
			start = start.Parent
		}
	}
	for _, s := range lr.Steps {
		if start = start.Child(s); start == nil {
			return
		}
		c.read(start, false)
	}
}

// identity resolves a "prefix:name" (or bare "name", in the expression's
// own module) to an identity.
func (c *compiler) identity(lit *stringExpr) (*yang.Identity, error) {
	if c.opt.Scope == nil {
		return nil, errAt(lit.pos, "identity %q cannot be resolved without a module", lit.v)
	}
	pfx, name, ok := cutColon(strings.TrimSpace(lit.v))
	if !ok {
		pfx, name = "", strings.TrimSpace(lit.v)
	}
	m := yang.FindModuleByPrefix(c.opt.Scope, pfx)
	if m == nil {
		return nil, errAt(lit.pos, "unknown prefix %q in identity %q", pfx, lit.v)
	}
	mod := moduleName(m)
	var mods []*yang.Module
	if m.Modules != nil {
		if mm := m.Modules.Modules[mod]; mm != nil {
			mods = append(mods, mm)
		}
		for _, sm := range m.Modules.SubModules {
			if sm.BelongsTo != nil && sm.BelongsTo.Name == mod {
				mods = append(mods, sm)
			}
		}
	} else {
		mods = append(mods, m)
	}
	for _, mm := range mods {
		for _, id := range mm.Identities() {
			if id.Name == name {
				return id, nil
			}
		}
	}
	return nil, errAt(lit.pos, "no identity %q in module %s", name, mod)
}

// identityName is the canonical "module:name" of an identity, the form
// identityref values take in the data tree.
func identityName(id *yang.Identity) string {
	if m := yang.RootNode(id); m != nil {
		return moduleName(m) + ":" + id.Name
	}
	return id.Name
}

// reMatcher matches strings against an XSD regular expression (re-match,
// RFC 7950 10.2.1) with the pattern machinery YANG patterns use, through
// a string type holding the one pattern.
type reMatcher struct {
	t *yang.YangType
}

// newReMatcher reports false for a pattern the server cannot translate:
// such a pattern makes both the type and its invert-match form reject
// every string, while a usable pattern accepts a string in one of them.
func newReMatcher(p string) (*reMatcher, bool) {
	pos := &yang.YangType{Name: "string", Kind: yang.Ystring, Pattern: []string{p}}
	neg := &yang.YangType{Name: "string", Kind: yang.Ystring, Pattern: []string{value.InvertMatchPrefix + p}}
	_, e1 := value.ParseString(pos, "")
	_, e2 := value.ParseString(neg, "")
	if e1 != nil && e2 != nil {
		return nil, false
	}
	return &reMatcher{t: pos}, true
}

func (m *reMatcher) match(s string) bool {
	_, err := value.ParseString(m.t, s)
	return err == nil
}

func (ev *evaluator) call(e *callExpr, x *xnode) val {
	args := make([]val, len(e.args))
	for i, a := range e.args {
		args[i] = ev.eval(a, x)
	}
	if ev.err != nil {
		return val{k: kNodes}
	}
	// Implicit context-node argument.
	if len(args) == 0 && e.fn != nil && e.fn.ctx {
		args = []val{{k: kNodes, ns: []*xnode{x}}}
	}
	sarg := func(i int) string { return ev.str(args[i]) }
	narg := func(i int) float64 { return ev.number(args[i]) }
	switch e.name {
	case "current":
		return val{k: kNodes, ns: []*xnode{ev.cur}}
	case "count":
		return val{k: kNumber, n: float64(len(args[0].ns))}
	case "string":
		return val{k: kString, s: sarg(0)}
	case "concat":
		var b strings.Builder
		for i := range args {
			b.WriteString(sarg(i))
		}
		return val{k: kString, s: b.String()}
	case "starts-with":
		return val{k: kBool, b: strings.HasPrefix(sarg(0), sarg(1))}
	case "contains":
		return val{k: kBool, b: strings.Contains(sarg(0), sarg(1))}
	case "substring-before":
		s, sep := sarg(0), sarg(1)
		if i := strings.Index(s, sep); i >= 0 {
			return val{k: kString, s: s[:i]}
		}
		return val{k: kString}
	case "substring-after":
		s, sep := sarg(0), sarg(1)
		if i := strings.Index(s, sep); i >= 0 {
			return val{k: kString, s: s[i+len(sep):]}
		}
		return val{k: kString}
	case "substring":
		length := math.Inf(1)
		if len(args) == 3 {
			length = narg(2)
		}
		return val{k: kString, s: substring(sarg(0), narg(1), length)}
	case "string-length":
		return val{k: kNumber, n: float64(utf8.RuneCountInString(sarg(0)))}
	case "normalize-space":
		return val{k: kString, s: strings.Join(strings.Fields(sarg(0)), " ")}
	case "translate":
		return val{k: kString, s: translate(sarg(0), sarg(1), sarg(2))}
	case "boolean":
		return val{k: kBool, b: ev.boolean(args[0])}
	case "not":
		return val{k: kBool, b: !ev.boolean(args[0])}
	case "true":
		return val{k: kBool, b: true}
	case "false":
		return val{k: kBool}
	case "number":
		return val{k: kNumber, n: narg(0)}
	case "sum":
		sum := 0.0
		for _, n := range args[0].ns {
			sum += parseNumber(ev.stringValue(n))
		}
		return val{k: kNumber, n: sum}
	case "floor":
		return val{k: kNumber, n: math.Floor(narg(0))}
	case "ceiling":
		return val{k: kNumber, n: math.Ceil(narg(0))}
	case "round":
		return val{k: kNumber, n: round(narg(0))}
	case "re-match":
		m := e.re
		if m == nil {
			var ok bool
			if m, ok = newReMatcher(sarg(1)); !ok {
				return val{k: kBool}
			}
		}
		return val{k: kBool, b: m.match(sarg(0))}
	case "deref":
		if len(args[0].ns) == 0 {
			return val{k: kNodes}
		}
		return val{k: kNodes, ns: ev.deref(args[0].ns[0])}
	case "derived-from", "derived-from-or-self":
		for _, n := range args[0].ns {
			if !isIdentityref(n) {
				continue
			}
			if e.idents[ev.stringValue(n)] {
				return val{k: kBool, b: true}
			}
		}
		return val{k: kBool}
	case "enum-value":
		if len(args[0].ns) == 0 {
			return val{k: kNumber, n: math.NaN()}
		}
		n := args[0].ns[0]
		if n.t == nil {
			return val{k: kNumber, n: math.NaN()}
		}
		return val{k: kNumber, n: enumValue(n.t.Schema().ValueType(), ev.stringValue(n), 0)}
	case "bit-is-set":
		if len(args[0].ns) == 0 {
			return val{k: kBool}
		}
		bit := sarg(1)
		for _, f := range strings.Fields(ev.stringValue(args[0].ns[0])) {
			if f == bit {
				return val{k: kBool, b: true}
			}
		}
		return val{k: kBool}
	}
	return val{k: kNodes}
}

func isIdentityref(x *xnode) bool {
	if x.t == nil {
		return false
	}
	s := x.t.Schema()
	if s.Kind != schema.Leaf && s.Kind != schema.LeafList {
		return false
	}
	return hasKind2(s.ValueType(), yang.Yidentityref, 0)
}

// hasKind2 reports whether t is of kind k or a union with such a member.
func hasKind2(t *yang.YangType, k yang.TypeKind, depth int) bool {
	if t == nil || depth > 16 {
		return false
	}
	if t.Kind == k {
		return true
	}
	if t.Kind == yang.Yunion {
		for _, m := range t.Type {
			if hasKind2(m, k, depth+1) {
				return true
			}
		}
	}
	return false
}

// enumValue returns the value of the enum called name in t (or in the
// first enumeration member of a union defining it), NaN if none does.
func enumValue(t *yang.YangType, name string, depth int) float64 {
	if t == nil || depth > 16 {
		return math.NaN()
	}
	switch t.Kind {
	case yang.Yenum:
		if t.Enum != nil && t.Enum.IsDefined(name) {
			return float64(t.Enum.Value(name))
		}
	case yang.Yunion:
		for _, m := range t.Type {
			if v := enumValue(m, name, depth+1); !math.IsNaN(v) {
				return v
			}
		}
	}
	return math.NaN()
}

// substring implements XPath's substring() on characters, with its
// rounding rules.
func substring(s string, start, length float64) string {
	first := round(start)
	last := first + round(length) // exclusive
	if math.IsNaN(first) || math.IsNaN(last) {
		return ""
	}
	var b strings.Builder
	pos := 1.0
	for _, r := range s {
		if pos >= first && pos < last {
			b.WriteRune(r)
		}
		pos++
	}
	return b.String()
}

// round implements XPath's round(): to the nearest integer, halves up.
func round(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) || f == 0 {
		return f
	}
	r := math.Floor(f + 0.5)
	if r == 0 && f < 0 {
		return math.Copysign(0, -1)
	}
	return r
}

func translate(s, from, to string) string {
	fr, tr := []rune(from), []rune(to)
	var b strings.Builder
	for _, r := range s {
		idx := -1
		for i, f := range fr {
			if f == r {
				idx = i
				break
			}
		}
		switch {
		case idx < 0:
			b.WriteRune(r)
		case idx < len(tr):
			b.WriteRune(tr[idx])
		}
	}
	return b.String()
}

// deref returns the nodes the leafref x refers to (RFC 7950 10.3.1).
func (ev *evaluator) deref(x *xnode) []*xnode {
	if x.t == nil || x.t == ev.dummy {
		return nil
	}
	s := x.t.Schema()
	lr := s.Leafref
	if lr == nil {
		return nil
	}
	var v value.Value
	if s.Kind == schema.LeafList {
		vals := x.t.Values()
		if x.i >= len(vals) {
			return nil
		}
		v = vals[x.i]
	} else {
		v = x.t.Value()
	}
	start := ev.root
	if lr.Up >= 0 {
		start = x
		for i := 0; i < lr.Up; i++ {
			if start = start.up; start == nil {
				return nil
			}
		}
	}
	set := []*xnode{start}
	for i, name := range lr.Steps {
		var next []*xnode
		for _, n := range set {
			t := n.t
			if !t.Schema().IsDir() {
				continue
			}
			cs := t.Schema().Child(name)
			if cs == nil {
				continue
			}
			k := t.Child(cs)
			if k == nil {
				continue
			}
			if lr.Keyed && cs.Kind == schema.List && i == len(lr.Steps)-2 {
				if e := k.Entry(tree.KeyString([]value.Value{v})); e != nil && ev.tick() {
					next = append(next, &xnode{t: e, up: n})
				}
				continue
			}
			ev.emit(k, n, &next)
		}
		if ev.err != nil {
			return nil
		}
		set = next
	}
	out := set[:0]
	for _, n := range set {
		var nv value.Value
		if n.t.Schema().Kind == schema.LeafList {
			nv = n.t.Values()[n.i]
		} else {
			nv = n.t.Value()
		}
		if value.Equal(nv, v) {
			out = append(out, n)
		}
	}
	return out
}
