package bgp

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"strings"
	"sync"
	"time"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/server"
)

// NeighborStatus is one session as the speaker sees it: the
// netready-bgp neighbor status container.
type NeighborStatus struct {
	SessionState string // idle, connect, active, opensent, openconfirm, established
	// EstablishedAt is when the current session was established; zero
	// unless SessionState is established (GoBGP keeps a closed session's
	// uptime, which would show a session that is down as up since then).
	EstablishedAt    time.Time
	PrefixesSent     uint64
	PrefixesReceived uint64
	DroppedRoutes    uint64
	// MaxPrefixesExceeded counts the sessions GoBGP closed for going over
	// max-prefixes since the speaker started.
	MaxPrefixesExceeded uint64
	LastError           string
	// Connection is the connection between sites the peer comes from, ""
	// for a /bgp neighbor.
	Connection string
}

// sentEvery is how often Neighbors has GoBGP count the prefixes sent to
// each peer while nothing the speaker announces changed and no session
// came up. GoBGP counts them by running best-path selection and export
// over every destination of its RIB, per peer, in its main loop: under a
// peer's flood of 100,000 routes that was most of a poll's cost, and it
// holds up the speaker's own announcements. Session state and prefixes
// received are read at every poll.
const sentEvery = 10 * time.Second

// sentCounts are the prefixes sent to each peer as GoBGP last counted
// them, and when they must be counted again.
type sentCounts struct {
	mu sync.Mutex
	at time.Time         // when counted; zero: count at the next poll
	n  map[string]uint64 // by peer address, established sessions only
	up map[string]bool   // the peers established at the last poll
	// gen counts invalidations, so a count that started before one is
	// not taken as newer than it.
	gen uint64
}

// invalidate has the next poll count again: what is announced changed.
func (c *sentCounts) invalidate() {
	c.mu.Lock()
	c.at = time.Time{}
	c.gen++
	c.mu.Unlock()
}

// due reports whether a poll starting at now counts, and the generation
// to hand to settle.
func (c *sentCounts) due(now time.Time) (bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at.IsZero() || now.Sub(c.at) >= sentEvery, c.gen
}

// settle records the prefixes sent of a poll that counted them, or fills
// them in from the last count. A session that came up since the last
// poll has the next poll count.
func (c *sentCounts) settle(out map[string]NeighborStatus, counted bool, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	up := map[string]bool{}
	newlyUp := false
	for a, n := range out {
		if n.SessionState == "established" {
			up[a] = true
			newlyUp = newlyUp || !c.up[a]
		}
	}
	c.up = up
	if counted {
		c.n = map[string]uint64{}
		for a := range up {
			c.n[a] = out[a].PrefixesSent
		}
		if gen == c.gen {
			c.at = now
		}
		return
	}
	for a := range up {
		n := out[a]
		n.PrefixesSent = c.n[a]
		out[a] = n
	}
	if newlyUp {
		c.at = time.Time{}
	}
}

// Neighbors returns the status of every peer (the /bgp neighbors and the
// connections' peers, named), keyed by its address in canonical form
// (netip.Addr.String: the list key may be written another way); nil
// while the speaker does not run. Sessions come from
// GoBGP's peer events and prefixes received from the speaker's own count
// (prefixlimit.go): GoBGP is asked (ListPeer) only to count the prefixes
// sent, or for a peer it reported nothing about yet.
// The speaker's lock is not held while GoBGP answers (slow while a peer
// floods it), so Announce, in a Set, never waits for a status poll.
func (s *Speaker) Neighbors(ctx context.Context) (map[string]NeighborStatus, error) {
	s.mu.Lock()
	srv := s.srv
	peers := map[netip.Addr]Neighbor{}
	if s.cfg != nil {
		maps.Copy(peers, s.cfg.Neighbors)
	}
	s.mu.Unlock()
	if srv == nil {
		return nil, nil
	}
	now := time.Now()
	count, gen := s.sent.due(now)
	out := map[string]NeighborStatus{}
	if count || !s.fromEvents(peers, out) {
		clear(out)
		if err := s.listPeers(ctx, srv, count, out); err != nil {
			s.sent.invalidate()
			return nil, err
		}
	}
	for a, n := range peers {
		st, ok := out[a.String()]
		if !ok {
			continue
		}
		st.Connection = n.Connection
		st.DroppedRoutes = s.dropped.of(a.String())
		st.PrefixesReceived = s.limits.received(a)
		st.MaxPrefixesExceeded = s.sessions.exceeded(a)
		out[a.String()] = st
	}
	s.sent.settle(out, count, gen, now)
	return out, nil
}

// fromEvents fills out with the sessions of peers as their events
// reported them; false if a peer has had none yet.
func (s *Speaker) fromEvents(peers map[netip.Addr]Neighbor, out map[string]NeighborStatus) bool {
	for a, n := range peers {
		ss, ok := s.sessions.get(a)
		if !ok {
			return false
		}
		out[a.String()] = ss.status(n.MaxPrefixes)
	}
	return true
}

// listPeers asks GoBGP for every peer's session, with the prefixes sent
// when counted. Where the peer's events reported the same session state,
// its start and last error are theirs, so the status does not change
// with the source it is read from.
func (s *Speaker) listPeers(ctx context.Context, srv *server.BgpServer, counted bool, out map[string]NeighborStatus) error {
	err := s.listPeer(srv, ctx, &api.ListPeerRequest{EnableAdvertised: counted}, func(p *api.Peer) {
		n := neighborStatus(p)
		if a, err := netip.ParseAddr(p.GetConf().GetNeighborAddress()); err == nil {
			if ss, ok := s.sessions.get(a); ok && ss.state == n.SessionState {
				n.EstablishedAt, n.LastError = ss.since, lastError(ss.disconnect, ss.pfxCt, prefixLimit(p))
			}
		}
		out[p.GetConf().GetNeighborAddress()] = n
	})
	if err != nil {
		return fmt.Errorf("bgp: list neighbors: %w", err)
	}
	return nil
}

func neighborStatus(p *api.Peer) NeighborStatus {
	st := p.GetState()
	n := NeighborStatus{SessionState: "idle"}
	if s := st.GetSessionState(); s != api.PeerState_SESSION_STATE_UNSPECIFIED {
		n.SessionState = strings.ToLower(strings.TrimPrefix(s.String(), "SESSION_STATE_"))
	}
	if up := p.GetTimers().GetState().GetUptime(); n.SessionState == "established" && up != nil && up.GetSeconds() > 0 {
		n.EstablishedAt = up.AsTime().UTC()
	}
	for _, a := range p.GetAfiSafis() {
		n.PrefixesSent += a.GetState().GetAdvertised()
		n.PrefixesReceived += a.GetState().GetReceived()
	}
	n.LastError = lastError(st.GetDisconnectMessage(), st.GetAdminState() == api.PeerState_ADMIN_STATE_PFX_CT, prefixLimit(p))
	return n
}

// prefixLimit is the prefix limit GoBGP holds for p (0: none).
func prefixLimit(p *api.Peer) uint32 {
	var limit uint32
	for _, a := range p.GetAfiSafis() {
		limit = max(limit, a.GetPrefixLimits().GetMaxPrefixes())
	}
	return limit
}
