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

// Scope is what a reader asks for, so a Source reads only that.
type Scope interface {
	// In reports whether the reader asks for the live state in the
	// container at a data path (with its keys, e.g. a binding's
	// counters).
	In(container []*gpb.PathElem) bool
	// Entries returns the entries of the list at data path list (its
	// last element the list, without keys) that the reader names by
	// every one of keys, as key values, so a Source holding a large
	// list looks up those rather than asking In about each entry. All
	// reports that the reader may ask for entries it does not name (a
	// key left open or "*", a pattern ending above the list, "..."):
	// then In decides per entry.
	Entries(list []*gpb.PathElem, keys []string) (named []map[string]string, all bool)
}

// ScopeFunc is a Scope that only answers In: it names no entries.
type ScopeFunc func(container []*gpb.PathElem) bool

// In calls f.
func (f ScopeFunc) In(container []*gpb.PathElem) bool { return f(container) }

// Entries reports that any entry may be asked for.
func (f ScopeFunc) Entries([]*gpb.PathElem, []string) ([]map[string]string, bool) { return nil, true }

// requested is the Scope of a reader's request paths.
type requested [][]*gpb.PathElem

func (ps requested) In(c []*gpb.PathElem) bool {
	for _, p := range ps {
		if within(p, c) {
			return true
		}
	}
	return false
}

func (ps requested) Entries(list []*gpb.PathElem, keys []string) ([]map[string]string, bool) {
	var named []map[string]string
	for _, p := range ps {
		m, ok, all := entryOf(p, list, keys)
		if all {
			return nil, true
		}
		if ok {
			named = append(named, m)
		}
	}
	return named, false
}

// entryOf matches pattern p against list (as within does) and returns
// the values p gives keys at the list's element; ok is false when p
// does not reach the list, all when it does without naming every key.
func entryOf(p, list []*gpb.PathElem, keys []string) (m map[string]string, ok, all bool) {
	last := len(list) - 1
	for i, c := range list {
		if i >= len(p) || local(p[i].GetName()) == "..." {
			return nil, true, true
		}
		if name := local(p[i].GetName()); name != "*" && name != c.GetName() {
			return nil, false, false
		}
		pk := map[string]string{}
		for k, v := range p[i].GetKey() {
			pk[local(k)] = v
		}
		if i == last {
			m = make(map[string]string, len(keys))
			for _, k := range keys {
				v, ok := pk[k]
				if !ok || v == "*" {
					return nil, true, true
				}
				m[k] = v
			}
			return m, true, false
		}
		for k, v := range pk {
			if cv, ok := c.GetKey()[k]; ok && v != "*" && v != cv {
				return nil, false, false
			}
		}
	}
	return nil, true, true
}

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
	st := r.src.ReadLive(ctx, root, requested(patterns))
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
