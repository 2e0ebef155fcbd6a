package schema

import (
	"fmt"
	"strings"
)

// Leafref is the resolved path of a leafref leaf.
type Leafref struct {
	Path string // the path statement as written
	// Up is the number of ".." steps of a relative path; -1 for an absolute one.
	Up int
	// Steps are the node names after the ".." steps, unqualified.
	Steps  []string
	Target *Node
	// Keyed reports the common, cheap form: the target is the only key of
	// its list and no other list lies between the path's starting point and
	// that list. A reference then names exactly one list entry, which the
	// validator finds by key and counts in its reference index.
	Keyed bool
	// Required is false for require-instance false: no existence check.
	Required bool
}

// TargetList is the list whose key a Keyed leafref names.
func (l *Leafref) TargetList() *Node { return l.Target.Parent }

// resolveLeafrefs resolves the path of every leafref collected while
// building, in a second pass because targets may be defined later.
func (b *builder) resolveLeafrefs(root *Node) error {
	for _, n := range b.sch.leafrefs {
		lr, err := resolveLeafref(root, n)
		if err != nil {
			return fmt.Errorf("schema: %s: leafref %s: %w", n.Location(), n.Path, err)
		}
		n.Leafref = lr
	}
	// Chains of leafrefs must end at a non-leafref type.
	for _, n := range b.sch.leafrefs {
		seen := map[*Node]bool{}
		for t := n; t.Leafref != nil; t = t.Leafref.Target {
			if seen[t] {
				return fmt.Errorf("schema: %s: leafref cycle through %s", n.Location(), t.Path)
			}
			seen[t] = true
		}
	}
	return nil
}

func resolveLeafref(root, n *Node) (*Leafref, error) {
	p := strings.TrimSpace(n.Type.Path)
	if strings.ContainsAny(p, "[]") {
		return nil, fmt.Errorf("path %q: predicates are not supported", p)
	}
	lr := &Leafref{Path: p, Up: -1, Required: !n.Type.OptionalInstance}
	start := root
	if !strings.HasPrefix(p, "/") {
		lr.Up = 0
		start = n
	}
	for _, step := range strings.Split(strings.Trim(p, "/"), "/") {
		switch {
		case step == "..":
			if len(lr.Steps) > 0 {
				return nil, fmt.Errorf("path %q: '..' after a name is not supported", p)
			}
			if start.Parent == nil {
				return nil, fmt.Errorf("path %q climbs above the root", p)
			}
			lr.Up++
			start = start.Parent
		case step == "" || step == ".":
			return nil, fmt.Errorf("path %q: empty or '.' step is not supported", p)
		default:
			lr.Steps = append(lr.Steps, unprefix(step))
		}
	}
	t := start
	for _, s := range lr.Steps {
		c := t.children[s]
		if c == nil {
			return nil, fmt.Errorf("path %q: no node %q under %s", p, s, t.PathString())
		}
		t = c
	}
	if t.Kind != Leaf && t.Kind != LeafList {
		return nil, fmt.Errorf("path %q names a %s, not a leaf", p, t.Kind)
	}
	lr.Target = t
	lr.Keyed = isKeyedRef(start, t)
	return lr, nil
}

// isKeyedRef reports whether the walk from start to the target t passes only
// containers before t's list, and t is that list's single key.
func isKeyedRef(start, t *Node) bool {
	l := t.Parent
	if l == nil || l.Kind != List || len(l.Keys) != 1 || l.Keys[0] != t {
		return false
	}
	for a := l.Parent; a != start; a = a.Parent {
		if a == nil || a.Kind != Container {
			return false
		}
	}
	return true
}

func unprefix(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}
