// Package validate checks a candidate tree before it is committed: the
// structural YANG constraints ygot leaves to servers (mandatory, choice,
// min/max-elements, leafref integrity), the must and when statements of
// every module (compiled with server/xpath, see conditions.go and
// docs/xpath.md) and semantic rules registered per schema node. It only looks at what changed between the committed tree and
// the candidate (tree.Diff), so a one-leaf Set costs the same on a tree of
// ten objects or of a hundred thousand. Referential integrity in the other
// direction (deleting something still referenced) uses a reference-count
// index kept by the Validator, updated as transactions commit.
//
// Value constraints (types, ranges, patterns, keys) are checked earlier,
// when payloads are decoded (see tree.DecodeJSON).
package validate

import (
	"fmt"
	"slices"
	"strings"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/tree"
)

// Rule is a semantic check on one instance of a schema node (a list entry
// or container), run whenever anything at or below that instance changes.
// It returns a *tree.Error (FailedPrecondition unless it says otherwise) or
// nil.
type Rule struct {
	Path  string // schema path of the node, e.g. /tenants/tenant/vpns/vpn
	Name  string // short name for logs and docs
	Check func(root *tree.Node, chain []*tree.Node) error
	// Guard, when set, also runs for each instance the transaction
	// created, changed or deleted, with the instance as committed (was,
	// in old; nil when created) and as it will be (is, in root; nil when
	// deleted). It is for objects other objects rely on without a leafref
	// (a grant a VPN uses): comparing the two versions tells what was
	// taken away, so only its users need re-checking, and nothing when
	// something is only added.
	Guard func(old, root *tree.Node, was, is []*tree.Node) error
	// Reads, when set, are the schema paths below Path that Check reads
	// (relative, no prefixes: "bindings/binding/ip-address"), so that a
	// change elsewhere below the object does not run it: taking one of
	// 10,000 bindings down need not recheck every binding's address. A
	// change to a read node, below one, or to an ancestor of one (an
	// entry holding it created or deleted) runs it, as does the object's
	// own creation. Unset: every change below the object runs it.
	Reads []string
}

// boundRule is a Rule with its Reads resolved against the schema.
type boundRule struct {
	Rule
	order int                   // position among the rules given to New
	read  map[*schema.Node]bool // the nodes Reads names; nil: every change concerns the rule
	above map[*schema.Node]bool // their ancestors below the rule's node
}

// concerns reports whether a change at the end of rest (the chain below
// the rule's object; empty for the object itself) can change what the
// rule's Check sees.
func (r *boundRule) concerns(rest []*tree.Node) bool {
	if r.read == nil || len(rest) == 0 {
		return true
	}
	for _, n := range rest {
		if r.read[n.Schema()] {
			return true
		}
	}
	return r.above[rest[len(rest)-1].Schema()]
}

// bind resolves r's Reads below s.
func bind(s *schema.Node, r Rule, order int) (*boundRule, error) {
	b := &boundRule{Rule: r, order: order}
	if r.Reads == nil {
		return b, nil
	}
	b.read, b.above = map[*schema.Node]bool{}, map[*schema.Node]bool{}
	for _, p := range r.Reads {
		n := s
		for _, name := range strings.Split(p, "/") {
			if n = n.Child(name); n == nil {
				return nil, fmt.Errorf("validate: rule %s reads %s, which is not below %s", r.Name, p, r.Path)
			}
		}
		b.read[n] = true
		for a := n.Parent; a != nil && a != s; a = a.Parent {
			b.above[a] = true
		}
	}
	return b, nil
}

// Validator validates transactions against one schema. It is used by the
// single writer goroutine: not safe for concurrent use.
type Validator struct {
	sch   *schema.Schema
	rules map[*schema.Node][]*boundRule
	// keyed lists, per target list, the leafrefs that name its entries by key.
	keyed map[*schema.Node][]*schema.Node
	// scanned lists, per target leaf, the leafrefs re-checked by scanning.
	scanned map[*schema.Node][]*schema.Node
	refs    map[string]int // target entry path -> number of references
	// must and when conditions (see conditions.go): per anchor node, and
	// per node read outside the anchor's subtree.
	conds    map[*schema.Node][]*condition
	triggers map[*schema.Node][]*condition
	nconds   int
}

// New returns a validator for sch with the given rules. It fails if a rule
// names a path that is not a container or list in the schema, or if a
// must or when statement of a configuration node cannot be compiled (the
// error lists each one with its file:line).
func New(sch *schema.Schema, rules []Rule) (*Validator, error) {
	v := &Validator{
		sch:     sch,
		rules:   map[*schema.Node][]*boundRule{},
		keyed:   map[*schema.Node][]*schema.Node{},
		scanned: map[*schema.Node][]*schema.Node{},
		refs:    map[string]int{},
	}
	for i, r := range rules {
		s := sch.Find(r.Path)
		if s == nil || !s.IsDir() || s.Parent == nil { // the root has no instance rules could run on
			return nil, fmt.Errorf("validate: rule %s: %s is not a container or list in the schema", r.Name, r.Path)
		}
		if r.Check == nil && r.Guard == nil {
			return nil, fmt.Errorf("validate: rule %s has neither Check nor Guard", r.Name)
		}
		b, err := bind(s, r, i)
		if err != nil {
			return nil, err
		}
		v.rules[s] = append(v.rules[s], b)
	}
	for _, l := range sch.Leafrefs() {
		if !l.Config || !l.Leafref.Required {
			continue
		}
		if l.Leafref.Keyed {
			t := l.Leafref.TargetList()
			v.keyed[t] = append(v.keyed[t], l)
		} else {
			v.scanned[l.Leafref.Target] = append(v.scanned[l.Leafref.Target], l)
		}
	}
	if err := v.compileConditions(sch); err != nil {
		return nil, err
	}
	return v, nil
}

// Authorizer is one caller's rights, a value carried by the request (not
// a closure over the caller's context). MayChange judges one change of a
// transaction (chain, old and cur as in tree.DiffFunc): every changed
// leaf, and every object created or deleted. It returns an error (a
// *tree.Error with PermissionDenied) to refuse the whole transaction.
// Readable says what the caller may read at a data path or pattern ('*'
// keys, lists without keys): Visible only when all of it. Errors name and
// count only what is readable, and wildcard deletes expand only over it,
// so a refusal never tells what the caller may not see.
type Authorizer interface {
	MayChange(chain []*tree.Node, old, cur *tree.Node) error
	Readable(path []*gpb.PathElem) tree.Visibility
}

// Delta is what a validated transaction changes in the validator's index;
// Commit applies it once the transaction is durable.
type Delta struct {
	// refs are the reference counts' changes, one per reference given or
	// taken, in the order the walk met them (a key may come more than
	// once). A list, not a map: a bulk Set gives 20,000 references, and
	// gathering them in a map of its own rehashed every key as the map
	// grew, then hashed each again to apply it; only a Set deleting
	// referenced entries needs the sums per key (sums).
	refs []refChange
}

// refChange adds n (+1 or -1) to the references to the entry at path.
type refChange struct {
	path string
	n    int
}

// add lists a change of n to the references to path. The list doubles as
// it grows: append grows a long slice by a quarter, which copied a bulk
// Set's 20,000 changes over and over (2.4 MB more per Set than the map).
func (d *Delta) add(path string, n int) {
	if len(d.refs) == cap(d.refs) {
		d.refs = slices.Grow(d.refs, max(len(d.refs), 16))
	}
	d.refs = append(d.refs, refChange{path, n})
}

// sums returns the delta's net change per path.
func (d *Delta) sums() map[string]int {
	m := make(map[string]int, len(d.refs))
	for _, r := range d.refs {
		m[r.path] += r.n
	}
	return m
}

// Reset rebuilds the reference index from a whole tree (at start-up).
func (v *Validator) Reset(root *tree.Node) {
	v.refs = map[string]int{}
	empty := tree.NewRoot(v.sch)
	d := &Delta{}
	tree.Diff(empty, root, func(chain []*tree.Node, _, n *tree.Node) bool {
		if s := n.Schema(); s.Leafref != nil && s.Leafref.Keyed && s.Config {
			countRefs(d, chain, n, +1)
		}
		return n.Schema().Config
	})
	v.Commit(d)
}

// Commit applies a delta returned by Check: each count changes by the
// delta's net change for its path, and a count that drops to zero or
// below goes. Only a change taking a reference away can drop one, so
// only their paths are looked at again.
func (v *Validator) Commit(d *Delta) {
	if d == nil {
		return
	}
	for _, r := range d.refs {
		v.refs[r.path] += r.n
	}
	for _, r := range d.refs {
		if r.n < 0 && v.refs[r.path] <= 0 {
			delete(v.refs, r.path)
		}
	}
}

// check accumulates what one Check call finds.
type check struct {
	v        *Validator
	auth     Authorizer
	authErr  error
	old      *tree.Node
	root     *tree.Node
	delta    *Delta
	deleted  []deletedEntry
	rescan   map[*schema.Node]bool
	ruleRuns map[string]*ruleRun
	runs     []*ruleRun              // the same runs, in the order the walk noted them
	noted    map[*tree.Node]*ruleRun // the run of each object seen, nil when deleted
	err      error
	// must/when work: anchor instances to evaluate, by path; and
	// conditions triggered by what they read, by condition and scope.
	condRuns  map[string]condRun
	triggered map[string]trigger
	condNoted map[*tree.Node]bool
	refBuf    refBuf
	whole     wholeObject
}

// wholeObject is the outermost object the walk is inside of that the
// transaction created or deleted whole (node nil: none).
type wholeObject struct {
	node   *tree.Node
	depth  int  // its chain's length
	exists bool // created (in the new tree) rather than deleted
}

// inside reports whether the change at the end of chain lies strictly
// below w, on the same side (created below created, deleted below
// deleted).
func (w *wholeObject) inside(chain []*tree.Node, exists bool) bool {
	return w.node != nil && len(chain) > w.depth && chain[w.depth-1] == w.node && exists == w.exists
}

// refBuf is the storage leafref reuses for the paths of each reference.
type refBuf struct {
	src, target tree.Path
	keys        []value.Value
	one         [1]value.Value
}

type deletedEntry struct {
	path string
	list *schema.Node
	at   tree.Path // the entry, for a caller who may not read everything
}

type ruleRun struct {
	path    string // the object's path
	chain   []*tree.Node
	deleted bool // not in the candidate: only Guards run
	rules   []*boundRule
}

// Check validates the candidate cs.New against the committed tree cs.Old,
// reading only what the transaction changed (cs). It
// returns the first violation found (a *tree.Error) and, when valid, the
// index delta to commit with the transaction. With auth set, every change
// is also authorized; a refusal wins over any validation error, so a user
// learns nothing about data he may not write.
func (v *Validator) Check(cs *changeset.Set, auth Authorizer) (*Delta, error) {
	c := &check{v: v, auth: auth, old: cs.Old, root: cs.New, delta: &Delta{}, rescan: map[*schema.Node]bool{}, ruleRuns: map[string]*ruleRun{}, noted: map[*tree.Node]*ruleRun{}}
	cs.Walk(c.visit)
	if c.authErr != nil {
		return nil, c.authErr
	}
	if c.err != nil {
		return nil, c.err
	}
	// The root is never created or changed as an object, so its own
	// mandatory nodes (and those of absent top-level containers) are
	// checked here; it has only a handful of children.
	if err := c.mandatoryAtRoot(); err != nil {
		return nil, err
	}
	for _, step := range []func() error{c.checkDeleted, c.checkRescans, c.checkConditions, c.runRules} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return c.delta, nil
}

func (c *check) visit(chain []*tree.Node, o, n *tree.Node) bool {
	if c.authErr != nil {
		return false
	}
	x := n
	if x == nil {
		x = o
	}
	s := x.Schema()
	if !s.Config {
		return false
	}
	if c.auth != nil && (!s.IsDir() || o == nil || n == nil) {
		if c.authErr = c.auth.MayChange(chain, o, n); c.authErr != nil {
			return false
		}
	}
	if c.err != nil {
		return c.auth != nil // keep walking only to authorize the rest
	}
	// An object whose copy changed only because something below it did is
	// noted through that descendant; noting it here would re-run its rules
	// for a value written back unchanged.
	if !s.IsDir() || o == nil || n == nil {
		c.noteRules(chain, n != nil)
		if c.v.nconds > 0 {
			c.noteConditions(chain)
		}
	}
	if s.Leafref != nil && s.Leafref.Required {
		c.leafref(chain, o, n)
	}
	if t := c.v.scanned[s]; len(t) > 0 && o != nil {
		c.rescan[s] = true
	}
	if !s.IsDir() {
		if c.err == nil {
			c.err = c.leafChange(chain, o, n)
		}
		return false
	}
	if n == nil {
		if s.Kind == schema.List {
			c.entryDeleted(chain)
			// The parent's own check covers min-elements for nested
			// lists, but a top-level list's parent (the root) is never
			// checked.
			c.err = c.listSize(chain)
		}
		return c.err == nil // descend: deleted leafrefs release their references
	}
	if err := c.structure(chain, n); err != nil {
		c.err = err
		return false
	}
	if s.Kind == schema.List && (o == nil) != (n == nil) {
		c.err = c.listSize(chain)
	}
	return c.err == nil
}

// noteRules records the rule-bearing ancestors of a changed node (and the
// node itself) so each instance's rules run once after the walk. exists
// tells that the changed node is in the new tree, and with it every object
// of chain (Diff's chains hold the new version of each node that has one).
//
// Below an object created or deleted whole, the walk (parents first) has
// already noted every rule a change there concerns: the whole object's
// rules, its ancestors' rules that concern anything below it (what a rule
// reads below the object has the object among its ancestors), and the
// rules of every object between it and the change, each created or
// deleted whole too. Only a nested object's own rules are left to note;
// a leaf there notes nothing. A bulk Set creates 30,000 objects and
// 90,000 leaves in one tenant: the rules of the tenant's ancestors are
// looked at once, not for every leaf.
func (c *check) noteRules(chain []*tree.Node, exists bool) {
	from, last := 0, chain[len(chain)-1]
	switch {
	case c.whole.inside(chain, exists):
		if !last.Schema().IsDir() {
			return
		}
		from = len(chain) - 1
	case last.Schema().IsDir(): // noted only when created or deleted whole
		c.whole = wholeObject{node: last, depth: len(chain), exists: exists}
	}
	for i := from; i < len(chain); i++ {
		n := chain[i]
		rules := c.v.rules[n.Schema()]
		if len(rules) == 0 || (n.Schema().Kind == schema.List && !isEntry(chain, i)) {
			continue
		}
		for _, r := range rules {
			if r.concerns(chain[i+1:]) {
				c.addRun(chain[:i+1], r, exists)
			}
		}
	}
}

// addRun notes that rule r must run on the object at the end of sub. Many
// changes share an object: its path is derived once, and it is looked up
// in the new tree only when the change does not tell that it exists.
func (c *check) addRun(sub []*tree.Node, r *boundRule, exists bool) {
	n := sub[len(sub)-1]
	run, seen := c.noted[n]
	if !seen {
		key := tree.ChainString(sub) // the old and the new copy of an object share it
		if run = c.ruleRuns[key]; run == nil {
			// tree.Diff gives every change its own chain, never written
			// again (changeset keeps them too): keep it, capped so that
			// nobody appends over it, rather than copy it per object.
			run = &ruleRun{path: key, chain: sub[:len(sub):len(sub)]}
			run.deleted = !exists && tree.Lookup(c.root, tree.ChainPath(sub)) == nil
			c.ruleRuns[key] = run
			c.runs = append(c.runs, run)
		}
		c.noted[n] = run
	}
	if (run.deleted && r.Guard == nil) || slices.Contains(run.rules, r) {
		return // deleted: nothing left to check
	}
	// Keep the rules in the order they were given, whichever change
	// noted them first, so the same transaction reports the same error.
	i, _ := slices.BinarySearchFunc(run.rules, r.order, func(x *boundRule, o int) int { return x.order - o })
	run.rules = slices.Insert(run.rules, i, r)
}

// isEntry reports whether chain[i] is a list entry (a list node is followed
// in a chain by its entry, which has the same schema).
func isEntry(chain []*tree.Node, i int) bool {
	return i > 0 && chain[i-1].Schema() == chain[i].Schema()
}

func (c *check) entryDeleted(chain []*tree.Node) {
	s := chain[len(chain)-1].Schema()
	if len(c.v.keyed[s]) > 0 {
		d := deletedEntry{path: tree.ChainString(chain), list: s}
		if c.auth != nil {
			d.at = tree.ChainPath(chain)
		}
		c.deleted = append(c.deleted, d)
	}
}

// runRules runs the noted rules. A refused transaction reports the error
// of the object whose path sorts first (then of its first rule), so that
// the same transaction always reports the same error. Sorting the paths
// of every run costs a bulk Set's 10,000 interfaces ~10 ms, while most
// transactions are accepted: the runs go in the order the walk noted
// them, and only once one fails are those it has not reached yet and
// whose paths sort before it run, sorted, to find the first error. Each
// rule still runs once.
func (c *check) runRules() error {
	for i, run := range c.runs {
		err := c.runOne(run)
		if err == nil {
			continue
		}
		var before []*ruleRun
		for _, r := range c.runs[i+1:] {
			if r.path < run.path {
				before = append(before, r)
			}
		}
		slices.SortFunc(before, func(a, b *ruleRun) int { return strings.Compare(a.path, b.path) })
		for _, r := range before {
			if e := c.runOne(r); e != nil {
				return e
			}
		}
		return err
	}
	return nil
}

// runOne runs the rules of one object, in the order they were given, up
// to the first error.
func (c *check) runOne(run *ruleRun) error {
	// Re-read the instance from the candidate: the chain holds the nodes
	// Diff saw, which may be the old ones for a deleted descendant.
	p := tree.ChainPath(run.chain)
	chain := Chain(c.root, p)
	for _, r := range run.rules {
		var err error
		if r.Check != nil && chain != nil {
			err = r.Check(c.root, chain)
		}
		if r.Guard != nil && err == nil {
			err = r.Guard(c.old, c.root, Chain(c.old, p), chain)
		}
		if err != nil {
			return c.redactRuleError(asConflict(err, run.path), run.path)
		}
	}
	return nil
}

func asConflict(err error, path string) error {
	if te, ok := err.(*tree.Error); ok {
		if te.Kind == tree.KindUnset {
			te.Kind = tree.KindConflict
		}
		return te
	}
	return &tree.Error{Kind: tree.KindConflict, Path: path, Msg: err.Error()}
}

// Chain returns the chain of nodes from the root's child to the node at p
// in root (a list followed by its entry), or nil if it does not exist.
func Chain(root *tree.Node, p tree.Path) []*tree.Node {
	var chain []*tree.Node
	cur := root
	for _, el := range p {
		if cur = cur.Child(el.Schema); cur == nil {
			return nil
		}
		chain = append(chain, cur)
		if el.Schema.Kind == schema.List && el.Keys != nil {
			if cur = cur.Entry(tree.KeyString(el.Keys)); cur == nil {
				return nil
			}
			chain = append(chain, cur)
		}
	}
	return chain
}

// Inverse returns the delta that undoes d, for a transaction that passed
// validation but could not be stored.
func (d *Delta) Inverse() *Delta {
	inv := &Delta{refs: make([]refChange, len(d.refs))}
	for i, r := range d.refs {
		inv.refs[i] = refChange{path: r.path, n: -r.n}
	}
	return inv
}
