package telemetry

import (
	"fmt"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/tree"
)

// leafValues is the current value of every leaf a subscription covers, in
// tree order, keyed by path.
type leafValues struct {
	order   []string
	vals    map[string]string // comparable form of each value
	updates map[string]*gpb.Update
}

// values collects the leaves sub covers in root.
func (s *stream) values(root *tree.Node, sub *Sub) *leafValues {
	lv := &leafValues{vals: map[string]string{}, updates: map[string]*gpb.Update{}}
	eachLeaf(root, sub.Pattern, s.req.Filter, s.req.Visible, s.req.Depth, func(p []*gpb.PathElem, leaf *tree.Node) {
		k := pathKey(p)
		if _, dup := lv.vals[k]; dup {
			return
		}
		tv := tree.TypedValue(leaf, s.req.Encoding)
		lv.order = append(lv.order, k)
		lv.vals[k] = valueKey(tv)
		lv.updates[k] = &gpb.Update{Path: s.rel(p), Val: tv}
	})
	return lv
}

// eachLeaf calls fn for every leaf at or below the nodes pattern matches
// that f keeps, vis (nil: everything) lets the subscriber see, and that
// are within depth levels of them (0: any).
func eachLeaf(root *tree.Node, pattern []*gpb.PathElem, f tree.Filter, vis tree.PathVisibleFunc, depth uint32, fn func([]*gpb.PathElem, *tree.Node)) {
	var paths tree.ElemsBuilder // the leaves of an entry share its path
	emit := func(lc []*tree.Node) error {
		fn(paths.Elems(lc), lc[len(lc)-1])
		return nil
	}
	byChain := tree.ByPath(vis)
	tree.Match(root, pattern, func(chain []*tree.Node) error {
		return tree.LeavesUnder(root, chain, f, tree.Both(byChain, tree.Depth(len(chain), depth)), emit)
	})
}

func valueKey(tv *gpb.TypedValue) string {
	switch v := tv.GetValue().(type) {
	case *gpb.TypedValue_JsonIetfVal:
		return string(v.JsonIetfVal)
	case *gpb.TypedValue_JsonVal:
		return string(v.JsonVal)
	}
	return fmt.Sprint(tv.GetValue())
}

// sendDump sends the current values of every subscription, unless the
// client asked for updates only.
func (s *stream) sendDump(snap *datastore.Snapshot) error {
	if s.req.UpdatesOnly {
		return nil
	}
	return s.sendDumpOf(snap, s.req.Subs)
}

// sendDumpOf sends the values subs cover in snap, in notifications of at
// most Chunk updates, each path once.
func (s *stream) sendDumpOf(snap *datastore.Snapshot, subs []Sub) error {
	seen := map[string]bool{}
	root := s.withLive(snap.Root, subs...)
	n := s.newDumpNotification(snap)
	var err error
	flush := func() {
		if err == nil && len(n.Update) > 0 {
			err = s.ss.Send(&gpb.SubscribeResponse{Response: &gpb.SubscribeResponse_Update{Update: n}})
			n = s.newDumpNotification(snap)
		}
	}
	for i := range subs {
		eachLeaf(root, subs[i].Pattern, s.req.Filter, s.req.Visible, s.req.Depth, func(p []*gpb.PathElem, leaf *tree.Node) {
			if len(subs) > 1 || hasEllipsis(subs[i].Pattern) {
				k := pathKey(p)
				if seen[k] {
					return
				}
				seen[k] = true
			}
			n.Update = append(n.Update, &gpb.Update{Path: s.rel(p), Val: tree.TypedValue(leaf, s.req.Encoding)})
			if len(n.Update) >= s.h.opts.Chunk {
				flush()
			}
		})
	}
	flush()
	return err
}

// withLive returns root with the live state (counters) that subs reach,
// read now (server/live). A configuration-only request (the past) has
// none.
func (s *stream) withLive(root *tree.Node, subs ...Sub) *tree.Node {
	if s.h.opts.Live == nil || s.req.Filter == tree.Config || s.req.History != nil {
		return root
	}
	pats := make([][]*gpb.PathElem, len(subs))
	for i := range subs {
		pats[i] = subs[i].Pattern
	}
	return s.h.opts.Live.Overlay(s.ss.Context(), root, pats...)
}

func (s *stream) newDumpNotification(snap *datastore.Snapshot) *gpb.Notification {
	return &gpb.Notification{Timestamp: snap.Time.UnixNano(), Prefix: s.req.Prefix}
}

func hasEllipsis(p []*gpb.PathElem) bool {
	for _, e := range p {
		if e.GetName() == "..." {
			return true
		}
	}
	return false
}

// withinDepth reports whether a changed leaf is within the request's
// depth of the subscribed pattern: every element between them is a
// container or list entry, one level each (see tree.Depth). A pattern
// with "..." reaches any depth, so the limit is not applied below it.
func (s *stream) withinDepth(pattern, leaf []*gpb.PathElem) bool {
	if s.req.Depth == 0 || hasEllipsis(pattern) {
		return true
	}
	return len(leaf)-len(pattern)-1 < int(s.req.Depth)
}
