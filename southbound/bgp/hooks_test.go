package bgp

import (
	"context"
	"sync/atomic"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/server"
)

// GoBGPPrefixLimit is the prefix limit GoBGP holds for peer addr (the
// largest of its families'; 0: none), for the tests of package bgp_test.
func GoBGPPrefixLimit(ctx context.Context, s *Speaker, addr string) uint32 {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	var limit uint32
	if srv != nil {
		_ = srv.ListPeer(ctx, &api.ListPeerRequest{Address: addr}, func(p *api.Peer) { limit = prefixLimit(p) })
	}
	return limit
}

// CountListPeer has s count its calls of GoBGP's ListPeer, which still
// calls it.
func CountListPeer(s *Speaker) *atomic.Int64 {
	var n atomic.Int64
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.listPeer
	s.listPeer = func(srv *server.BgpServer, ctx context.Context, r *api.ListPeerRequest, fn func(*api.Peer)) error {
		n.Add(1)
		return list(srv, ctx, r, fn)
	}
	return &n
}
