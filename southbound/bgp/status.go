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
	LastError        string
	// Connection is the connection between sites the peer comes from, ""
	// for a /bgp neighbor.
	Connection string
}

// Neighbors returns the status of every peer (the /bgp neighbors and the
// connections' peers), keyed by its address as configured (the list key);
// nil while the speaker does not run.
func (s *Speaker) Neighbors(ctx context.Context) (map[string]NeighborStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil, nil
	}
	out := map[string]NeighborStatus{}
	err := s.srv.ListPeer(ctx, &api.ListPeerRequest{EnableAdvertised: true}, func(p *api.Peer) {
		n := neighborStatus(p)
		if a, err := netip.ParseAddr(p.GetConf().GetNeighborAddress()); err == nil {
			n.Connection = s.cfg.Neighbors[a].Connection
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
	}
	return n
}
