package value

import (
	"slices"

	"github.com/openconfig/goyang/pkg/yang"
)

// RepairPatterns recomputes the patterns (Pattern, POSIXPattern) and union
// member lists of every leaf and leaf-list type under e from the YANG
// statements, in place. Call it once on each module entry after
// yang.ToEntry and before the types are used concurrently.
//
// Why: goyang v1.6.3 accumulates the patterns of a typedef chain into
// YangType.Pattern, but does so by appending to a shallow copy of the base
// type's slice (types.go, Type.resolve: `y := *td.YangType` then
// `y.Pattern = append(y.Pattern, ...)`). When the base slice has spare
// capacity (3 accumulated patterns give capacity 4), two types restricting
// the same base share the backing array and the last one resolved overwrites
// the other's own pattern: `leaf x { type b { pattern '.*x.*'; } }` ends up
// enforcing the pattern of some unrelated leaf y. Union members that become
// equal through this are also merged away. The same applies to
// POSIXPattern.
//
// goyang also drops "modifier invert-match" (RFC 7950 9.4.6), which would
// make an inverted pattern be enforced as a positive one. RepairPatterns
// records such patterns with InvertMatchPrefix, which this package honours.
//
// Types replaced by a deviation (deviate replace type) are left as goyang
// built them, since the deviation's type statement is not reachable from the
// entry.
func RepairPatterns(e *yang.Entry) {
	r := repairer{entries: map[*yang.Entry]bool{}, types: map[*yang.Type]bool{}}
	r.entry(e)
}

type repairer struct {
	entries map[*yang.Entry]bool
	types   map[*yang.Type]bool
}

func (r *repairer) entry(e *yang.Entry) {
	if e == nil || r.entries[e] {
		return
	}
	r.entries[e] = true
	var t *yang.Type
	switch n := e.Node.(type) {
	case *yang.Leaf:
		t = n.Type
	case *yang.LeafList:
		t = n.Type
	}
	if t != nil && t.YangType != nil && t.YangType == e.Type {
		r.typ(t)
	}
	for _, c := range e.Dir {
		r.entry(c)
	}
	if e.RPC != nil {
		r.entry(e.RPC.Input)
		r.entry(e.RPC.Output)
	}
}

// typ repairs the YangType of type statement t, after the statement it
// derives from (YangType.Base: the type statement of the typedef t names).
func (r *repairer) typ(t *yang.Type) {
	if t == nil || t.YangType == nil || r.types[t] {
		return
	}
	r.types[t] = true
	y := t.YangType
	var patterns, posix []string
	var members []*yang.YangType
	if b := y.Base; b != nil && b != t {
		r.typ(b)
		if by := b.YangType; by != nil {
			patterns = slices.Clone(by.Pattern)
			posix = slices.Clone(by.POSIXPattern)
			members = by.Type
		}
	}
	for _, p := range t.Pattern {
		s := p.Name
		if p.Modifier != nil && p.Modifier.Name == "invert-match" {
			s = InvertMatchPrefix + s
		}
		patterns = appendNew(patterns, s)
	}
	if exts, err := yang.MatchingExtensions(t, "openconfig-extensions", "posix-pattern"); err == nil {
		for _, ext := range exts {
			posix = appendNew(posix, ext.Argument)
		}
	}
	if len(t.Type) > 0 { // a union statement lists its own members
		members = make([]*yang.YangType, 0, len(t.Type))
		for _, sub := range t.Type {
			r.typ(sub)
			if sub.YangType != nil {
				members = append(members, sub.YangType)
			}
		}
	}
	// Only write what changed: built-in types are shared process-wide.
	if !slices.Equal(y.Pattern, patterns) {
		y.Pattern = slices.Clip(patterns)
	}
	if !slices.Equal(y.POSIXPattern, posix) {
		y.POSIXPattern = slices.Clip(posix)
	}
	if y.Kind == yang.Yunion && !slices.Equal(y.Type, members) {
		y.Type = slices.Clip(members)
	}
}

// appendNew appends s unless present: a restatement of an inherited pattern
// adds nothing (patterns are ANDed).
func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
