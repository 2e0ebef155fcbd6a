// Package live puts operational state that is read from the network when
// a client asks (traffic counters) into the snapshot a Get or a
// subscription answers from.
//
// Such state changes with every packet. Written into the tree as
// transactions it would fill the commit log, load the single writer and
// wake every ON_CHANGE subscriber for nothing, so it never enters the
// datastore: a reader whose paths reach it gets a private copy of its
// snapshot (copy-on-write: only the objects read are copied) with the
// state just read, and everything downstream — encodings, depth,
// authorization, use_models — works on that copy as on any snapshot.
// Readers whose paths do not reach it are answered from the snapshot as
// it is, without asking anyone.
package live

import (
	"context"
	"strings"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/server/tree"
)

// Source reads live state (the southbound engine, from its drivers).
type Source interface {
	// LivePaths are the schema paths of the leaves the source reads:
	// node names from the root, without module prefixes or keys
	// ({"tenants", "tenant", "vpns", "vpn", "counters", "in-pkts"}).
	LivePaths() [][]string
	// ReadLive returns the live state of root's objects that in asks
	// for, as edits of a copy of root. An object it cannot read within
	// ctx gets no edit: absent, never a made-up value.
	ReadLive(ctx context.Context, root *tree.Node, in Scope) realizer.Status
}

// Scope reports whether a reader asks for the live state in the
// container at a data path (with its keys, e.g. a binding's counters),
// so a Source reads only that.
type Scope func(container []*gpb.PathElem) bool

// Reader answers readers from a Source, each read bounded by a timeout.
// A nil *Reader has no live state.
type Reader struct {
	src     Source
	paths   [][]string
	timeout time.Duration
}

// New returns a Reader over src; every read is bounded by timeout.
func New(src Source, timeout time.Duration) *Reader {
	return &Reader{src: src, paths: src.LivePaths(), timeout: timeout}
}

// Overlay returns root with the live state in it when one of patterns
// (full request paths, with "*", "..." and keys) reaches live state — it
// can match a live leaf or something above one; otherwise root itself,
// and the source is not asked.
func (r *Reader) Overlay(ctx context.Context, root *tree.Node, patterns ...[]*gpb.PathElem) *tree.Node {
	if r == nil || !r.Wanted(patterns...) {
		return root
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	st := r.src.ReadLive(ctx, root, func(c []*gpb.PathElem) bool {
		for _, p := range patterns {
			if within(p, c) {
				return true
			}
		}
		return false
	})
	if len(st) == 0 {
		return root
	}
	t := tree.Begin(root)
	st.Apply(t)
	return t.Root()
}

// Wanted reports whether one of patterns reaches live state.
func (r *Reader) Wanted(patterns ...[]*gpb.PathElem) bool {
	if r == nil {
		return false
	}
	for _, p := range patterns {
		for _, s := range r.paths {
			if reaches(p, s) {
				return true
			}
		}
	}
	return false
}

// within reports whether pattern p can match container path c, one of its
// ancestors, or something inside it. Key values are compared as written
// ("*" matches any); a key c does not have matches.
func within(p, c []*gpb.PathElem) bool {
	for len(p) > 0 && len(c) > 0 {
		name := local(p[0].GetName())
		if name == "..." {
			for i := 0; i <= len(c); i++ {
				if within(p[1:], c[i:]) {
					return true
				}
			}
			return false
		}
		if name != "*" && name != c[0].GetName() {
			return false
		}
		for k, v := range p[0].GetKey() {
			if cv, ok := c[0].GetKey()[local(k)]; ok && v != "*" && v != cv {
				return false
			}
		}
		p, c = p[1:], c[1:]
	}
	return true
}

// local is a name without its module prefix.
func local(name string) string {
	if i := strings.IndexByte(name, ':'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// reaches reports whether pattern p can match leaf path s or one of its
// ancestors. Keys are not looked at (s has none), so a pattern may be
// judged to reach live state that its keys then select none of: that
// costs a read, never a value.
func reaches(p []*gpb.PathElem, s []string) bool {
	for len(p) > 0 {
		name := local(p[0].GetName())
		if name == "..." {
			for i := 0; i <= len(s); i++ {
				if reaches(p[1:], s[i:]) {
					return true
				}
			}
			return false
		}
		if len(s) == 0 || (name != "*" && name != s[0]) {
			return false
		}
		p, s = p[1:], s[1:]
	}
	return true
}
