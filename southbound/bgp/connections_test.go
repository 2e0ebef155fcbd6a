package bgp

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	netreadyyang "github.com/netready/netready/yang"
)

// geoRoot decodes /bgp (local-as 65000 unless bgp is given), two sites
// (dc-b AS 64601, dc-d AS 64602) and the connections as the server does.
func geoRoot(t *testing.T, bgp, conns string) *tree.Node {
	t.Helper()
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	doc := `{"netready-georedundancy:sites": {"site": [{"name": "dc-b", "kind": "cell", "as-number": 64601}, {"name": "dc-d", "kind": "region", "as-number": 64602}, {"name": "dc-x", "kind": "region"}]},
	 "netready-georedundancy:connections": {"connection": [` + conns + `]}`
	if bgp != "" {
		doc += `, "netready-bgp:bgp": ` + bgp
	}
	p, err := tree.DecodeRootJSON(sch.Root, []byte(doc+"}"), true)
	if err != nil {
		t.Fatal(err)
	}
	txn := tree.Begin(tree.NewRoot(sch))
	if err := txn.Merge(nil, p); err != nil {
		t.Fatal(err)
	}
	return txn.Root()
}

const (
	speaker = `{"local-as": 65000, "router-id": "198.51.100.1", "neighbors": {"neighbor": [{"address": "192.0.2.99", "peer-as": 65001}]}}`
	c1      = `{"name": "c1", "description": "to D", "local": {"site": "dc-b", "address": "198.51.100.1"}, "remote": {"site": "dc-d", "address": "198.51.100.2"}`
)

// A connection's peer is derived from its ends: the remote address, the
// remote AS (the end's, else its site's), the local address as source and
// the local AS when it is not the speaker's.
func TestConnectionPeers(t *testing.T) {
	for _, c := range []struct {
		name, bgp, conns string
		want             map[string]Neighbor // by remote address
	}{
		{"ASes from the sites", speaker, c1 + `}`, map[string]Neighbor{"198.51.100.2": {PeerAS: 64602, LocalAS: 64601, Description: "connection c1"}}},
		{"the local site's AS is the speaker's", `{"local-as": 64601, "router-id": "198.51.100.1"}`, c1 + `}`, map[string]Neighbor{"198.51.100.2": {PeerAS: 64602, Description: "connection c1"}}},
		{"the ends' own AS numbers", speaker, `{"name": "c1", "description": "to D", "local": {"site": "dc-b", "address": "198.51.100.1", "as-number": 65010}, "remote": {"site": "dc-d", "address": "198.51.100.2", "as-number": 65020}}`, map[string]Neighbor{"198.51.100.2": {PeerAS: 65020, LocalAS: 65010, Description: "connection c1"}}},
		{"admin down: no peer", speaker, c1 + `, "admin-state": "down"}`, map[string]Neighbor{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := geoRoot(t, c.bgp, c.conns)
			if err := New(nil).Check(root); err != nil {
				t.Fatal(err)
			}
			cfg, err := withConnections(root, ReadConfig(root))
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for a, n := range cfg.Neighbors {
				if n.Connection == "" {
					continue
				}
				got++
				w, ok := c.want[a.String()]
				w.Addr, w.AdminUp, w.Connection, w.LocalAddr, w.MaxPrefixes = a, true, "c1", netip.MustParseAddr("198.51.100.1"), connectionMaxPrefixes
				if !ok || n != w {
					t.Errorf("peer %s: %+v, want %+v (listed: %v)", a, n, w, ok)
				}
			}
			if got != len(c.want) {
				t.Errorf("%d connection peers, want %d: %v", got, len(c.want), cfg.Neighbors)
			}
		})
	}
}

// What no peer can be derived for is refused at the leaf at fault.
func TestConnectionPeersRefused(t *testing.T) {
	const at = "/connections/connection[name=c1]/"
	for _, c := range []struct {
		name, bgp, conns, path, msg string
	}{
		{"no speaker", "", c1 + `}`, at + "protocol", "needs this server's BGP speaker"},
		{"static", speaker, c1 + `, "protocol": "static"}`, at + "protocol", "static is not realized"},
		{"bfd", speaker, c1 + `, "bfd": true}`, at + "bfd", "BFD is not realized"},
		{"no remote AS", speaker, `{"name": "c1", "local": {"site": "dc-b", "address": "198.51.100.1"}, "remote": {"site": "dc-x", "address": "198.51.100.2"}}`, at + "remote/as-number", "site dc-x"},
		{"remote is a /bgp neighbor", speaker, `{"name": "c1", "local": {"site": "dc-b", "address": "198.51.100.1"}, "remote": {"site": "dc-d", "address": "192.0.2.99"}}`, at + "remote/address", "/bgp/neighbors/neighbor[address=192.0.2.99]"},
		{"two connections to one address", speaker, c1 + `}, {"name": "c2", "local": {"site": "dc-b", "address": "198.51.100.1"}, "remote": {"site": "dc-d", "address": "198.51.100.2"}}`, "/connections/connection[name=c2]/remote/address", "connection c1"},
		{"families differ", speaker, `{"name": "c1", "local": {"site": "dc-b", "address": "2001:db8::1"}, "remote": {"site": "dc-d", "address": "198.51.100.2"}}`, at + "local/address", "address family"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := New(nil).Check(geoRoot(t, c.bgp, c.conns))
			te, ok := err.(*tree.Error)
			if !ok || te.Kind != tree.KindConflict || te.Path != c.path || !strings.Contains(te.Msg, c.msg) {
				t.Fatalf("got %v, want a conflict at %s saying %q", err, c.path, c.msg)
			}
		})
	}
}
