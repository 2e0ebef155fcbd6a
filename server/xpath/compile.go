package xpath

import (
	"fmt"
	"sort"
	"strings"

	"github.com/openconfig/goyang/pkg/yang"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
)

// Options tell Compile where an expression appears.
type Options struct {
	// Context is the schema node of the context node; the schema root (a
	// node without parent) stands for the document root.
	Context *schema.Node
	// Scope is the YANG statement holding the expression (a must or when
	// statement, or the node it belongs to). The imports of its module
	// resolve prefixes, and its location (file:line) names the expression
	// in errors. Without it only unprefixed names can be used.
	Scope yang.Node
	// State lets the expression see config false nodes. Constraints on
	// configuration see configuration only (RFC 7950 6.4.1): config false
	// nodes resolve, but never have instances.
	State bool
}

// Expr is a compiled expression. It is immutable and safe for concurrent
// use.
type Expr struct {
	src   string
	loc   string
	root  expr
	kind  vkind
	reads []*schema.Node
	ext   []*schema.Node
	up    int
	ctx   *schema.Node
	// stateOK: config false nodes are visible.
	stateOK bool
}

// String returns the expression as written.
func (e *Expr) String() string { return e.src }

// Location returns the file:line:col of the statement the expression came
// from ("" when compiled without a scope).
func (e *Expr) Location() string { return e.loc }

// Context returns the schema node of the context node.
func (e *Expr) Context() *schema.Node { return e.ctx }

// Reads returns every schema node whose instances the expression may read,
// sorted by path: the nodes any of its steps reach, and the descendants of
// containers and lists whose string value it takes.
func (e *Expr) Reads() []*schema.Node { return e.reads }

// External returns the nodes of Reads the expression may read outside the
// context node's subtree: those reached by absolute paths, by paths that
// went above the context node, through deref(), or from a filter whose
// nodes are not known to lie below the context node. Changes to the
// context node's subtree are the others.
func (e *Expr) External() []*schema.Node { return e.ext }

// Up returns how many levels above the context node the expression reads:
// 0 when it reads only the context node's subtree, k when it reads only
// the subtree of the context node's k-th ancestor, and -1 when it may read
// anywhere (absolute paths, deref(), paths continuing from a union).
func (e *Expr) Up() int { return e.up }

// Error is a compile error: the expression, where it was written, the byte
// offset in the expression and what is wrong.
type Error struct {
	Location string // file:line:col of the statement, may be empty
	Expr     string
	Offset   int
	Msg      string
}

func (e *Error) Error() string {
	loc := ""
	if e.Location != "" {
		loc = e.Location + ": "
	}
	return fmt.Sprintf("%sxpath %q: at offset %d: %s", loc, e.Expr, e.Offset, e.Msg)
}

// Compile parses src and resolves it against the schema: every name must
// name a data node (with its prefix resolved through the imports of the
// scope's module), every function must be supported with the right number
// of arguments. Errors are *Error.
func Compile(src string, opt Options) (*Expr, error) {
	loc := ""
	if opt.Scope != nil && opt.Scope.Statement() != nil {
		loc = opt.Scope.Statement().Location()
	}
	fail := func(off int, msg string) error {
		return &Error{Location: loc, Expr: src, Offset: off, Msg: msg}
	}
	if opt.Context == nil {
		return nil, fail(0, "no context node")
	}
	ast, err := parse(src)
	if err != nil {
		if se, ok := err.(*syntaxError); ok {
			return nil, fail(se.pos, se.msg)
		}
		return nil, fail(0, err.Error())
	}
	c := &compiler{opt: opt, reads: map[*schema.Node]bool{}, ext: map[*schema.Node]bool{}}
	c.root = opt.Context
	for c.root.Parent != nil {
		c.root = c.root.Parent
	}
	ctx := sinfo{kind: kNodes, nodes: []*schema.Node{opt.Context}, known: true, local: true}
	info, err := c.compile(ast, ctx)
	if err != nil {
		if ce, ok := err.(*compileError); ok {
			return nil, fail(ce.pos, ce.msg)
		}
		return nil, fail(0, err.Error())
	}
	e := &Expr{src: src, loc: loc, root: ast, kind: info.kind, ctx: opt.Context, stateOK: opt.State}
	for n := range c.reads {
		e.reads = append(e.reads, n)
	}
	sort.Slice(e.reads, func(i, j int) bool { return e.reads[i].Path < e.reads[j].Path })
	for n := range c.ext {
		e.ext = append(e.ext, n)
	}
	sort.Slice(e.ext, func(i, j int) bool { return e.ext[i].Path < e.ext[j].Path })
	e.up = -c.minDepth
	if c.global {
		e.up = -1
	}
	return e, nil
}

type compileError struct {
	pos int
	msg string
}

func (e *compileError) Error() string { return e.msg }

func errAt(pos int, format string, args ...any) error {
	return &compileError{pos: pos, msg: fmt.Sprintf(format, args...)}
}

// vkind is the type of an XPath value.
type vkind uint8

const (
	kNodes vkind = iota
	kString
	kNumber
	kBool
)

func (k vkind) String() string {
	return [...]string{"node-set", "string", "number", "boolean"}[k]
}

// sinfo is what the compiler knows statically about a value: its type
// and, for a node-set, the schema nodes of its nodes and their depth
// relative to the context node (known is false when that depth is not
// fixed, e.g. for an absolute path).
type sinfo struct {
	kind  vkind
	nodes []*schema.Node
	depth int
	known bool
	// local: the nodes lie in the context node's subtree, reached without
	// leaving it.
	local bool
}

type compiler struct {
	opt      Options
	root     *schema.Node
	reads    map[*schema.Node]bool
	ext      map[*schema.Node]bool
	minDepth int
	global   bool
	depth    int
}

func (c *compiler) compile(e expr, ctx sinfo) (sinfo, error) {
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > 4*maxDepth {
		return sinfo{}, errAt(e.offset(), "expression too deeply nested")
	}
	switch e := e.(type) {
	case *numberExpr:
		return sinfo{kind: kNumber}, nil
	case *stringExpr:
		return sinfo{kind: kString}, nil
	case *negExpr:
		x, err := c.compile(e.x, ctx)
		if err != nil {
			return sinfo{}, err
		}
		c.useValue(x)
		return sinfo{kind: kNumber}, nil
	case *binaryExpr:
		return c.binary(e, ctx)
	case *unionExpr:
		l, err := c.compile(e.l, ctx)
		if err != nil {
			return sinfo{}, err
		}
		r, err := c.compile(e.r, ctx)
		if err != nil {
			return sinfo{}, err
		}
		if l.kind != kNodes || r.kind != kNodes {
			return sinfo{}, errAt(e.pos, "the operands of '|' must be node-sets")
		}
		return sinfo{kind: kNodes, nodes: unionNodes(l.nodes, r.nodes)}, nil
	case *callExpr:
		return c.call(e, ctx)
	case *pathExpr:
		return c.path(e, ctx)
	}
	return sinfo{}, errAt(e.offset(), "unsupported expression")
}

func unionNodes(a, b []*schema.Node) []*schema.Node {
	out := append([]*schema.Node(nil), a...)
	for _, n := range b {
		if !containsNode(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func containsNode(ns []*schema.Node, n *schema.Node) bool {
	for _, x := range ns {
		if x == n {
			return true
		}
	}
	return false
}

func (c *compiler) binary(e *binaryExpr, ctx sinfo) (sinfo, error) {
	l, err := c.compile(e.l, ctx)
	if err != nil {
		return sinfo{}, err
	}
	r, err := c.compile(e.r, ctx)
	if err != nil {
		return sinfo{}, err
	}
	switch e.op {
	case tAnd, tOr:
		return sinfo{kind: kBool}, nil
	case tEq, tNeq, tLt, tLe, tGt, tGe:
		c.useValue(l)
		c.useValue(r)
		if e.op == tEq || e.op == tNeq {
			c.identityLiteral(l, e.r)
			c.identityLiteral(r, e.l)
		}
		return sinfo{kind: kBool}, nil
	default: // arithmetic
		c.useValue(l)
		c.useValue(r)
		return sinfo{kind: kNumber}, nil
	}
}

// identityLiteral rewrites a literal compared with identityref nodes from
// the prefix form of the module where the expression is written
// ('ianaift:ethernetCsmacd') to the canonical "module:identity" form the
// data tree holds, so that such comparisons work as YANG authors expect.
func (c *compiler) identityLiteral(nodes sinfo, other expr) {
	lit, ok := other.(*stringExpr)
	if !ok || nodes.kind != kNodes || len(nodes.nodes) == 0 {
		return
	}
	var t *yang.YangType
	for _, n := range nodes.nodes {
		if n.Kind != schema.Leaf && n.Kind != schema.LeafList {
			return
		}
		vt := n.ValueType()
		if vt == nil || vt.Kind != yang.Yidentityref {
			return
		}
		if t == nil {
			t = vt
		}
	}
	s := lit.v
	if pfx, name, ok := cutColon(s); ok && c.opt.Scope != nil {
		if m := yang.FindModuleByPrefix(c.opt.Scope, pfx); m != nil {
			s = moduleName(m) + ":" + name
		}
	}
	for _, n := range nodes.nodes {
		if v, err := value.ParseString(n.ValueType(), s); err == nil {
			lit.v = value.String(v)
			return
		}
	}
}

// moduleName is the name of the module m is or belongs to.
func moduleName(m *yang.Module) string {
	if m.Kind() == "submodule" && m.BelongsTo != nil {
		return m.BelongsTo.Name
	}
	return m.Name
}

// useValue records that the string values of a node-set are read: for
// containers and lists, that is every leaf below them.
func (c *compiler) useValue(x sinfo) {
	if x.kind != kNodes {
		return
	}
	for _, n := range x.nodes {
		if n.IsDir() {
			c.readSubtree(n, x.local)
		}
	}
}

func (c *compiler) readSubtree(n *schema.Node, local bool) {
	for _, k := range n.Children {
		if !k.Config && !c.opt.State {
			continue // invisible
		}
		if !c.reads[k] || (!local && !c.ext[k]) {
			c.read(k, local)
			c.readSubtree(k, local)
		}
	}
}

// read records that instances of n are read, inside the context node's
// subtree or not.
func (c *compiler) read(n *schema.Node, local bool) {
	c.reads[n] = true
	if !local {
		c.ext[n] = true
	}
}

func (c *compiler) noteDepth(x sinfo) {
	if !x.known {
		c.global = true
		return
	}
	if x.depth < c.minDepth {
		c.minDepth = x.depth
	}
}

func (c *compiler) path(e *pathExpr, ctx sinfo) (sinfo, error) {
	var cur sinfo
	switch {
	case e.abs:
		cur = sinfo{kind: kNodes, nodes: []*schema.Node{c.root}}
		c.global = true
	case e.filter != nil:
		f, err := c.compile(e.filter, ctx)
		if err != nil {
			return sinfo{}, err
		}
		if f.kind != kNodes {
			if len(e.fpreds) > 0 {
				return sinfo{}, errAt(e.pos, "predicates apply to node-sets, not to a %s", f.kind)
			}
			return sinfo{}, errAt(e.pos, "a path cannot continue from a %s", f.kind)
		}
		cur = f
		for _, p := range e.fpreds {
			if err := c.predicate(p, cur); err != nil {
				return sinfo{}, err
			}
		}
	default:
		cur = ctx
	}
	for _, st := range e.steps {
		next, err := c.step(st, cur)
		if err != nil {
			return sinfo{}, err
		}
		cur = next
		if cur.known {
			c.noteDepth(cur)
		} else if len(e.steps) > 0 && !e.abs {
			c.global = true
		}
	}
	return cur, nil
}

func (c *compiler) step(st *step, cur sinfo) (sinfo, error) {
	next := sinfo{kind: kNodes, known: cur.known, local: cur.local}
	st.stateOK = c.opt.State
	switch st.axis {
	case axisSelf:
		next.nodes = cur.nodes
		next.depth = cur.depth
	case axisParent:
		next.depth = cur.depth - 1
		for _, n := range cur.nodes {
			if n.Parent == nil {
				continue
			}
			if !containsNode(next.nodes, n.Parent) {
				next.nodes = append(next.nodes, n.Parent)
			}
		}
		if len(next.nodes) == 0 && len(cur.nodes) > 0 {
			return sinfo{}, errAt(st.pos, "'..' climbs above the root")
		}
	case axisChild:
		next.depth = cur.depth + 1
		if st.prefix != "" {
			if c.opt.Scope == nil {
				return sinfo{}, errAt(st.pos, "prefix %q cannot be resolved without a module", st.prefix)
			}
			m := yang.FindModuleByPrefix(c.opt.Scope, st.prefix)
			if m == nil {
				return sinfo{}, errAt(st.pos, "unknown prefix %q (not the module's prefix nor an import)", st.prefix)
			}
			st.module = moduleName(m)
		}
		for _, n := range cur.nodes {
			if !n.IsDir() {
				continue
			}
			if st.any {
				for _, k := range n.Children {
					if !containsNode(next.nodes, k) {
						next.nodes = append(next.nodes, k)
					}
				}
				continue
			}
			k := n.Child(st.local)
			if k == nil || (st.module != "" && k.Module != st.module) {
				continue
			}
			if !containsNode(next.nodes, k) {
				next.nodes = append(next.nodes, k)
			}
		}
		if !st.any && len(next.nodes) == 0 {
			return sinfo{}, errAt(st.pos, "no data node %s under %s", st.qname(), pathsOf(cur.nodes))
		}
	}
	if !next.known || next.depth < 0 {
		next.local = false
	}
	for _, n := range next.nodes {
		if n.Parent != nil { // the document root is not data
			c.read(n, next.local)
		}
	}
	for i, p := range st.preds {
		if err := c.predicate(p, next); err != nil {
			return sinfo{}, err
		}
		if i == 0 && st.axis == axisChild {
			st.keyed = c.keyLookup(next, p)
		}
	}
	return next, nil
}

func (st *step) qname() string {
	if st.prefix != "" {
		return fmt.Sprintf("%q", st.prefix+":"+st.local)
	}
	return fmt.Sprintf("%q", st.local)
}

func pathsOf(ns []*schema.Node) string {
	if len(ns) == 0 {
		return "an empty node-set"
	}
	ps := make([]string, len(ns))
	for i, n := range ns {
		ps[i] = n.PathString()
		if !n.IsDir() {
			ps[i] += " (a " + n.Kind.String() + ")"
		}
	}
	sort.Strings(ps)
	return strings.Join(ps, ", ")
}

func (c *compiler) predicate(p expr, cur sinfo) error {
	x, err := c.compile(p, cur)
	if err != nil {
		return err
	}
	if x.kind == kNumber {
		return errAt(p.offset(), "positional predicates are not supported")
	}
	return nil
}

// keyLookup recognizes a first predicate that fixes every key of the list
// the step names, [k1 = e1 and k2 = e2 ...], with each e independent of
// the entry being tested, so the evaluator can look the entries up in the
// list's B-tree instead of testing every entry.
func (c *compiler) keyLookup(next sinfo, p expr) *keyLookup {
	if len(next.nodes) != 1 || next.nodes[0].Kind != schema.List || len(next.nodes[0].Keys) == 0 {
		return nil
	}
	list := next.nodes[0]
	kl := &keyLookup{list: list, exprs: make([]expr, len(list.Keys))}
	var terms []expr
	var collect func(e expr)
	collect = func(e expr) {
		if b, ok := e.(*binaryExpr); ok && b.op == tAnd {
			collect(b.l)
			collect(b.r)
			return
		}
		terms = append(terms, e)
	}
	collect(p)
	if len(terms) != len(list.Keys) {
		return nil
	}
	for _, t := range terms {
		b, ok := t.(*binaryExpr)
		if !ok || b.op != tEq {
			return nil
		}
		k, other := keyOperand(list, b.l), b.r
		if k < 0 {
			k, other = keyOperand(list, b.r), b.l
		}
		if k < 0 || kl.exprs[k] != nil || !independent(other) || !lookupType(list.Keys[k], staticKind(other)) {
			return nil
		}
		kl.exprs[k] = other
	}
	return kl
}

// keyOperand returns the index of the key of list that e names as a
// single relative child step, or -1.
func keyOperand(list *schema.Node, e expr) int {
	pe, ok := e.(*pathExpr)
	if !ok || pe.abs || pe.filter != nil || len(pe.steps) != 1 {
		return -1
	}
	st := pe.steps[0]
	if st.axis != axisChild || st.any || len(st.preds) > 0 {
		return -1
	}
	for i, k := range list.Keys {
		if k.Name == st.local && (st.module == "" || st.module == k.Module) {
			return i
		}
	}
	return -1
}

// lookupType reports whether the key's string values are canonical texts
// that identify its values, so that a lookup by text finds exactly the
// entries an equality test would.
// A number is compared numerically, which only numeric keys allow; a
// boolean comparand compares booleans, which no lookup can do.
func lookupType(k *schema.Node, with vkind) bool {
	t := k.ValueType()
	if t == nil {
		return false
	}
	switch t.Kind {
	case yang.Ydecimal64, yang.Yint8, yang.Yint16, yang.Yint32, yang.Yint64,
		yang.Yuint8, yang.Yuint16, yang.Yuint32, yang.Yuint64:
		return with == kNodes || with == kString || with == kNumber
	case yang.Ystring, yang.Yenum, yang.Yidentityref, yang.Ybool:
		return with == kNodes || with == kString
	}
	return false
}

// staticKind is the type of a compiled expression.
func staticKind(e expr) vkind {
	switch e := e.(type) {
	case *numberExpr, *negExpr:
		return kNumber
	case *stringExpr:
		return kString
	case *binaryExpr:
		switch e.op {
		case tPlus, tMinus, tMul, tDiv, tMod:
			return kNumber
		}
		return kBool
	case *callExpr:
		if e.fn != nil {
			return e.fn.ret
		}
		return kBool
	}
	return kNodes
}

// independent reports whether e does not read the context node it is
// evaluated for (it may use current(), absolute paths and literals).
func independent(e expr) bool {
	switch e := e.(type) {
	case *numberExpr, *stringExpr:
		return true
	case *negExpr:
		return independent(e.x)
	case *binaryExpr:
		return independent(e.l) && independent(e.r)
	case *unionExpr:
		return independent(e.l) && independent(e.r)
	case *callExpr:
		if e.ctx {
			return false
		}
		for _, a := range e.args {
			if !independent(a) {
				return false
			}
		}
		return true
	case *pathExpr:
		if e.abs {
			return true
		}
		return e.filter != nil && independent(e.filter)
	}
	return false
}

// keyLookup is a compiled [key = expr ...] predicate.
type keyLookup struct {
	list  *schema.Node
	exprs []expr // in key order
}
