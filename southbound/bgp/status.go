package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	api "github.com/osrg/gobgp/v4/api"
)

// NeighborStatus is one session as the speaker sees it: the
// netready-bgp neighbor status container.
type NeighborStatus struct {
	SessionState     string // idle, connect, active, opensent, openconfirm, established
	EstablishedAt    time.Time
	PrefixesSent     uint64
	PrefixesReceived uint64
	DroppedRoutes    uint64
	LastError        string
	// Connection is the connection between sites the peer comes from, ""
	// for a /bgp neighbor.
	Connection string
}

// Neighbors returns the status of every peer (the /bgp neighbors and the
// connections' peers, named), keyed by its address as configured (the
// list key); nil while the speaker does not run.
// The speaker's lock is not held while GoBGP answers (slow while a peer
// floods it), so Announce, in a Set, never waits for a status poll.
func (s *Speaker) Neighbors(ctx context.Context) (map[string]NeighborStatus, error) {
	s.mu.Lock()
	srv := s.srv
	conns := map[netip.Addr]string{} // the connections' peers, named
	if s.cfg != nil {
		for a, n := range s.cfg.Neighbors {
			if n.Connection != "" {
				conns[a] = n.Connection
			}
		}
	}
	s.mu.Unlock()
	if srv == nil {
		return nil, nil
	}
	out := map[string]NeighborStatus{}
	err := srv.ListPeer(ctx, &api.ListPeerRequest{EnableAdvertised: true}, func(p *api.Peer) {
		n := neighborStatus(p)
		n.DroppedRoutes = s.dropped.of(p.GetConf().GetNeighborAddress())
		if a, err := netip.ParseAddr(p.GetConf().GetNeighborAddress()); err == nil {
			n.Connection = conns[a]
		}
		out[p.GetConf().GetNeighborAddress()] = n
	})
	if err != nil {
		return nil, fmt.Errorf("bgp: list neighbors: %w", err)
	}
	return out, nil
}

func neighborStatus(p *api.Peer) NeighborStatus {
	st := p.GetState()
	n := NeighborStatus{SessionState: "idle", LastError: st.GetDisconnectMessage()}
	if s := st.GetSessionState(); s != api.PeerState_SESSION_STATE_UNSPECIFIED {
		n.SessionState = strings.ToLower(strings.TrimPrefix(s.String(), "SESSION_STATE_"))
	}
	if up := p.GetTimers().GetState().GetUptime(); up != nil && up.GetSeconds() > 0 {
		n.EstablishedAt = up.AsTime().UTC()
	}
	for _, a := range p.GetAfiSafis() {
		n.PrefixesSent += a.GetState().GetAdvertised()
		n.PrefixesReceived += a.GetState().GetReceived()
		if st.GetAdminState() == api.PeerState_ADMIN_STATE_PFX_CT {
			n.LastError = fmt.Sprintf("the neighbor announced more than max-prefixes (%d): session closed until the neighbor is configured again", a.GetPrefixLimits().GetMaxPrefixes())
		}
	}
	return n
}
