package validate

import (
	"strings"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/gnmipath"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
)

// What a refusal may tell a caller who may not read everything (a check
// with an Authorizer): the paths it names must be readable, and counts
// only what the caller could have counted with a Get. Without an
// Authorizer (a caller who may read and write everything) messages are
// complete.

// hiddenPath stands in a message for an instance path the caller may not
// read.
const hiddenPath = "(a path you may not read)"

// mayName reports whether the caller may see that the node at p exists.
func (c *check) mayName(p tree.Path) bool {
	return c.auth == nil || c.auth.Readable(tree.GNMIElems(p)) != tree.Hidden
}

// referencesReadable reports whether the caller may read every instance
// of the keyed leafrefs srcs that could name the list entry at target:
// only then may a refusal count and name them.
func (c *check) referencesReadable(target tree.Path, srcs []*schema.Node) bool {
	if c.auth == nil {
		return true
	}
	for _, src := range srcs {
		if c.auth.Readable(referrerPattern(target, src)) != tree.Visible {
			return false
		}
	}
	return true
}

// referrerPattern is the pattern of every instance of the keyed leafref
// src that can name the list entry at target: for a relative leafref,
// those under the ancestor the two share (concrete keys); for an absolute
// one, all of them (lists without keys stand for every entry).
func referrerPattern(target tree.Path, src *schema.Node) []*gpb.PathElem {
	shared := 0
	if lr := src.Leafref; lr.Up >= 0 {
		shared = len(target) - (len(lr.Steps) - 1)
	}
	pat := tree.GNMIElems(target[:shared])
	for _, s := range schemaSteps(src)[shared:] {
		pat = append(pat, &gpb.PathElem{Name: s.Name})
	}
	return pat
}

// redactMessage replaces every instance path (one with keys) that msg
// names and the caller may not read by hiddenPath. Rules are free to name
// other objects in their messages (the route-target guard names the VPN
// that still uses a route target); this keeps those of other tenants out.
func (c *check) redactMessage(msg string) string {
	if c.auth == nil {
		return msg
	}
	return redactPaths(msg, func(elems []*gpb.PathElem) bool { return c.auth.Readable(elems) == tree.Hidden })
}

// redactPaths replaces each instance path in msg (a word starting with
// '/' after a space, '(' or a quote, with keys, that gnmipath parses) for
// which hidden is true.
func redactPaths(msg string, hidden func([]*gpb.PathElem) bool) string {
	if !strings.Contains(msg, "/") {
		return msg
	}
	var b strings.Builder
	for i := 0; i < len(msg); {
		if msg[i] != '/' || (i > 0 && msg[i-1] != ' ' && msg[i-1] != '(' && msg[i-1] != '\'') {
			b.WriteByte(msg[i])
			i++
			continue
		}
		end := pathEnd(msg, i)
		tok := msg[i:end]
		if elems, err := gnmipath.Parse(tok); err == nil && strings.Contains(tok, "[") && hidden(elems) {
			tok = hiddenPath
		}
		b.WriteString(tok)
		i = end
	}
	return b.String()
}

// pathEnd returns where the path starting at msg[i] ends: at a space
// outside key values, less punctuation that ends a clause.
func pathEnd(msg string, i int) int {
	depth, end := 0, i
	for ; end < len(msg); end++ {
		switch ch := msg[end]; {
		case ch == '\\' && depth > 0:
			end++
		case ch == '[':
			depth++
		case ch == ']' && depth > 0:
			depth--
		case ch == ' ' && depth == 0:
			return trimClause(msg, i, end)
		}
	}
	return trimClause(msg, i, min(end, len(msg)))
}

func trimClause(msg string, start, end int) int {
	for end > start+1 && strings.IndexByte(";,.:)'", msg[end-1]) >= 0 {
		end--
	}
	return end
}

// redactRuleError keeps what a failed rule names within what the caller
// may read: a path at fault it may not read becomes the instance whose
// change ran the rule (instance, changed by the caller), and instance
// paths in the message are hidden.
func (c *check) redactRuleError(err error, instance string) error {
	te, ok := err.(*tree.Error)
	if !ok || c.auth == nil {
		return err
	}
	if elems, perr := gnmipath.Parse(te.Path); perr != nil || c.auth.Readable(elems) == tree.Hidden {
		te.Path = instance
	}
	te.Msg = c.redactMessage(te.Msg)
	return te
}

// schemaPathIfHidden names, in the *tree.Error err about the instance at
// the end of chain, the instance's schema path if the caller may not read
// it: a must re-evaluated because what it reads changed may fail on
// another tenant's object.
func (c *check) schemaPathIfHidden(err error, chain []*tree.Node) error {
	if te, ok := err.(*tree.Error); ok && c.auth != nil && !c.mayName(tree.ChainPath(chain)) {
		te.Path = chain[len(chain)-1].Schema().Path
	}
	return err
}
