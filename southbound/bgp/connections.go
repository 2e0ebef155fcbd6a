package bgp

import (
	"fmt"
	"maps"
	"net/netip"

	"github.com/netready/netready/gen/sites"
	"github.com/netready/netready/server/tree"
)

// A connection between sites (netready-georedundancy,
// /connections/connection) with protocol bgp is a peering of this site's
// speaker with the remote site's: the connection's local end is this
// server's site, its remote end the other. The speaker's neighbors are the
// /bgp neighbors and one peer per such connection (admin up), derived from
// the ends: the remote address and AS, and the local address as the
// session's source and the local AS as the speaker's AS on that session.

// connectionMaxPrefixes bounds what a remote site may announce, as the
// default of a /bgp neighbor's max-prefixes does.
const connectionMaxPrefixes = 100000

// connectionPath is the data path of a connection, for errors.
func connectionPath(name string) string { return "/connections/connection[name=" + name + "]" }

// connectionPeers returns the peers the connections under root configure
// for a speaker running as cfg, keyed by remote address, or the first
// connection that cannot be one (tree.KindConflict naming the leaf).
func connectionPeers(root *tree.Node, cfg *Config) (map[netip.Addr]Neighbor, error) {
	out := map[netip.Addr]Neighbor{}
	r := sites.Root{Node: root}
	siteAS := map[string]uint32{}
	for s := range r.Sites() {
		siteAS[s.Name()] = uint32(s.ASNumber())
	}
	for c := range r.Connections() {
		n, err := connectionPeer(c, cfg, siteAS)
		if err != nil {
			return nil, err
		}
		if n.Connection == "" {
			continue
		}
		if other, dup := out[n.Addr]; dup {
			return nil, conflict(n.Connection, "remote/address", "%s is already the remote end of connection %s: one BGP session per remote address", n.Addr, other.Connection)
		}
		out[n.Addr] = n
	}
	return out, nil
}

// connectionPeer is the peer one connection configures; a zero Neighbor
// for a connection that configures none (admin down).
func connectionPeer(c sites.Connection, cfg *Config, siteAS map[string]uint32) (Neighbor, error) {
	name := c.Name()
	if p := c.Protocol(); p != "" && p != sites.ConnectionProtocolBgp {
		return Neighbor{}, conflict(name, "protocol", "%s is not realized by this server: routes between sites are exchanged with bgp only", p)
	}
	if cfg == nil {
		return Neighbor{}, conflict(name, "protocol", "bgp needs this server's BGP speaker: configure /bgp (local-as, router-id)")
	}
	if c.BFD() {
		return Neighbor{}, conflict(name, "bfd", "BFD is not realized by this server: its BGP speaker has none (the session's hold timer detects a failed connection)")
	}
	local, _ := c.LocalEnd()
	remote, _ := c.RemoteEnd()
	ra, _ := netip.ParseAddr(remote.Address())
	la, _ := netip.ParseAddr(local.Address())
	if la.Is4() != ra.Is4() {
		return Neighbor{}, conflict(name, "local/address", "%s and the remote address %s are not of one address family", la, ra)
	}
	if _, ok := cfg.Neighbors[ra]; ok {
		return Neighbor{}, conflict(name, "remote/address", "%s is already configured as /bgp/neighbors/neighbor[address=%s]", ra, ra)
	}
	peerAS := endAS(remote.ASNumber(), remote.Site(), siteAS)
	if peerAS == 0 {
		return Neighbor{}, conflict(name, "remote/as-number", "no AS number for the remote end: set it here or on site %s", remote.Site())
	}
	if c.AdminState() == sites.AdminStateDown {
		return Neighbor{}, nil
	}
	// The description names the connection: editing the connection's own
	// description must not restart the session (a changed peer is
	// re-added).
	n := Neighbor{Addr: ra, PeerAS: peerAS, Description: "connection " + name, AdminUp: true, Connection: name, LocalAddr: la, MaxPrefixes: connectionMaxPrefixes}
	if as := endAS(local.ASNumber(), local.Site(), siteAS); as != 0 && as != cfg.LocalAS {
		n.LocalAS = as
	}
	return n, nil
}

// endAS is a connection end's AS number: its own (as), else its site's
// (0 when neither is set).
func endAS(as uint64, site string, siteAS map[string]uint32) uint32 {
	if as != 0 {
		return uint32(as)
	}
	return siteAS[site]
}

func conflict(conn, leaf, format string, args ...any) error {
	return &tree.Error{Kind: tree.KindConflict, Path: connectionPath(conn) + "/" + leaf, Msg: fmt.Sprintf(format, args...)}
}

// Check refuses configuration the speaker cannot realize: a connection
// whose peering cannot be derived (no /bgp, no remote AS, a remote address
// that is already a neighbor or another connection's), or a protocol it
// does not realize. The engine calls it before anything is applied.
func (s *Speaker) Check(root *tree.Node) error {
	_, err := connectionPeers(root, ReadConfig(root))
	return err
}

// withConnections is cfg with the connections' peers added; cfg is nil
// when /bgp is absent (Check refuses connections then).
func withConnections(root *tree.Node, cfg *Config) (*Config, error) {
	if cfg == nil {
		return nil, nil
	}
	peers, err := connectionPeers(root, cfg)
	if err != nil {
		return nil, err
	}
	maps.Copy(cfg.Neighbors, peers)
	return cfg, nil
}
