package bgp

import (
	"net/netip"
	"sync"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"

	"github.com/netready/netready/southbound/routing"
)

// A neighbor's max-prefixes is counted here, not by GoBGP: GoBGP checks
// its prefix limit by counting the peer's whole Adj-RIB-In on every
// UPDATE, in the server loop that also takes the speaker's
// announcements, so a peer sending 100,000 routes cost O(n²) there.
// The speaker counts the prefixes each peer has sent, per family, as its
// UPDATEs arrive (GoBGP's pre-policy update events), and when one family
// goes over the limit hands GoBGP the peer with its prefix limit set:
// GoBGP then counts once, finds it over and closes the session as it
// always did (NOTIFICATION cease, maximum number of prefixes reached,
// RFC 4486) and keeps it closed (its PFX_CT admin state, which the
// status shows) until the neighbor is configured again.

// prefixLimits are the prefixes each configured peer has sent.
type prefixLimits struct {
	mu    sync.Mutex
	peers map[netip.Addr]*peerPrefixes
}

// peerPrefixes is one peer's limit and what it sent in its current
// session.
type peerPrefixes struct {
	max uint32
	// armed is the peer as configured plus GoBGP's prefix limit, what
	// UpdatePeer is given when the limit is exceeded; nil once given.
	armed *api.Peer
	sent  map[bgp.Family]map[routing.LearntKey]struct{}
}

// add starts counting for peer a, configured as armed without its limit.
func (l *prefixLimits) add(a netip.Addr, max uint32, armed *api.Peer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.peers == nil {
		l.peers = map[netip.Addr]*peerPrefixes{}
	}
	l.peers[a] = &peerPrefixes{max: max, armed: armed, sent: map[bgp.Family]map[routing.LearntKey]struct{}{}}
}

// remove forgets peer a: it is no longer configured.
func (l *prefixLimits) remove(a netip.Addr) {
	l.mu.Lock()
	delete(l.peers, a)
	l.mu.Unlock()
}

// reset forgets what peer a sent: its session is down, and GoBGP
// dropped its Adj-RIB-In.
func (l *prefixLimits) reset(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.peers[a]; p != nil {
		clear(p.sent)
	}
}

// received is the number of prefixes peer a has sent and not withdrawn.
func (l *prefixLimits) received(a netip.Addr) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	if p := l.peers[a]; p != nil {
		for _, keys := range p.sent {
			n += len(keys)
		}
	}
	return uint64(n)
}

// update counts what one UPDATE of a peer carried and returns, the first
// time a family of that peer goes over its limit, the peer to hand GoBGP
// with its prefix limit set; otherwise nil.
func (l *prefixLimits) update(paths []*apiutil.Path) []*api.Peer {
	l.mu.Lock()
	defer l.mu.Unlock()
	var over []*api.Peer
	for _, path := range paths {
		p := l.peers[path.PeerAddress]
		nlri, ok := path.Nlri.(*bgp.LabeledVPNIPAddrPrefix)
		if p == nil || !ok || nlri.RD == nil {
			continue
		}
		k := routing.LearntKey{RD: nlri.RD.String(), Prefix: nlri.Prefix.Masked()}
		keys := p.sent[path.Family]
		if keys == nil {
			keys = map[routing.LearntKey]struct{}{}
			p.sent[path.Family] = keys
		}
		if path.Withdrawal {
			delete(keys, k)
			continue
		}
		keys[k] = struct{}{}
		if p.max > 0 && len(keys) > int(p.max) && p.armed != nil {
			over = append(over, p.armed)
			p.armed = nil
		}
	}
	return over
}

// withPrefixLimits returns a copy of peer with GoBGP's prefix limit of
// max set on each of its families.
func withPrefixLimits(peer *api.Peer, max uint32) *api.Peer {
	armed := &api.Peer{Conf: peer.GetConf(), Transport: peer.GetTransport(), Timers: peer.GetTimers()}
	for _, af := range peer.GetAfiSafis() {
		fam := af.GetConfig().GetFamily()
		armed.AfiSafis = append(armed.AfiSafis, &api.AfiSafi{Config: af.GetConfig(), PrefixLimits: &api.PrefixLimit{Family: fam, MaxPrefixes: max}})
	}
	return armed
}
