package xpath

import (
	"fmt"

	"github.com/netready/netready/server/schema"
)

// The abstract syntax tree. Nodes are annotated in place by the compiler.

type expr interface{ offset() int }

type numberExpr struct {
	pos int
	v   float64
}

type stringExpr struct {
	pos int
	v   string
}

type binaryExpr struct {
	pos  int // the operator's offset
	op   tokKind
	l, r expr
}

type negExpr struct {
	pos int
	x   expr
}

type unionExpr struct {
	pos  int
	l, r expr
}

type callExpr struct {
	pos  int
	name string
	args []expr
	fn   *function
	// Compiled data of some functions.
	idents map[string]bool // derived-from: the qualified names that match
	re     *reMatcher      // re-match with a literal pattern
	ctx    bool            // the call reads the context node implicitly
}

type axis uint8

const (
	axisChild axis = iota
	axisParent
	axisSelf
)

type step struct {
	pos    int
	axis   axis
	any    bool   // node() or *: any name
	prefix string // as written
	local  string
	preds  []expr
	// Compiled.
	module  string // module the prefix names ("" for unprefixed)
	keyed   *keyLookup
	nodes   []*schema.Node // the schema nodes this step can reach
	stateOK bool           // config false nodes may be reached (the expression is on state)
}

type pathExpr struct {
	pos    int
	abs    bool
	filter expr   // a primary expression the path starts from, or nil
	fpreds []expr // predicates on the filter
	steps  []*step
}

func (e *numberExpr) offset() int { return e.pos }
func (e *stringExpr) offset() int { return e.pos }
func (e *binaryExpr) offset() int { return e.pos }
func (e *negExpr) offset() int    { return e.pos }
func (e *unionExpr) offset() int  { return e.pos }
func (e *callExpr) offset() int   { return e.pos }
func (e *pathExpr) offset() int   { return e.pos }

// maxDepth bounds the nesting of expressions, so that a hostile or broken
// expression cannot exhaust the stack of the parser, compiler or evaluator.
const maxDepth = 64

type parser struct {
	toks  []token
	i     int
	depth int
}

// parse parses an XPath 1.0 expression into its syntax tree. Constructs
// outside the supported subset (axes, variables, //) are syntax errors.
func parse(s string) (expr, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errAt(t, "unexpected %s", describe(t))
	}
	return e, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(t token, format string, args ...any) error {
	return &syntaxError{pos: t.pos, msg: fmt.Sprintf(format, args...)}
}

func describe(t token) string {
	switch t.kind {
	case tName, tFuncName, tAxis:
		return fmt.Sprintf("%q", t.text)
	case tString:
		return fmt.Sprintf("string %q", t.text)
	case tNumber:
		return "number " + t.text
	case tEOF:
		return "end of expression"
	}
	return fmt.Sprintf("%q", t.kind.String())
}

func (p *parser) expect(k tokKind) (token, error) {
	t := p.next()
	if t.kind != k {
		return t, p.errAt(t, "expected %q, found %s", k.String(), describe(t))
	}
	return t, nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errAt(p.peek(), "expression nested more than %d levels deep", maxDepth)
	}
	return nil
}

func (p *parser) expr() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	return p.binary(0)
}

// Binary operator precedence levels, loosest first.
var levels = [][]tokKind{
	{tOr},
	{tAnd},
	{tEq, tNeq},
	{tLt, tLe, tGt, tGe},
	{tPlus, tMinus},
	{tMul, tDiv, tMod},
}

func (p *parser) binary(level int) (expr, error) {
	if level == len(levels) {
		return p.unary()
	}
	l, err := p.binary(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if !hasKind(levels[level], t.kind) {
			return l, nil
		}
		p.next()
		r, err := p.binary(level + 1)
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{pos: t.pos, op: t.kind, l: l, r: r}
	}
}

func hasKind(ks []tokKind, k tokKind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

func (p *parser) unary() (expr, error) {
	if t := p.peek(); t.kind == tMinus {
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &negExpr{pos: t.pos, x: x}, nil
	}
	return p.union()
}

func (p *parser) union() (expr, error) {
	l, err := p.pathExpr()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tPipe {
		t := p.next()
		r, err := p.pathExpr()
		if err != nil {
			return nil, err
		}
		l = &unionExpr{pos: t.pos, l: l, r: r}
	}
	return l, nil
}

func (p *parser) pathExpr() (expr, error) {
	t := p.peek()
	switch t.kind {
	case tSlash:
		p.next()
		pe := &pathExpr{pos: t.pos, abs: true}
		if startsStep(p.peek()) {
			if err := p.relPath(pe); err != nil {
				return nil, err
			}
		}
		return pe, nil
	case tSlash2:
		return nil, p.errAt(t, "'//' (descendant-or-self axis) is not supported")
	case tDollar:
		return nil, p.errAt(t, "variables are not supported")
	case tAt:
		return nil, p.errAt(t, "the attribute axis is not supported")
	case tLParen, tString, tNumber:
		return p.filterPath()
	case tFuncName:
		if isNodeType(t.text) {
			break
		}
		return p.filterPath()
	}
	if !startsStep(t) {
		return nil, p.errAt(t, "unexpected %s", describe(t))
	}
	pe := &pathExpr{pos: t.pos}
	if err := p.relPath(pe); err != nil {
		return nil, err
	}
	return pe, nil
}

func isNodeType(name string) bool {
	switch name {
	case "node", "text", "comment", "processing-instruction":
		return true
	}
	return false
}

func startsStep(t token) bool {
	switch t.kind {
	case tName, tStar, tDot, tDot2, tAxis, tAt:
		return true
	case tFuncName:
		return isNodeType(t.text)
	}
	return false
}

// filterPath parses a primary expression, its predicates and the path
// continuing from it.
func (p *parser) filterPath() (expr, error) {
	t := p.peek()
	prim, err := p.primary()
	if err != nil {
		return nil, err
	}
	pe := &pathExpr{pos: t.pos, filter: prim}
	for p.peek().kind == tLBrack {
		pr, err := p.predicate()
		if err != nil {
			return nil, err
		}
		pe.fpreds = append(pe.fpreds, pr)
	}
	switch p.peek().kind {
	case tSlash:
		p.next()
		if err := p.relPath(pe); err != nil {
			return nil, err
		}
	case tSlash2:
		return nil, p.errAt(p.peek(), "'//' (descendant-or-self axis) is not supported")
	}
	if len(pe.fpreds) == 0 && len(pe.steps) == 0 {
		return prim, nil
	}
	return pe, nil
}

func (p *parser) primary() (expr, error) {
	t := p.next()
	switch t.kind {
	case tString:
		return &stringExpr{pos: t.pos, v: t.text}, nil
	case tNumber:
		return &numberExpr{pos: t.pos, v: t.num}, nil
	case tLParen:
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen); err != nil {
			return nil, err
		}
		return e, nil
	case tFuncName:
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		c := &callExpr{pos: t.pos, name: t.text}
		p.next() // "("
		if p.peek().kind != tRParen {
			for {
				a, err := p.expr()
				if err != nil {
					return nil, err
				}
				c.args = append(c.args, a)
				if p.peek().kind != tComma {
					break
				}
				p.next()
			}
		}
		if _, err := p.expect(tRParen); err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, p.errAt(t, "unexpected %s", describe(t))
}

func (p *parser) relPath(pe *pathExpr) error {
	for {
		st, err := p.step()
		if err != nil {
			return err
		}
		pe.steps = append(pe.steps, st)
		switch p.peek().kind {
		case tSlash:
			p.next()
		case tSlash2:
			return p.errAt(p.peek(), "'//' (descendant-or-self axis) is not supported")
		default:
			return nil
		}
	}
}

func (p *parser) step() (*step, error) {
	t := p.next()
	st := &step{pos: t.pos, axis: axisChild}
	switch t.kind {
	case tDot:
		st.axis, st.any = axisSelf, true
		return st, nil
	case tDot2:
		st.axis, st.any = axisParent, true
		return st, nil
	case tAt:
		return nil, p.errAt(t, "the attribute axis is not supported")
	case tAxis:
		switch t.text {
		case "child":
		case "parent":
			st.axis = axisParent
		case "self":
			st.axis = axisSelf
		default:
			return nil, p.errAt(t, "the %s axis is not supported (only child, parent and self)", t.text)
		}
		p.next() // "::"
		t = p.next()
	}
	switch t.kind {
	case tStar:
		st.any = true
	case tName:
		if pfx, local, ok := cutColon(t.text); ok {
			if local == "*" {
				return nil, p.errAt(t, "the name test %q is not supported", t.text)
			}
			st.prefix, st.local = pfx, local
		} else {
			st.local = t.text
		}
	case tFuncName:
		if t.text != "node" {
			return nil, p.errAt(t, "the node test %s() is not supported", t.text)
		}
		p.next() // "("
		if _, err := p.expect(tRParen); err != nil {
			return nil, err
		}
		st.any = true
	default:
		return nil, p.errAt(t, "expected a step, found %s", describe(t))
	}
	if st.axis != axisChild && !st.any {
		// parent::name and self::name are rare; keep the subset small.
		return nil, p.errAt(t, "a name test on the %s axis is not supported", [...]string{"child", "parent", "self"}[st.axis])
	}
	for p.peek().kind == tLBrack {
		pr, err := p.predicate()
		if err != nil {
			return nil, err
		}
		st.preds = append(st.preds, pr)
	}
	return st, nil
}

func (p *parser) predicate() (expr, error) {
	p.next() // "["
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tRBrack); err != nil {
		return nil, err
	}
	return e, nil
}

func cutColon(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return "", s, false
}
