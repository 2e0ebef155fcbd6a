package realize

import (
	"maps"
	"net/netip"
	"slices"
	"strings"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/live"
	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/routing"
)

// Learnt routes are live state too (server/live), like the traffic
// counters: they change at the peers' pace (a flood is 100,000 of them),
// and written into the tree each would be a datastore entry of seven
// leaves through the single writer, a commit-log record and an ON_CHANGE
// notification. The engine keeps what it placed (learntShown, updated at
// the cost of what a Learn changed) and a reader is shown it when it
// asks, without the engine lock.

// learntLeaves are the leaves of a learnt-routes entry, keys first.
var learntLeaves = []string{"route-distinguisher", "prefix", "next-hop", "label", "peer", "installed", "reason"}

// learntLivePaths are the schema paths of the learnt-routes leaves.
func (e *Engine) learntLivePaths() [][]string {
	out := make([][]string, 0, len(learntLeaves))
	for _, name := range learntLeaves {
		out = append(out, strings.Split(strings.TrimPrefix(child(e.paths.learntRoute, name).Path, "/"), "/"))
	}
	return out
}

// readLearnt returns the edits showing the learnt routes in asks for:
// those of every VPN whose learnt-routes in reaches, or only the entries
// it names by their keys.
func (e *Engine) readLearnt(in live.Scope) realizer.Status {
	var out realizer.Status
	for key, routes := range e.learntAsked(in) {
		tenant, vpn, _ := strings.Cut(key, "/")
		base := tree.Path{{Schema: e.paths.tenants}, keyed(e.paths.tenant, tenant), {Schema: e.paths.vpns}, keyed(e.paths.vpn, vpn), {Schema: e.paths.learnt}}
		for _, k := range slices.SortedFunc(maps.Keys(routes), compareLearntKey) {
			out = e.appendLearnt(out, base, routes[k])
		}
	}
	return out
}

// learntAsked copies, under learntMu, the shown learnt routes in asks
// for, by VPN. The entries a reader names by their keys are looked up,
// so a Get of one route costs the same in a VPN of 100 or of 100,000
// routes. Otherwise a VPN's routes are all asked for when in reaches an
// entry with keys no route has (the pattern names none: "*" or no
// keys), or else each entry is asked about, with one path reused.
func (e *Engine) learntAsked(in live.Scope) map[string]map[routing.LearntKey]routing.LearntStatus {
	e.learntMu.RLock()
	defer e.learntMu.RUnlock()
	out := map[string]map[routing.LearntKey]routing.LearntStatus{}
	for key, shown := range e.learntShown {
		tenant, vpn, _ := strings.Cut(key, "/")
		base := tree.GNMIElems(tree.Path{{Schema: e.paths.tenants}, keyed(e.paths.tenant, tenant), {Schema: e.paths.vpns}, keyed(e.paths.vpn, vpn), {Schema: e.paths.learnt}})
		if !in.In(base) {
			continue
		}
		entry := &gpb.PathElem{Name: e.paths.learntRoute.Name}
		ep := append(base, entry)
		named, all := in.Entries(ep, learntLeaves[:2])
		var some map[routing.LearntKey]routing.LearntStatus
		if all {
			some = scanLearnt(in, ep, shown)
		} else {
			some = namedLearnt(named, shown)
		}
		if len(some) > 0 {
			out[key] = some
		}
	}
	return out
}

// namedLearnt looks up the entries named by their keys.
func namedLearnt(named []map[string]string, shown map[routing.LearntKey]routing.LearntStatus) map[routing.LearntKey]routing.LearntStatus {
	some := map[routing.LearntKey]routing.LearntStatus{}
	for _, m := range named {
		p, err := netip.ParsePrefix(m["prefix"])
		if err != nil || p.String() != m["prefix"] {
			continue // no route has that key: keys are compared as written
		}
		k := routing.LearntKey{RD: m["route-distinguisher"], Prefix: p}
		if s, ok := shown[k]; ok {
			some[k] = s
		}
	}
	return some
}

// scanLearnt returns the entries of shown that in asks for, ep being the
// path of the list's entry: all of them when in reaches an entry with
// keys no route has, otherwise those it asks for one by one.
func scanLearnt(in live.Scope, ep []*gpb.PathElem, shown map[routing.LearntKey]routing.LearntStatus) map[routing.LearntKey]routing.LearntStatus {
	entry := ep[len(ep)-1]
	entry.Key = map[string]string{"route-distinguisher": "\x00", "prefix": "\x00"}
	if in.In(ep) {
		return maps.Clone(shown)
	}
	some := map[routing.LearntKey]routing.LearntStatus{}
	for k, s := range shown {
		entry.Key["route-distinguisher"], entry.Key["prefix"] = k.RD, k.Prefix.String()
		if in.In(ep) {
			some[k] = s
		}
	}
	return some
}

// learntEntry is the path of the learnt-routes entry rd, prefix under
// base (a VPN's learnt-routes container).
func learntEntry(p *statusPaths, base tree.Path, rd, prefix string) tree.Path {
	return append(base[:len(base):len(base)], tree.Elem{Schema: p.learntRoute, Keys: []value.Value{rd, prefix}})
}

// appendLearnt appends the edits setting the leaves of learnt route s
// under base. Object 4 is the VPN: a VPN gone from the tree the reader
// sees gets nothing.
func (e *Engine) appendLearnt(out realizer.Status, base tree.Path, s routing.LearntStatus) realizer.Status {
	ep := learntEntry(e.paths, base, s.RD, s.Prefix.String())
	for _, l := range []struct {
		name string
		v    value.Value
	}{{"next-hop", s.NextHop.String()}, {"label", uint64(s.Label)}, {"peer", s.Source}, {"installed", s.Installed}, {"reason", s.Reason}} {
		out = append(out, realizer.Edit{Path: append(ep[:len(ep):len(ep)], tree.Elem{Schema: child(e.paths.learntRoute, l.name)}), Object: 4, Value: l.v})
	}
	return out
}

func compareLearntKey(a, b routing.LearntKey) int {
	if a.RD != b.RD {
		return strings.Compare(a.RD, b.RD)
	}
	return a.Prefix.Compare(b.Prefix)
}
