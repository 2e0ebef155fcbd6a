package realize

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/openconfig/ygot/ygot"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound"
)

// carried is the set of schema subtrees a data backend carries (its
// "paths" option): changes at or below them go to the backend.
type carried []*schema.Node

// parseCarried resolves a "paths" option: comma-separated data paths
// without keys ("/netready-sfc:chains, /sites").
func parseCarried(sch *schema.Schema, opt string) (carried, error) {
	var out carried
	for _, p := range strings.Split(opt, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		gp, err := ygot.StringToStructuredPath(p)
		if err != nil {
			return nil, fmt.Errorf("option %s: %q: %w", southbound.PathsOption, p, err)
		}
		s := sch.Root
		for _, el := range gp.GetElem() {
			if len(el.GetKey()) > 0 {
				return nil, fmt.Errorf("option %s: %q: keys are not supported; name the list", southbound.PathsOption, p)
			}
			name := el.GetName()
			if _, after, ok := strings.Cut(name, ":"); ok {
				name = after
			}
			if s = s.Child(name); s == nil {
				return nil, fmt.Errorf("option %s: %q is not in the schema", southbound.PathsOption, p)
			}
		}
		if !s.IsDir() {
			return nil, fmt.Errorf("option %s: %q is not a container or list", southbound.PathsOption, p)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("option %s names no path: a data backend must say which data it carries", southbound.PathsOption)
	}
	return out, nil
}

// position tells where schema node s is relative to the carried subtrees:
// inside one, on the way to one, or elsewhere.
func (c carried) position(s *schema.Node) (inside, above bool) {
	for _, t := range c {
		switch {
		case s.Path == t.Path || strings.HasPrefix(s.Path, t.Path+"/"):
			return true, false
		case strings.HasPrefix(t.Path, s.Path+"/"):
			above = true
		}
	}
	return false, above
}

// changes returns what a data backend must do for a transaction, given
// a walk over its differences (a change set replayed, or tree.Diff):
// deletes of the topmost removed objects (deepest first), then updates of
// every created object and every object whose own leaves changed
// (parents first).
func (c carried) changes(walk func(tree.DiffFunc)) []southbound.DataChange {
	var dels, ups []southbound.DataChange
	walk(func(chain []*tree.Node, o, n *tree.Node) bool {
		s := chain[len(chain)-1].Schema()
		if !s.Config || !s.IsDir() {
			return false
		}
		inside, above := c.position(s)
		if !inside {
			return above
		}
		path := tree.ChainString(chain)
		switch {
		case n == nil:
			dels = append(dels, southbound.DataChange{Op: southbound.DataDelete, Path: path})
			return false // the backend deletes what is below
		case o == nil || string(ownLeaves(o)) != string(ownLeaves(n)):
			ups = append(ups, southbound.DataChange{Op: southbound.DataUpdate, Path: path, JSON: ownLeaves(n)})
		}
		return true
	})
	for i, j := 0, len(dels)-1; i < j; i, j = i+1, j-1 {
		dels[i], dels[j] = dels[j], dels[i]
	}
	return append(dels, ups...)
}

// state returns every object below the carried subtrees of root as
// updates, parents first: what a reconciled backend must hold.
func (c carried) state(root *tree.Node) []southbound.DataChange {
	return c.changes(diffWalk(nil, root))
}

// diffWalk is a walk over the differences of two trees, for the rare
// paths (reconciliation, undo) that have no change set.
func diffWalk(old, cur *tree.Node) func(tree.DiffFunc) {
	return func(fn tree.DiffFunc) { tree.Diff(old, cur, fn) }
}

// ownLeaves is the JSON_IETF object of n's own configuration leaves and
// leaf-lists (set values only; defaults are the backend's to apply).
func ownLeaves(n *tree.Node) []byte {
	b := []byte{'{'}
	for _, k := range n.Children() {
		s := k.Schema()
		if (s.Kind != schema.Leaf && s.Kind != schema.LeafList) || !s.Config || k.IsDefault() {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, s.QualifiedName())
		b = append(b, ':')
		b, _ = tree.AppendJSON(b, k, true, tree.Config)
	}
	return append(b, '}')
}
