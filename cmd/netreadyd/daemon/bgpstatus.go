package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/netready/netready/gen/sites"
	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/gnmipath"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/bgp"
	"github.com/netready/netready/southbound/interconnect"
)

// bgpStatusEvery is how often the speaker's sessions are read. Status is
// published only when it changed, so an idle speaker commits nothing.
const bgpStatusEvery = time.Second

// publishBGPStatus writes the speaker's neighbor status under
// /bgp/neighbors/neighbor/status, and the status of the connections
// between sites and of the sites (geostatus.go), until ctx ends. Sessions
// change on the network's time, not in a Set, so they are polled and
// written as state (datastore.UpdateState), like /system/state.
func publishBGPStatus(ctx context.Context, sp *bgp.Speaker, gw *interconnect.Linker, ds *datastore.Datastore, log *slog.Logger) {
	t := time.NewTicker(bgpStatusEvery)
	defer t.Stop()
	var last map[string]bgp.NeighborStatus
	var lastGeo geoStatus
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur, err := sp.Neighbors(ctx)
		if err != nil {
			continue
		}
		root := ds.Snapshot().Root
		if shown := neighborsByKey(root, cur); !maps.Equal(shown, last) {
			if err := writeBGPStatus(ctx, ds, shown); err != nil {
				log.Warn("bgp: publishing neighbor status", "err", err)
				continue
			}
			last = shown
		}
		geo := computeGeoStatus(root, cur, gw.Held())
		changed := geo.changedSince(lastGeo, root)
		if len(changed.conns)+len(changed.sites) == 0 {
			continue
		}
		if err := writeGeoStatus(ctx, ds, changed); err != nil {
			log.Warn("publishing the status of connections and sites", "err", err)
			continue
		}
		lastGeo = geo
	}
}

// neighborsByKey is the status of each configured /bgp neighbor (not a
// connection's) by its list key: the speaker names a peer by its address
// in canonical form, which an operator may have written another way
// (2001:DB8::2), and the status belongs under the key as written.
func neighborsByKey(root *tree.Node, st map[string]bgp.NeighborStatus) map[string]bgp.NeighborStatus {
	b, ok := sites.Root{Node: root}.BGP()
	if !ok {
		return nil
	}
	out := map[string]bgp.NeighborStatus{}
	for n := range b.Neighbors() {
		a, err := netip.ParseAddr(n.Address())
		if err != nil {
			continue // the type refuses it
		}
		if s, ok := st[a.String()]; ok && s.Connection == "" {
			out[n.Address()] = s
		}
	}
	return out
}

// writeBGPStatus replaces the status of every neighbor in st (by list
// key) that is still configured (one that is gone keeps no status).
func writeBGPStatus(ctx context.Context, ds *datastore.Datastore, st map[string]bgp.NeighborStatus) error {
	root := ds.Schema().Root
	edits := map[string]*tree.Node{}
	paths := map[string]tree.Path{}
	for _, addr := range slices.Sorted(maps.Keys(st)) {
		p, node, err := neighborStatusNode(root, addr, st[addr])
		if err != nil {
			return err
		}
		edits[addr], paths[addr] = node, p
	}
	return ds.UpdateState(ctx, func(t *tree.Txn) error {
		for addr, p := range paths {
			if tree.Lookup(t.Root(), p[:len(p)-1]) == nil {
				continue
			}
			if err := t.Replace(p, edits[addr]); err != nil {
				return fmt.Errorf("neighbor %s: %w", addr, err)
			}
		}
		return nil
	})
}

// sessionJSON is a session's state as the leaves of a neighbor's status
// and of a connection's session.
func sessionJSON(n bgp.NeighborStatus) map[string]any {
	status := map[string]any{
		"session-state":         n.SessionState,
		"prefixes-sent":         n.PrefixesSent,
		"prefixes-received":     n.PrefixesReceived,
		"dropped-routes":        strconv.FormatUint(n.DroppedRoutes, 10), // uint64: a JSON string
		"max-prefixes-exceeded": strconv.FormatUint(n.MaxPrefixesExceeded, 10),
		"last-error":            n.LastError,
	}
	if !n.EstablishedAt.IsZero() {
		status["established-at"] = n.EstablishedAt.Format(time.RFC3339)
	}
	return status
}

// neighborStatusNode is the status container of one neighbor, decoded
// against the schema like any published state.
func neighborStatusNode(root *schema.Node, addr string, n bgp.NeighborStatus) (tree.Path, *tree.Node, error) {
	elems, err := gnmipath.Parse("/bgp/neighbors/neighbor[address=" + addr + "]/status")
	if err != nil {
		return nil, nil, err
	}
	p, err := tree.Resolve(root, elems)
	if err != nil {
		return nil, nil, err
	}
	js, err := json.Marshal(map[string]any{"netready-bgp:bgp": map[string]any{"neighbors": map[string]any{
		"neighbor": []any{map[string]any{"address": addr, "status": sessionJSON(n)}}}}})
	if err != nil {
		return nil, nil, err
	}
	payload, err := tree.DecodeStateJSON(root, js)
	if err != nil {
		return nil, nil, fmt.Errorf("bgp status of %s: %w", addr, err)
	}
	node := tree.Lookup(payload, p)
	if node == nil {
		return nil, nil, fmt.Errorf("bgp status of %s: not decoded", addr)
	}
	return p, node, nil
}
