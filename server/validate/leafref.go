package validate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/tree"
)

// leafValues returns the values of a leaf or leaf-list instance.
func leafValues(n *tree.Node) []value.Value {
	if n == nil {
		return nil
	}
	if n.Schema().Kind == schema.LeafList {
		return n.Values()
	}
	return []value.Value{n.Value()}
}

// oneValue returns the values of a leaf or leaf-list instance like
// leafValues, a leaf's in one's storage instead of a new slice.
func oneValue(n *tree.Node, one *[1]value.Value) []value.Value {
	if n == nil {
		return nil
	}
	if n.Schema().Kind == schema.LeafList {
		return n.Values()
	}
	one[0] = n.Value()
	return one[:]
}

// keyedTarget returns the path of the list entry a keyed leafref at the
// source path names with value v. Each ".." drops one element of the source
// path (a list entry is one element), then the step names descend through
// containers to the target list, whose key is v.
func keyedTarget(src tree.Path, lr *schema.Leafref, v value.Value) tree.Path {
	p, _ := appendKeyedTarget(nil, nil, src, lr, v)
	return p
}

// appendKeyedTarget is keyedTarget writing the path to p and the key to
// keys, returning both extended (see tree.AppendChainPath).
func appendKeyedTarget(p tree.Path, keys []value.Value, src tree.Path, lr *schema.Leafref, v value.Value) (tree.Path, []value.Value) {
	if lr.Up >= 0 {
		p = append(p, src[:len(src)-lr.Up]...)
	}
	node := schemaRoot(lr.Target)
	if len(p) > 0 {
		node = p[len(p)-1].Schema
	}
	steps := lr.Steps[:len(lr.Steps)-1] // the last step is the key leaf
	for i, name := range steps {
		node = node.Child(name)
		el := tree.Elem{Schema: node}
		if i == len(steps)-1 {
			keys = append(keys, v)
			el.Keys = keys[len(keys)-1 : len(keys) : len(keys)]
		}
		p = append(p, el)
	}
	return p, keys
}

func schemaRoot(n *schema.Node) *schema.Node {
	for n.Parent != nil {
		n = n.Parent
	}
	return n
}

// leafref checks a changed leafref leaf: its new values must name existing
// targets, and keyed references are counted. The source path and each
// keyed target path are built once and serve both the count and the check
// (a bulk Set checks 10,000s of references), in storage the check reuses
// from one reference to the next: only the count's key is allocated.
func (c *check) leafref(chain []*tree.Node, o, n *tree.Node) {
	lr := either(o, n).Schema().Leafref
	src, keys := tree.AppendChainPath(c.refBuf.src[:0], c.refBuf.keys[:0], chain)
	target := c.refBuf.target[:0]
	defer func() { c.refBuf.src, c.refBuf.keys, c.refBuf.target = src, keys, target }()
	if !lr.Keyed {
		for _, v := range leafValues(n) {
			if !c.targetExists(src, lr, v) {
				c.err = danglingRef(src, lr, v)
				return
			}
		}
		return
	}
	for _, v := range oneValue(o, &c.refBuf.one) {
		target, keys = appendKeyedTarget(target[:0], keys, src, lr, v)
		c.delta.add(tree.PathString(target), -1)
	}
	for _, v := range oneValue(n, &c.refBuf.one) {
		target, keys = appendKeyedTarget(target[:0], keys, src, lr, v)
		c.delta.add(tree.PathString(target), +1)
		if tree.Lookup(c.root, target) == nil {
			c.err = danglingRef(src, lr, v)
			return
		}
	}
}

// danglingRef is the error for a leafref at src whose value v names no
// target.
func danglingRef(src tree.Path, lr *schema.Leafref, v value.Value) error {
	return &tree.Error{Kind: tree.KindConflict, Path: tree.PathString(src),
		Msg: fmt.Sprintf("%s does not exist (leafref %s)", value.String(v), lr.Path)}
}

func either(o, n *tree.Node) *tree.Node {
	if n != nil {
		return n
	}
	return o
}

// countRefs adds to d a change of n to the references to every target
// leaf names.
func countRefs(d *Delta, chain []*tree.Node, leaf *tree.Node, n int) {
	if leaf == nil {
		return
	}
	lr := leaf.Schema().Leafref
	src := tree.ChainPath(chain)
	for _, v := range leafValues(leaf) {
		d.add(tree.PathString(keyedTarget(src, lr, v)), n)
	}
}

func (c *check) targetExists(src tree.Path, lr *schema.Leafref, v value.Value) bool {
	if lr.Keyed {
		return tree.Lookup(c.root, keyedTarget(src, lr, v)) != nil
	}
	var base tree.Path
	if lr.Up >= 0 {
		base = src[:len(src)-lr.Up]
	}
	start := tree.Lookup(c.root, base)
	return start != nil && findValue(start, lr.Steps, v)
}

// findValue reports whether any instance reached from n by the step names
// holds v (lists are searched entry by entry).
func findValue(n *tree.Node, steps []string, v value.Value) bool {
	if len(steps) == 0 {
		for _, x := range leafValues(n) {
			if value.Equal(x, v) {
				return true
			}
		}
		return false
	}
	k := n.ChildByName(steps[0])
	if k == nil {
		return false
	}
	if k.Schema().Kind != schema.List {
		return findValue(k, steps[1:], v)
	}
	found := false
	k.Entries(func(e *tree.Node) bool {
		found = findValue(e, steps[1:], v)
		return !found
	})
	return found
}

// checkDeleted refuses deleting list entries that are still referenced.
func (c *check) checkDeleted() error {
	if len(c.deleted) == 0 {
		return nil
	}
	delta := c.delta.sums()
	for _, d := range c.deleted {
		n := c.v.refs[d.path] + delta[d.path]
		if n <= 0 {
			continue
		}
		if srcs := c.v.keyed[d.list]; c.referencesReadable(d.at, srcs) {
			return &tree.Error{Kind: tree.KindConflict, Path: d.path,
				Msg: fmt.Sprintf("cannot delete: still referenced %d time(s) from %s", n, referrers(srcs))}
		}
		// Some references may be where the caller may not read: the
		// refusal cannot be avoided, but it neither counts nor places them.
		return &tree.Error{Kind: tree.KindConflict, Path: d.path, Msg: "cannot delete: still referenced"}
	}
	return nil
}

func referrers(srcs []*schema.Node) string {
	names := make([]string, len(srcs))
	for i, s := range srcs {
		names[i] = s.Path
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// checkRescans re-checks every instance of the non-keyed leafrefs whose
// targets changed. It walks all instances: such leafrefs are rare and this
// runs only when their targets change.
func (c *check) checkRescans() error {
	for target := range c.rescan {
		for _, src := range c.v.scanned[target] {
			if err := c.rescan1(src); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *check) rescan1(src *schema.Node) error {
	var err error
	instances(c.root, nil, schemaSteps(src), func(chain []*tree.Node) bool {
		n := chain[len(chain)-1]
		p := tree.ChainPath(chain)
		for _, v := range leafValues(n) {
			if !c.targetExists(p, src.Leafref, v) {
				at := src.Path // the schema path, for a reference the caller may not read
				if c.mayName(p) {
					at = tree.PathString(p)
				}
				err = &tree.Error{Kind: tree.KindConflict, Path: at,
					Msg: fmt.Sprintf("%s no longer exists (leafref %s)", value.String(v), src.Leafref.Path)}
				return false
			}
		}
		return true
	})
	return err
}

func schemaSteps(s *schema.Node) []*schema.Node {
	var steps []*schema.Node
	for ; s.Parent != nil; s = s.Parent {
		steps = append([]*schema.Node{s}, steps...)
	}
	return steps
}

// instances calls fn with the chain of every instance of the schema path
// steps under n.
func instances(n *tree.Node, chain []*tree.Node, steps []*schema.Node, fn func([]*tree.Node) bool) bool {
	if len(steps) == 0 {
		return fn(chain)
	}
	k := n.Child(steps[0])
	if k == nil {
		return true
	}
	chain = append(chain[:len(chain):len(chain)], k)
	if steps[0].Kind != schema.List {
		return instances(k, chain, steps[1:], fn)
	}
	cont := true
	k.Entries(func(e *tree.Node) bool {
		cont = instances(e, append(chain[:len(chain):len(chain)], e), steps[1:], fn)
		return cont
	})
	return cont
}
