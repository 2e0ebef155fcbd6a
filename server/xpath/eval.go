package xpath

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/openconfig/goyang/pkg/yang"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/tree"
)

// MaxSteps bounds the work of one evaluation: every node a step produces,
// every leaf whose value is read and every predicate test counts one. An
// expression exceeding it fails with ErrTooExpensive instead of stalling
// the single writer (a predicate scanning a 100k-entry list for each of
// 100k entries would otherwise take minutes).
const MaxSteps = 10_000_000

// ErrTooExpensive is returned by an evaluation that exceeds MaxSteps.
var ErrTooExpensive = errors.New("xpath: evaluation exceeds the step limit")

// Input is where an expression is evaluated.
type Input struct {
	// Root is the document root of the data tree.
	Root *tree.Node
	// Chain leads from a child of Root to the context node, a list
	// followed by its entry, as tree.Diff reports chains. It is empty when
	// the context node is the document root.
	Chain []*tree.Node
	// Index selects the value of a leaf-list context node (each value is
	// a node in XPath).
	Index int
	// Dummy evaluates a 'when' of the context node itself: the context
	// node is taken to have no value and no children (RFC 7950 7.21.5).
	Dummy bool
	// Missing, a child of the last node of Chain that does not exist,
	// makes the context node a dummy instance of it: evaluating the when
	// of a node that is absent (to know whether its mandatory descendants
	// are required).
	Missing *schema.Node
}

// Result is the value of an expression, for tests and tools.
type Result struct {
	Type   string   // "node-set", "string", "number" or "boolean"
	Nodes  []string // node-set: the path of each node; a leaf-list value as path[.=value]
	String string
	Number float64
	Bool   bool
}

// Bool evaluates the expression and converts the result to a boolean, as
// must and when do.
func (e *Expr) Bool(in Input) (ok bool, err error) {
	defer recoverErr(&err)
	ev, x, err := e.start(in)
	if err != nil {
		return false, err
	}
	b := ev.boolean(ev.eval(e.root, x))
	if ev.err != nil {
		return false, ev.err
	}
	return b, nil
}

// Eval evaluates the expression.
func (e *Expr) Eval(in Input) (r Result, err error) {
	defer recoverErr(&err)
	ev, x, err := e.start(in)
	if err != nil {
		return Result{}, err
	}
	v := ev.eval(e.root, x)
	if ev.err != nil {
		return Result{}, ev.err
	}
	r.Type = v.k.String()
	switch v.k {
	case kNodes:
		for _, n := range v.ns {
			r.Nodes = append(r.Nodes, ev.pathOf(n))
		}
	case kString:
		r.String = v.s
	case kNumber:
		r.Number = v.n
	case kBool:
		r.Bool = v.b
	}
	return r, nil
}

func recoverErr(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("xpath: internal error: %v", r)
	}
}

func (e *Expr) start(in Input) (*evaluator, *xnode, error) {
	if in.Root == nil {
		return nil, nil, errors.New("xpath: no document root")
	}
	ev := &evaluator{state: e.stateOK}
	ev.root = &xnode{t: in.Root}
	x := ev.root
	for i, t := range in.Chain {
		if t == nil {
			return nil, nil, errors.New("xpath: nil node in the context chain")
		}
		s := t.Schema()
		if s.Kind == schema.List && i+1 < len(in.Chain) && in.Chain[i+1] != nil && in.Chain[i+1].Schema() == s {
			continue // the list; its entry follows
		}
		x = &xnode{t: t, up: x}
	}
	if m := in.Missing; m != nil {
		if m.Parent != x.t.Schema() {
			return nil, nil, fmt.Errorf("xpath: %s is not a child of %s", m.PathString(), x.t.Schema().PathString())
		}
		if m != e.ctx {
			return nil, nil, fmt.Errorf("xpath: context node %s is not an instance of %s", m.PathString(), e.ctx.PathString())
		}
		x = &xnode{miss: m, up: x}
		ev.cur = x
		return ev, x, nil
	}
	if s := x.t.Schema(); s != e.ctx {
		return nil, nil, fmt.Errorf("xpath: context node %s is not an instance of %s", s.PathString(), e.ctx.PathString())
	}
	if x.t.Schema().Kind == schema.LeafList {
		if in.Index < 0 || (in.Index >= len(x.t.Values()) && !in.Dummy) {
			return nil, nil, fmt.Errorf("xpath: leaf-list %s has no value %d", e.ctx.PathString(), in.Index)
		}
		x.i = in.Index
	}
	if in.Dummy {
		ev.dummy = x.t
	}
	ev.cur = x
	return ev, x, nil
}

// xnode is a node of the XPath data model: a container, list entry, leaf,
// one value of a leaf-list, or the document root. Tree nodes have no
// parent pointers, so each xnode links to the xnode it was reached from.
type xnode struct {
	t    *tree.Node   // nil for a missing node (Input.Missing)
	miss *schema.Node // the schema of a missing node
	i    int          // leaf-list value index
	up   *xnode
}

type val struct {
	k  vkind
	s  string
	n  float64
	b  bool
	ns []*xnode
}

type evaluator struct {
	root, cur *xnode
	dummy     *tree.Node
	state     bool
	steps     int
	err       error
	depth     int
}

// tick counts one unit of work; false once the budget is spent.
func (ev *evaluator) tick() bool {
	ev.steps++
	if ev.steps > MaxSteps && ev.err == nil {
		ev.err = ErrTooExpensive
	}
	return ev.err == nil
}

func (ev *evaluator) eval(e expr, x *xnode) val {
	if ev.err != nil {
		return val{k: kNodes}
	}
	ev.depth++
	defer func() { ev.depth-- }()
	if ev.depth > 8*maxDepth {
		ev.err = errors.New("xpath: evaluation nested too deeply")
		return val{k: kNodes}
	}
	switch e := e.(type) {
	case *numberExpr:
		return val{k: kNumber, n: e.v}
	case *stringExpr:
		return val{k: kString, s: e.v}
	case *negExpr:
		return val{k: kNumber, n: -ev.number(ev.eval(e.x, x))}
	case *binaryExpr:
		return ev.binary(e, x)
	case *unionExpr:
		l, r := ev.eval(e.l, x), ev.eval(e.r, x)
		return val{k: kNodes, ns: dedup(append(append([]*xnode(nil), l.ns...), r.ns...))}
	case *callExpr:
		return ev.call(e, x)
	case *pathExpr:
		return val{k: kNodes, ns: ev.path(e, x)}
	}
	ev.err = fmt.Errorf("xpath: cannot evaluate %T", e)
	return val{k: kNodes}
}

func (ev *evaluator) binary(e *binaryExpr, x *xnode) val {
	switch e.op {
	case tOr:
		return val{k: kBool, b: ev.boolean(ev.eval(e.l, x)) || ev.boolean(ev.eval(e.r, x))}
	case tAnd:
		return val{k: kBool, b: ev.boolean(ev.eval(e.l, x)) && ev.boolean(ev.eval(e.r, x))}
	}
	l, r := ev.eval(e.l, x), ev.eval(e.r, x)
	switch e.op {
	case tEq, tNeq, tLt, tLe, tGt, tGe:
		return val{k: kBool, b: ev.compare(e.op, l, r)}
	}
	a, b := ev.number(l), ev.number(r)
	var n float64
	switch e.op {
	case tPlus:
		n = a + b
	case tMinus:
		n = a - b
	case tMul:
		n = a * b
	case tDiv:
		n = a / b
	case tMod:
		n = math.Mod(a, b)
	}
	return val{k: kNumber, n: n}
}

// compare implements XPath 1.0 section 3.4: a comparison involving a
// node-set is true if it holds for some node of the set.
func (ev *evaluator) compare(op tokKind, l, r val) bool {
	switch {
	case l.k == kNodes && r.k == kNodes:
		rs := make([]string, 0, len(r.ns))
		for _, y := range r.ns {
			rs = append(rs, ev.stringValue(y))
		}
		for _, x := range l.ns {
			xs := ev.stringValue(x)
			for _, ys := range rs {
				if !ev.tick() {
					return false
				}
				if op == tEq || op == tNeq {
					if (xs == ys) == (op == tEq) {
						return true
					}
				} else if compareNum(op, parseNumber(xs), parseNumber(ys)) {
					return true
				}
			}
		}
		return false
	case l.k == kNodes && r.k == kBool:
		return compareAtoms(op, val{k: kBool, b: len(l.ns) > 0}, r)
	case r.k == kNodes && l.k == kBool:
		return compareAtoms(op, l, val{k: kBool, b: len(r.ns) > 0})
	case l.k == kNodes:
		for _, x := range l.ns {
			if compareAtoms(op, val{k: kString, s: ev.stringValue(x)}, r) {
				return true
			}
		}
		return false
	case r.k == kNodes:
		for _, y := range r.ns {
			if compareAtoms(op, l, val{k: kString, s: ev.stringValue(y)}) {
				return true
			}
		}
		return false
	}
	return compareAtoms(op, l, r)
}

// compareAtoms compares two values that are not node-sets.
func compareAtoms(op tokKind, l, r val) bool {
	if op == tEq || op == tNeq {
		var eq bool
		switch {
		case l.k == kBool || r.k == kBool:
			eq = toBool(l) == toBool(r)
		case l.k == kNumber || r.k == kNumber:
			eq = toNumber(l) == toNumber(r)
		default:
			eq = toString(l) == toString(r)
		}
		return eq == (op == tEq)
	}
	return compareNum(op, toNumber(l), toNumber(r))
}

func compareNum(op tokKind, a, b float64) bool {
	switch op {
	case tEq:
		return a == b
	case tNeq:
		return a != b
	case tLt:
		return a < b
	case tLe:
		return a <= b
	case tGt:
		return a > b
	case tGe:
		return a >= b
	}
	return false
}

// Conversions of atomic values (node-sets go through the evaluator, which
// reads the tree).

func toBool(v val) bool {
	switch v.k {
	case kBool:
		return v.b
	case kNumber:
		return v.n != 0 && !math.IsNaN(v.n)
	case kString:
		return v.s != ""
	}
	return len(v.ns) > 0
}

func toNumber(v val) float64 {
	switch v.k {
	case kNumber:
		return v.n
	case kBool:
		if v.b {
			return 1
		}
		return 0
	}
	return parseNumber(v.s)
}

func toString(v val) string {
	switch v.k {
	case kString:
		return v.s
	case kNumber:
		return formatNumber(v.n)
	case kBool:
		return strconv.FormatBool(v.b)
	}
	return ""
}

func (ev *evaluator) boolean(v val) bool { return toBool(v) }

func (ev *evaluator) number(v val) float64 {
	if v.k == kNodes {
		if len(v.ns) == 0 {
			return math.NaN()
		}
		return parseNumber(ev.stringValue(v.ns[0]))
	}
	return toNumber(v)
}

func (ev *evaluator) str(v val) string {
	if v.k == kNodes {
		if len(v.ns) == 0 {
			return ""
		}
		return ev.stringValue(v.ns[0])
	}
	return toString(v)
}

// parseNumber converts a string to a number as XPath's number() does:
// optional whitespace, an optional minus, digits with an optional
// fraction; anything else is NaN.
func parseNumber(s string) float64 {
	s = strings.Trim(s, " \t\r\n")
	body := strings.TrimPrefix(s, "-")
	digits, dots := 0, 0
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case isDigit(c):
			digits++
		case c == '.':
			dots++
		default:
			return math.NaN()
		}
	}
	if digits == 0 || dots > 1 {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return math.NaN()
	}
	return f
}

// formatNumber converts a number to a string as XPath's string() does.
func formatNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// stringValue is the XPath string-value of a node: a leaf's canonical
// text, or the concatenated text of every leaf below a container or entry.
func (ev *evaluator) stringValue(x *xnode) string {
	if !ev.tick() || x.t == ev.dummy || x.t == nil {
		return ""
	}
	s := x.t.Schema()
	switch s.Kind {
	case schema.Leaf:
		return value.String(x.t.Value())
	case schema.LeafList:
		if vals := x.t.Values(); x.i < len(vals) {
			return value.String(vals[x.i])
		}
		return ""
	}
	var b strings.Builder
	ev.text(x.t, &b)
	return b.String()
}

func (ev *evaluator) text(t *tree.Node, b *strings.Builder) {
	for _, k := range t.Children() {
		if !ev.tick() {
			return
		}
		s := k.Schema()
		if !s.Config && !ev.state {
			continue
		}
		switch s.Kind {
		case schema.Leaf:
			b.WriteString(value.String(k.Value()))
		case schema.LeafList:
			for _, v := range k.Values() {
				b.WriteString(value.String(v))
			}
		case schema.List:
			k.Entries(func(e *tree.Node) bool {
				ev.text(e, b)
				return ev.err == nil
			})
		default:
			ev.text(k, b)
		}
	}
}

type nodeKey struct {
	t *tree.Node
	i int
}

// dedup removes repeated nodes, keeping the first of each.
func dedup(ns []*xnode) []*xnode {
	if len(ns) < 2 {
		return ns
	}
	seen := make(map[nodeKey]bool, len(ns))
	out := ns[:0]
	for _, x := range ns {
		k := nodeKey{x.t, x.i}
		if !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
	}
	return out
}

func (ev *evaluator) path(e *pathExpr, x *xnode) []*xnode {
	var set []*xnode
	switch {
	case e.abs:
		set = []*xnode{ev.root}
	case e.filter != nil:
		v := ev.eval(e.filter, x)
		if v.k != kNodes {
			return nil
		}
		set = ev.filter(v.ns, e.fpreds)
	default:
		set = []*xnode{x}
	}
	for _, st := range e.steps {
		if ev.err != nil || len(set) == 0 {
			return nil
		}
		set = ev.step(st, set)
	}
	return set
}

func (ev *evaluator) filter(set []*xnode, preds []expr) []*xnode {
	for _, p := range preds {
		out := set[:0:0]
		for _, x := range set {
			if !ev.tick() {
				return nil
			}
			if ev.boolean(ev.eval(p, x)) {
				out = append(out, x)
			}
		}
		set = out
	}
	return set
}

func (ev *evaluator) step(st *step, set []*xnode) []*xnode {
	var out []*xnode
	preds := st.preds
	switch st.axis {
	case axisSelf:
		out = set
	case axisParent:
		for _, x := range set {
			if x.up != nil {
				out = append(out, x.up)
			}
		}
		out = dedup(out)
	case axisChild:
		if st.keyed != nil {
			keys, ok := ev.lookupKeys(st.keyed)
			if ok {
				preds = preds[1:]
				for _, x := range set {
					ev.lookup(st, x, keys, &out)
				}
				break
			}
		}
		for _, x := range set {
			ev.children(st, x, &out)
			if ev.err != nil {
				return nil
			}
		}
	}
	return ev.filter(out, preds)
}

func (ev *evaluator) children(st *step, x *xnode, out *[]*xnode) {
	t := x.t
	if t == ev.dummy || t == nil {
		return
	}
	s := t.Schema()
	if !s.IsDir() {
		return
	}
	if st.any {
		for _, k := range t.Children() {
			ev.emit(k, x, out)
		}
		return
	}
	cs := s.Child(st.local)
	if cs == nil || (st.module != "" && cs.Module != st.module) {
		return
	}
	if k := t.Child(cs); k != nil {
		ev.emit(k, x, out)
	}
}

func (ev *evaluator) emit(k *tree.Node, up *xnode, out *[]*xnode) {
	s := k.Schema()
	if !s.Config && !ev.state {
		return
	}
	switch s.Kind {
	case schema.List:
		k.Entries(func(e *tree.Node) bool {
			if ev.tick() {
				*out = append(*out, &xnode{t: e, up: up})
			}
			return ev.err == nil
		})
	case schema.LeafList:
		for i := range k.Values() {
			if !ev.tick() {
				return
			}
			*out = append(*out, &xnode{t: k, i: i, up: up})
		}
	default:
		if ev.tick() {
			*out = append(*out, &xnode{t: k, up: up})
		}
	}
}

// maxLookups bounds the key combinations a keyed predicate looks up; past
// it the entries are scanned.
const maxLookups = 64

// lookupKeys evaluates the key expressions of a keyed predicate to the
// candidate internal keys (tree.KeyString) of the entries that can match.
func (ev *evaluator) lookupKeys(kl *keyLookup) ([]string, bool) {
	combos := [][]value.Value{nil}
	for i, e := range kl.exprs {
		v := ev.eval(e, ev.cur) // independent of the context node
		if ev.err != nil {
			return nil, false
		}
		var texts []string
		switch v.k {
		case kNodes:
			for _, x := range v.ns {
				texts = append(texts, ev.stringValue(x))
			}
		case kString:
			texts = []string{v.s}
		case kNumber:
			if v.n != math.Trunc(v.n) && !isDecimal(kl.list.Keys[i]) {
				return nil, true // no integer equals it
			}
			texts = []string{formatNumber(v.n)}
		default:
			return nil, false
		}
		var vals []value.Value
		kt := kl.list.Keys[i].ValueType()
		for _, s := range texts {
			pv, err := value.ParseString(kt, s)
			if err != nil || (v.k != kNumber && value.String(pv) != s) {
				continue // no key has this string value
			}
			if v.k == kNumber && parseNumber(value.String(pv)) != v.n {
				continue
			}
			vals = append(vals, pv)
		}
		var next [][]value.Value
		for _, c := range combos {
			for _, pv := range vals {
				next = append(next, append(c[:len(c):len(c)], pv))
			}
		}
		if len(next) > maxLookups {
			return nil, false
		}
		combos = next
	}
	keys := make([]string, len(combos))
	for i, c := range combos {
		keys[i] = tree.KeyString(c)
	}
	return dedupStrings(keys), true
}

func isDecimal(k *schema.Node) bool {
	t := k.ValueType()
	return t != nil && t.Kind == yang.Ydecimal64
}

func dedupStrings(ss []string) []string {
	seen := map[string]bool{}
	out := ss[:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (ev *evaluator) lookup(st *step, x *xnode, keys []string, out *[]*xnode) {
	t := x.t
	if t == ev.dummy || t == nil || !t.Schema().IsDir() {
		return
	}
	l := t.Child(st.keyed.list)
	if l == nil || (!st.keyed.list.Config && !ev.state) {
		return
	}
	for _, k := range keys {
		if !ev.tick() {
			return
		}
		if e := l.Entry(k); e != nil {
			*out = append(*out, &xnode{t: e, up: x})
		}
	}
}

// pathOf returns the data path of x.
func (ev *evaluator) pathOf(x *xnode) string {
	if x.t == nil {
		p := ev.pathOf(x.up)
		if p == "/" {
			p = ""
		}
		return p + "/" + x.miss.Name
	}
	var xs []*xnode
	for n := x; n.up != nil; n = n.up {
		xs = append(xs, n)
	}
	var chain []*tree.Node
	for i := len(xs) - 1; i >= 0; i-- {
		n := xs[i]
		if n.t.Schema().Kind == schema.List {
			if l := n.up.t.Child(n.t.Schema()); l != nil {
				chain = append(chain, l)
			}
		}
		chain = append(chain, n.t)
	}
	p := tree.ChainString(chain)
	if x.t.Schema().Kind == schema.LeafList && x.i < len(x.t.Values()) {
		p += "[.=" + value.String(x.t.Values()[x.i]) + "]"
	}
	return p
}
