// Package bgp is netreadyd's embedded BGP speaker (GoBGP v4): it announces
// the VPNv4 routes of what the southbound engine realized, so WAN
// gateways and other controllers learn how to reach the guests. It is
// configured by the netready-bgp model (/bgp) and does not run without it.
//
// The speaker is a participant of the engine's transaction
// (realize.Announcer): the engine calls Announce with the candidate
// configuration and the realized forwarding state once every backend
// has succeeded, and again with the previous state when the transaction
// is refused or lost, so announcements change with the commit only.
package bgp

import (
	"net/netip"

	"github.com/netready/netready/gen/sites"
	"github.com/netready/netready/server/tree"
)

// Config is the speaker's configuration, read from /bgp.
type Config struct {
	LocalAS    uint32
	RouterID   netip.Addr
	ListenAddr string // "" for every address
	ListenPort uint16
	Neighbors  map[netip.Addr]Neighbor
}

// Neighbor is one peer: a /bgp neighbor, or the remote end of a
// connection between sites.
type Neighbor struct {
	Addr        netip.Addr
	PeerAS      uint32
	Description string
	AdminUp     bool
	MaxPrefixes uint32
	// PasswordFile names the file holding the TCP MD5 password ("" for
	// none); Password is its content, read when the neighbor is added.
	PasswordFile string
	// Connection names the connection the peer comes from ("" for a /bgp
	// neighbor); LocalAddr is then the session's source (its local
	// address) and LocalAS, when not 0, the AS the speaker uses on it
	// (the local site's, when it is not /bgp local-as).
	Connection string
	LocalAddr  netip.Addr
	LocalAS    uint32
}

// sameGlobal reports whether two configurations run the same server
// (everything but the neighbors): any other change restarts it.
func (c *Config) sameGlobal(o *Config) bool {
	return c.LocalAS == o.LocalAS && c.RouterID == o.RouterID && c.ListenAddr == o.ListenAddr && c.ListenPort == o.ListenPort
}

// ReadConfig reads /bgp from root; nil when the speaker is not
// configured. The schema has checked the types, so values that do not
// parse cannot occur.
func ReadConfig(root *tree.Node) *Config {
	b, ok := sites.Root{Node: root}.BGP()
	if !ok {
		return nil
	}
	rid, _ := netip.ParseAddr(b.RouterID())
	c := &Config{
		LocalAS:    uint32(b.LocalAS()),
		RouterID:   rid,
		ListenAddr: b.ListenAddress(),
		ListenPort: uint16(b.ListenPort()),
		Neighbors:  map[netip.Addr]Neighbor{},
	}
	if c.ListenPort == 0 {
		c.ListenPort = 179
	}
	for n := range b.Neighbors() {
		a, _ := netip.ParseAddr(n.Address())
		c.Neighbors[a] = Neighbor{
			Addr: a, PeerAS: uint32(n.PeerAS()), Description: n.Description(), AdminUp: n.AdminState() != sites.AdminStateDown,
			MaxPrefixes: uint32(n.MaxPrefixes()), PasswordFile: n.PasswordFile(),
		}
	}
	return c
}
