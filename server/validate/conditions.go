package validate

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/openconfig/goyang/pkg/yang"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/server/xpath"
)

// YANG must and when statements (RFC 7950 7.5.3, 7.21.5) are compiled by
// New for every configuration node of the schema, whichever module
// defines them, and evaluated by Check:
//
//   - on every instance that changed and on its ancestors (a must or when
//     reading only its node's subtree needs nothing else);
//   - for expressions that read outside their node's subtree, whenever a
//     node they read changes: on every instance of their node within the
//     subtree they read (Expr.Up levels above the context node), or on
//     every instance in the tree for absolute paths and deref(). That
//     costs one evaluation per instance in that scope: a when "../type =
//     'x'" re-checks one sibling, a must "/system/mtu >= mtu" on a
//     100k-entry list re-checks 100k entries when /system/mtu changes.
//
// goyang keeps a data node's own must and when statements on the
// statement behind Entry.Node (*yang.Container, *yang.List, *yang.Leaf,
// *yang.LeafList: Must, When). A when on an augment, uses, choice or case
// applies to every data node it brings in, with the closest ancestor data
// node as context; goyang does not record which augment or uses a node
// came from (Entry.Augmented holds the augments merged into a target, and
// Entry.Uses only with ParseOptions.StoreUses), so conditions walks the
// statements of each data node and of the augments merged into it,
// through choices, cases and used groupings, as goyang expanded them.
// Musts added by refine are applied the same way; deviations that add
// must statements are not supported (goyang does not apply them either).

// condition is one compiled must or when.
type condition struct {
	id     int
	must   bool
	expr   *xpath.Expr
	anchor *schema.Node // the node whose instances it constrains
	// parentCtx: a when of an augment, uses, choice or case, evaluated
	// with the anchor's parent as the context node.
	parentCtx bool
	msg       string // must: error-message, else a default text
	// scopeDepth is the schema depth of the subtree the expression reads,
	// when it reads outside its anchor's subtree (-1 when it does not).
	scopeDepth int
}

// whenSrc is a when statement inherited from an augment, uses, choice or
// case.
type whenSrc struct {
	v *yang.Value
}

// refineMust is a must added by refine, with the descendant path it
// applies to (relative to the node where the uses is).
type refineMust struct {
	path []string
	m    *yang.Must
	at   yang.Node
}

// compileConditions compiles every must and when of every config node.
// Errors list every expression that cannot be used, with file:line.
func (v *Validator) compileConditions(sch *schema.Schema) error {
	var errs []string
	fail := func(err error) { errs = append(errs, err.Error()) }
	v.conds = map[*schema.Node][]*condition{}
	v.triggers = map[*schema.Node][]*condition{}
	var walk func(p *schema.Node)
	walk = func(p *schema.Node) {
		inherited, refines := childConditions(p)
		for _, rm := range refines {
			n := descendant(p, rm.path)
			if n == nil {
				fail(fmt.Errorf("%s: refine %s: target not found among the data nodes below %s", location(rm.at), strings.Join(rm.path, "/"), p.PathString()))
				continue
			}
			if n.Config {
				v.addMust(n, rm.m, fail)
			}
		}
		for _, n := range p.Children {
			if !n.Config {
				continue // state is not validated
			}
			musts, when := ownConditions(n)
			if when != nil {
				v.addWhen(n, when, false, fail)
			}
			for _, w := range inherited[n.Name] {
				v.addWhen(n, w.v, true, fail)
			}
			for _, m := range musts {
				v.addMust(n, m, fail)
			}
			if n.IsDir() {
				walk(n)
			}
		}
	}
	walk(sch.Root)
	for _, cs := range v.conds {
		// Whens first: a node that may not exist is reported as such.
		sort.SliceStable(cs, func(i, j int) bool { return !cs[i].must && cs[j].must })
	}
	if len(errs) > 0 {
		return fmt.Errorf("validate: %d must/when expression(s) cannot be used:\n  %s", len(errs), strings.Join(errs, "\n  "))
	}
	return nil
}

func location(n yang.Node) string {
	if n != nil && n.Statement() != nil {
		return n.Statement().Location()
	}
	return "unknown location"
}

func descendant(p *schema.Node, path []string) *schema.Node {
	n := p
	for _, name := range path {
		if n = n.Child(unprefix(name)); n == nil {
			return nil
		}
	}
	return n
}

func unprefix(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func (v *Validator) addMust(n *schema.Node, m *yang.Must, fail func(error)) {
	e, err := xpath.Compile(m.Name, xpath.Options{Context: n, Scope: m})
	if err != nil {
		fail(err)
		return
	}
	msg := fmt.Sprintf("must condition %q is not satisfied", m.Name)
	if m.ErrorMessage != nil && m.ErrorMessage.Name != "" {
		msg = m.ErrorMessage.Name
	}
	if m.ErrorAppTag != nil && m.ErrorAppTag.Name != "" {
		msg += " (error-app-tag " + m.ErrorAppTag.Name + ")"
	}
	v.add(&condition{must: true, expr: e, anchor: n, msg: msg})
}

func (v *Validator) addWhen(n *schema.Node, w *yang.Value, parentCtx bool, fail func(error)) {
	ctx := n
	if parentCtx {
		ctx = n.Parent
	}
	e, err := xpath.Compile(w.Name, xpath.Options{Context: ctx, Scope: w})
	if err != nil {
		fail(err)
		return
	}
	v.add(&condition{expr: e, anchor: n, parentCtx: parentCtx,
		msg: fmt.Sprintf("when condition %q is false: the node may not exist", w.Name)})
}

func (v *Validator) add(c *condition) {
	c.id = v.nconds
	v.nconds++
	v.conds[c.anchor] = append(v.conds[c.anchor], c)
	c.scopeDepth = -1
	up := c.expr.Up()
	if up == 0 && !c.parentCtx {
		return // reads only the anchor's subtree: changes there note the anchor
	}
	depth := schemaDepth(c.anchor)
	switch {
	case up < 0:
		c.scopeDepth = 0
	default:
		if c.parentCtx {
			up++
		}
		c.scopeDepth = max(depth-up, 0)
	}
	// Changes inside the anchor's subtree note the anchor itself; only
	// what the expression reads elsewhere triggers re-evaluation. The
	// context of a when inherited from an augment, uses, choice or case is
	// the anchor's parent: everything it reads may lie outside the anchor.
	reads := c.expr.External()
	if c.parentCtx {
		reads = c.expr.Reads()
	}
	for _, r := range reads {
		if r.Config {
			v.triggers[r] = append(v.triggers[r], c)
		}
	}
}

// schemaDepth is the number of elements of an instance path of n.
func schemaDepth(n *schema.Node) int {
	d := 0
	for ; n.Parent != nil; n = n.Parent {
		d++
	}
	return d
}

// ownConditions returns the must and when statements of a data node.
func ownConditions(n *schema.Node) ([]*yang.Must, *yang.Value) {
	if n.Entry == nil {
		return nil, nil
	}
	switch s := n.Entry.Node.(type) {
	case *yang.Container:
		return s.Must, s.When
	case *yang.List:
		return s.Must, s.When
	case *yang.Leaf:
		return s.Must, s.When
	case *yang.LeafList:
		return s.Must, s.When
	}
	return nil, nil
}

// childConditions returns, per child name of p, the when statements its
// children inherit from augments, uses, choices and cases, and the musts
// refine statements add below p.
func childConditions(p *schema.Node) (map[string][]whenSrc, []refineMust) {
	w := &astWalk{whens: map[string][]whenSrc{}}
	for _, src := range sources(p) {
		var inh []whenSrc
		if a, ok := src.(*yang.Augment); ok && a.When != nil {
			inh = append(inh, whenSrc{a.When})
		}
		w.walk(src, inh, nil, 0)
	}
	return w.whens, w.refines
}

// sources returns the statements that define p's children: p's own, and
// the augments merged into it; for the schema root, every module.
func sources(p *schema.Node) []yang.Node {
	if p.Parent != nil {
		if p.Entry == nil {
			return nil
		}
		srcs := []yang.Node{p.Entry.Node}
		for _, a := range p.Entry.Augmented {
			if a != nil && a.Node != nil {
				srcs = append(srcs, a.Node)
			}
		}
		return srcs
	}
	var ms *yang.Modules
	for _, c := range p.Children {
		if c.Entry != nil && c.Entry.Node != nil {
			if m := yang.RootNode(c.Entry.Node); m != nil && m.Modules != nil {
				ms = m.Modules
				break
			}
		}
	}
	if ms == nil {
		return nil
	}
	seen := map[*yang.Module]bool{}
	var mods []*yang.Module
	for _, set := range []map[string]*yang.Module{ms.Modules, ms.SubModules} {
		for _, m := range set {
			if !seen[m] {
				seen[m] = true
				mods = append(mods, m)
			}
		}
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Name < mods[j].Name })
	srcs := make([]yang.Node, len(mods))
	for i, m := range mods {
		srcs[i] = m
	}
	return srcs
}

type astWalk struct {
	whens   map[string][]whenSrc
	refines []refineMust
}

// walk visits the data definitions of statement n as goyang expands them:
// through choices, cases and the groupings of uses. inh are the whens
// inherited so far, prefix the refine path of n's position.
func (w *astWalk) walk(n yang.Node, inh []whenSrc, prefix []string, depth int) {
	if depth > 64 {
		return // groupings cannot recurse in valid YANG; goyang has refused those
	}
	var (
		conts   []*yang.Container
		leaves  []*yang.Leaf
		llists  []*yang.LeafList
		lists   []*yang.List
		choices []*yang.Choice
		cases   []*yang.Case
		uses    []*yang.Uses
	)
	switch s := n.(type) {
	case *yang.Module:
		conts, leaves, llists, lists, choices, uses = s.Container, s.Leaf, s.LeafList, s.List, s.Choice, s.Uses
	case *yang.Container:
		conts, leaves, llists, lists, choices, uses = s.Container, s.Leaf, s.LeafList, s.List, s.Choice, s.Uses
	case *yang.List:
		conts, leaves, llists, lists, choices, uses = s.Container, s.Leaf, s.LeafList, s.List, s.Choice, s.Uses
	case *yang.Augment:
		conts, leaves, llists, lists, choices, uses = s.Container, s.Leaf, s.LeafList, s.List, s.Choice, s.Uses
		cases = s.Case
	case *yang.Grouping:
		conts, leaves, llists, lists, choices, uses = s.Container, s.Leaf, s.LeafList, s.List, s.Choice, s.Uses
	case *yang.Case:
		conts, leaves, llists, lists, choices, uses = s.Container, s.Leaf, s.LeafList, s.List, s.Choice, s.Uses
	case *yang.Choice:
		conts, leaves, llists, lists, cases = s.Container, s.Leaf, s.LeafList, s.List, s.Case
	}
	add := func(name string) {
		if len(inh) > 0 {
			w.whens[name] = append(w.whens[name], inh...)
		}
	}
	for _, c := range conts {
		add(c.Name)
	}
	for _, l := range leaves {
		add(l.Name)
	}
	for _, l := range llists {
		add(l.Name)
	}
	for _, l := range lists {
		add(l.Name)
	}
	with := func(v *yang.Value) []whenSrc {
		if v == nil {
			return inh
		}
		return append(inh[:len(inh):len(inh)], whenSrc{v})
	}
	for _, c := range choices {
		w.walk(c, with(c.When), prefix, depth+1)
	}
	for _, c := range cases {
		w.walk(c, with(c.When), prefix, depth+1)
	}
	for _, u := range uses {
		for _, r := range u.Refine {
			for _, m := range r.Must {
				w.refines = append(w.refines, refineMust{path: append(prefix[:len(prefix):len(prefix)], dataPath(r.Name)...), m: m, at: r})
			}
		}
		g := yang.FindGrouping(u, u.Name, map[string]bool{})
		if g == nil {
			continue // goyang has reported it
		}
		w.walk(g, with(u.When), prefix, depth+1)
	}
}

// dataPath splits a descendant schema node identifier.
func dataPath(s string) []string {
	var out []string
	for _, el := range strings.Split(strings.Trim(s, "/ "), "/") {
		if el != "" {
			out = append(out, strings.TrimSpace(el))
		}
	}
	return out
}

// condRun is an anchor instance noted during the walk.
type condRun struct {
	path tree.Path
}

// trigger is a condition to re-evaluate on every instance of its anchor
// within the subtree at scope, because something it reads changed there.
type trigger struct {
	cond  *condition
	scope tree.Path
}

// noteConditions records, for a changed node, the anchor instances among
// it and its ancestors, and the conditions that read it.
func (c *check) noteConditions(chain []*tree.Node) {
	if c.condRuns == nil {
		c.condRuns = map[string]condRun{}
		c.triggered = map[string]trigger{}
		c.condNoted = map[*tree.Node]bool{}
	}
	for i, n := range chain {
		s := n.Schema()
		if len(c.v.conds[s]) == 0 || (s.Kind == schema.List && !isEntry(chain, i)) || c.condNoted[n] {
			continue
		}
		c.condNoted[n] = true
		sub := chain[:i+1]
		key := tree.ChainString(sub)
		if _, ok := c.condRuns[key]; !ok {
			c.condRuns[key] = condRun{path: tree.ChainPath(sub)}
		}
	}
	trig := c.v.triggers[chain[len(chain)-1].Schema()]
	if len(trig) == 0 {
		return
	}
	p := tree.ChainPath(chain)
	for _, cd := range trig {
		scope := p[:min(cd.scopeDepth, len(p))]
		key := strconv.Itoa(cd.id) + " " + tree.PathString(scope)
		if _, ok := c.triggered[key]; !ok {
			c.triggered[key] = trigger{cond: cd, scope: scope}
		}
	}
}

// condJob is one anchor instance and the conditions to evaluate on it.
type condJob struct {
	chain []*tree.Node
	conds []*condition
}

// checkConditions evaluates the noted and triggered conditions on the
// candidate, instances in path order, whens before musts.
func (c *check) checkConditions() error {
	if len(c.condRuns) == 0 && len(c.triggered) == 0 {
		return nil
	}
	jobs := map[string]*condJob{}
	add := func(chain []*tree.Node, conds []*condition) {
		key := tree.ChainString(chain)
		j := jobs[key]
		if j == nil {
			j = &condJob{chain: chain}
			jobs[key] = j
		}
		for _, cd := range conds {
			if !hasCond(j.conds, cd) {
				j.conds = append(j.conds, cd)
			}
		}
	}
	for _, r := range c.condRuns {
		ch := Chain(c.root, r.path)
		if ch == nil {
			continue // deleted
		}
		add(ch, c.v.conds[ch[len(ch)-1].Schema()])
	}
	for _, t := range c.triggered {
		base, prefix := c.root, []*tree.Node(nil)
		if len(t.scope) > 0 {
			if prefix = Chain(c.root, t.scope); prefix == nil {
				continue // the whole scope went away
			}
			base = prefix[len(prefix)-1]
		}
		steps := schemaSteps(t.cond.anchor)
		if len(t.scope) > len(steps) {
			continue
		}
		instances(base, prefix, steps[len(t.scope):], func(ch []*tree.Node) bool {
			add(append([]*tree.Node(nil), ch...), []*condition{t.cond})
			return true
		})
	}
	keys := make([]string, 0, len(jobs))
	for k := range jobs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		j := jobs[k]
		sort.Slice(j.conds, func(a, b int) bool {
			x, y := j.conds[a], j.conds[b]
			if x.must != y.must {
				return !x.must
			}
			return x.id < y.id
		})
		for _, cd := range j.conds {
			if err := c.evalCondition(cd, j.chain, k); err != nil {
				return c.schemaPathIfHidden(err, j.chain)
			}
		}
	}
	return nil
}

func hasCond(cs []*condition, c *condition) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// evalCondition evaluates one condition on the anchor instance at the end
// of chain (from the candidate).
func (c *check) evalCondition(cd *condition, chain []*tree.Node, path string) error {
	n := chain[len(chain)-1]
	in := xpath.Input{Root: c.root, Chain: chain}
	count := 1
	switch {
	case !cd.must && !n.HasConfig():
		// A non-presence container holding only defaults, or a default
		// leaf: it exists only implicitly, and not where its when is
		// false (RFC 7950 7.21.5).
		return nil
	case cd.parentCtx:
		cut := 1
		if cd.anchor.Kind == schema.List {
			cut = 2
		}
		in.Chain = chain[:len(chain)-cut]
	case !cd.must:
		in.Dummy = true
	case cd.anchor.Kind == schema.LeafList:
		count = len(n.Values())
	}
	for i := 0; i < count; i++ {
		in.Index = i
		ok, err := cd.expr.Bool(in)
		if err != nil {
			code := tree.KindInternal
			if errors.Is(err, xpath.ErrTooExpensive) {
				code = tree.KindExhausted
			}
			kind := "when"
			if cd.must {
				kind = "must"
			}
			return &tree.Error{Kind: code, Path: path, Msg: fmt.Sprintf("cannot evaluate %s %q: %v", kind, cd.expr.String(), err)}
		}
		if !ok {
			return &tree.Error{Kind: tree.KindConflict, Path: path, Msg: cd.msg}
		}
	}
	return nil
}
