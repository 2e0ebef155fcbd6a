package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/netready/netready/gen/sites"
	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/gnmipath"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/bgp"
	"github.com/netready/netready/southbound/interconnect"
)

// geoStatus is the state of the connections between sites and of the
// sites, as the speaker and the gateway hold them.
type geoStatus struct {
	conns map[string]connStatus
	sites map[string]siteStatus
}

// connStatus is one connection's status: up and in sync only while its
// session is established and, when it asks for isolation, its tunnel is
// held; never in sync for what is not up.
type connStatus struct {
	oper, sync string
	session    *bgp.NeighborStatus  // nil: no session (admin down, no speaker)
	tunnel     *interconnect.Tunnel // nil: the gateway holds none
}

// siteStatus summarizes the admin-up connections with an end at the site.
type siteStatus struct{ oper, sync string }

// changedSince is the part of g to write: what differs from last (what
// was written) and the objects whose status in root is not g's, such as
// those a commit created since, with the default status. g was computed
// from root, so every object of g is in it.
func (g geoStatus) changedSince(last geoStatus, root *tree.Node) geoStatus {
	out := geoStatus{conns: map[string]connStatus{}, sites: map[string]siteStatus{}}
	conns, siteNodes := connectionsByName(root), sitesByName(root)
	for name, st := range g.conns {
		old, ok := last.conns[name]
		same := ok && old.oper == st.oper && old.sync == st.sync && ptrEqual(old.session, st.session) && ptrEqual(old.tunnel, st.tunnel)
		n := conns[name]
		if !same || !holds(n, st.oper, st.sync) || (n.ChildByName("session") != nil) != (st.session != nil) || (n.ChildByName("tunnel") != nil) != (st.tunnel != nil) {
			out.conns[name] = st
		}
	}
	for name, st := range g.sites {
		if old, ok := last.sites[name]; !ok || old != st || !holds(siteNodes[name], st.oper, st.sync) {
			out.sites[name] = st
		}
	}
	return out
}

// holds reports whether the status of n (a connection or site) says oper
// and sync. Status is state, which the typed view (gen/sites) does not
// cover: it is read by name.
func holds(n *tree.Node, oper, sync string) bool {
	st := n.ChildByName("status")
	return leafStr(st, "oper-status") == oper && leafStr(st, "sync-state") == sync
}

// connectionsByName indexes the connections under root by name.
func connectionsByName(root *tree.Node) map[string]*tree.Node {
	out := map[string]*tree.Node{}
	for c := range (sites.Root{Node: root}).Connections() {
		out[c.Name()] = c.Node
	}
	return out
}

// sitesByName indexes the sites under root by name.
func sitesByName(root *tree.Node) map[string]*tree.Node {
	out := map[string]*tree.Node{}
	for s := range (sites.Root{Node: root}).Sites() {
		out[s.Name()] = s.Node
	}
	return out
}

func ptrEqual[T comparable](a, b *T) bool { return a == b || a != nil && b != nil && *a == *b }

// computeGeoStatus derives the status of every connection and site under
// root from the speaker's peers (by address) and the gateway's tunnels
// (by connection).
func computeGeoStatus(root *tree.Node, peers map[string]bgp.NeighborStatus, tunnels map[string]interconnect.Tunnel) geoStatus {
	byConn := map[string]bgp.NeighborStatus{}
	for _, p := range peers {
		if p.Connection != "" {
			byConn[p.Connection] = p
		}
	}
	g := geoStatus{conns: map[string]connStatus{}, sites: map[string]siteStatus{}}
	siteConns := map[string][]string{} // site -> its admin-up connections' oper-status
	r := sites.Root{Node: root}
	for c := range r.Connections() {
		name := c.Name()
		st := connStatus{oper: "down", sync: "pending"}
		if p, ok := byConn[name]; ok {
			st.session = &p
		}
		if t, ok := tunnels[name]; ok {
			st.tunnel = &t
		}
		adminUp := c.AdminState() != sites.AdminStateDown
		tunnelled := c.Isolation() == sites.ConnectionIsolationVxlan
		switch {
		case !adminUp:
		case st.session != nil && st.session.SessionState == "established" && (!tunnelled || st.tunnel != nil):
			st.oper, st.sync = "up", "in-sync"
		case st.session != nil && st.session.LastError != "":
			st.sync = "error"
		}
		g.conns[name] = st
		if adminUp {
			local, _ := c.LocalEnd()
			remote, _ := c.RemoteEnd()
			siteConns[local.Site()] = append(siteConns[local.Site()], st.oper)
			siteConns[remote.Site()] = append(siteConns[remote.Site()], st.oper)
		}
	}
	for s := range r.Sites() {
		name := s.Name()
		opers := siteConns[name]
		up := 0
		for _, o := range opers {
			if o == "up" {
				up++
			}
		}
		switch {
		case len(opers) == 0:
			g.sites[name] = siteStatus{"unknown", "pending"}
		case up == len(opers):
			g.sites[name] = siteStatus{"up", "in-sync"}
		case up > 0:
			g.sites[name] = siteStatus{"degraded", "pending"}
		default:
			g.sites[name] = siteStatus{"down", "pending"}
		}
	}
	return g
}

func leafStr(n *tree.Node, name string) string {
	if n == nil {
		return ""
	}
	if c := n.ChildByName(name); c != nil {
		s, _ := c.Value().(string)
		return s
	}
	return ""
}

// geoStatusJSON is g as state JSON_IETF.
func geoStatusJSON(g geoStatus) ([]byte, error) {
	conns := make([]any, 0, len(g.conns))
	for _, name := range slices.Sorted(maps.Keys(g.conns)) {
		st := g.conns[name]
		c := map[string]any{"name": name, "status": map[string]any{"oper-status": st.oper, "sync-state": st.sync}}
		if s := st.session; s != nil {
			c["session"] = sessionJSON(*s)
		}
		if t := st.tunnel; t != nil {
			c["tunnel"] = map[string]any{"device": t.Device(), "vni": t.VNI}
		}
		conns = append(conns, c)
	}
	sites := make([]any, 0, len(g.sites))
	for _, name := range slices.Sorted(maps.Keys(g.sites)) {
		st := g.sites[name]
		sites = append(sites, map[string]any{"name": name, "status": map[string]any{"oper-status": st.oper, "sync-state": st.sync}})
	}
	return json.Marshal(map[string]any{
		"netready-georedundancy:connections": map[string]any{"connection": conns},
		"netready-georedundancy:sites":       map[string]any{"site": sites},
	})
}

// writeGeoStatus replaces the status, session and tunnel of every
// connection and the status of every site that is still configured.
func writeGeoStatus(ctx context.Context, ds *datastore.Datastore, g geoStatus) error {
	js, err := geoStatusJSON(g)
	if err != nil {
		return err
	}
	root := ds.Schema().Root
	payload, err := tree.DecodeStateJSON(root, js)
	if err != nil {
		return fmt.Errorf("connections status: %w", err)
	}
	var paths []tree.Path
	for name := range g.conns {
		for _, c := range []string{"status", "session", "tunnel"} {
			p, err := statePath(root, "/connections/connection[name="+name+"]/"+c)
			if err != nil {
				return err
			}
			paths = append(paths, p)
		}
	}
	for name := range g.sites {
		p, err := statePath(root, "/sites/site[name="+name+"]/status")
		if err != nil {
			return err
		}
		paths = append(paths, p)
	}
	return ds.UpdateState(ctx, func(t *tree.Txn) error {
		for _, p := range paths {
			if tree.Lookup(t.Root(), p[:len(p)-1]) == nil {
				continue // deleted meanwhile
			}
			n := tree.Lookup(payload, p)
			if n == nil {
				t.Delete(p)
				continue
			}
			if err := t.Replace(p, n); err != nil {
				return fmt.Errorf("%s: %w", tree.PathString(p), err)
			}
		}
		return nil
	})
}

func statePath(root *schema.Node, s string) (tree.Path, error) {
	elems, err := gnmipath.Parse(s)
	if err != nil {
		return nil, err
	}
	return tree.Resolve(root, elems)
}
