package bgp

import (
	"context"

	api "github.com/osrg/gobgp/v4/api"
)

// GoBGPPrefixLimit is the prefix limit GoBGP holds for peer addr (the
// largest of its families'; 0: none), for the tests of package bgp_test.
func GoBGPPrefixLimit(ctx context.Context, s *Speaker, addr string) uint32 {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	var limit uint32
	if srv != nil {
		_ = srv.ListPeer(ctx, &api.ListPeerRequest{Address: addr}, func(p *api.Peer) {
			for _, a := range p.GetAfiSafis() {
				limit = max(limit, a.GetPrefixLimits().GetMaxPrefixes())
			}
		})
	}
	return limit
}
