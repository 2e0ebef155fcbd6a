package bgp

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"

	"github.com/netready/netready/southbound/routing"
)

// Learner takes the VPN routes the speaker learns (the southbound
// engine's Learn): it installs add and removes del, in order with the
// Sets. Routes whose route targets nobody imports are its to ignore.
type Learner interface {
	Learn(ctx context.Context, add []routing.Learnt, del []routing.LearntKey)
}

// inbox collects what GoBGP reports until the import loop takes it:
// per RD and prefix only the newest state (a route, or nil for a
// withdrawal) is kept, so a peer flapping a route or sending 100,000 of
// them costs the engine one batch, not one call per UPDATE.
type inbox struct {
	mu      sync.Mutex
	pending map[routing.LearntKey]*routing.Learnt
	ready   chan struct{} // one token while pending is not empty
	// known are the keys handed to the learner and not withdrawn since:
	// what a stopped speaker must take back.
	known map[routing.LearntKey]bool
}

func newInbox() *inbox {
	return &inbox{pending: map[routing.LearntKey]*routing.Learnt{}, ready: make(chan struct{}, 1), known: map[routing.LearntKey]bool{}}
}

// put records the newest state of k (nil: withdrawn).
func (b *inbox) put(k routing.LearntKey, l *routing.Learnt) {
	b.mu.Lock()
	b.pending[k] = l
	b.mu.Unlock()
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// withdrawAll withdraws every route handed over or pending: the speaker
// stopped, so its sessions and everything learnt over them are gone.
func (b *inbox) withdrawAll() {
	b.mu.Lock()
	for k := range b.known {
		b.pending[k] = nil
	}
	for k := range b.pending {
		b.pending[k] = nil
	}
	empty := len(b.pending) == 0
	b.mu.Unlock()
	if !empty {
		select {
		case b.ready <- struct{}{}:
		default:
		}
	}
}

// take returns what is pending, sorted by key, and empties it.
func (b *inbox) take() ([]routing.Learnt, []routing.LearntKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var add []routing.Learnt
	var del []routing.LearntKey
	for _, k := range slices.SortedFunc(maps.Keys(b.pending), compareKey) {
		if l := b.pending[k]; l != nil {
			add = append(add, *l)
			b.known[k] = true
		} else if b.known[k] {
			del = append(del, k)
			delete(b.known, k)
		}
	}
	clear(b.pending)
	return add, del
}

func compareKey(a, b routing.LearntKey) int {
	if a.RD != b.RD {
		if a.RD < b.RD {
			return -1
		}
		return 1
	}
	return a.Prefix.Compare(b.Prefix)
}

// Import hands what the speaker learns to l until ctx ends: one batch
// per wake-up, everything GoBGP reported meanwhile. The caller runs it
// in its own goroutine; the engine serializes the batches with the Sets.
func (s *Speaker) Import(ctx context.Context, l Learner) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.in.ready:
		}
		add, del := s.in.take()
		for len(add)+len(del) > 0 && ctx.Err() == nil {
			nd := min(len(del), learnChunk)
			na := min(len(add), learnChunk-nd)
			l.Learn(ctx, add[:na:na], del[:nd:nd])
			add, del = add[na:], del[nd:]
		}
	}
}

// learnChunk bounds the routes handed to the learner at once: the
// engine holds its lock for one call, so a flood of routes is taken in
// steps with the Sets between them rather than ahead of them all.
const learnChunk = 2000

// watch subscribes to srv's best paths: a route a peer announces or
// withdraws, or a peer going down, reaches the inbox. It also counts
// each peer's UPDATEs and session changes against its max-prefixes
// (prefixlimit.go); one watch delivers them all in GoBGP's order. gen
// tells a stopped server's late events from the running one's.
func (s *Speaker) watch(ctx context.Context, srv *server.BgpServer, gen uint64) error {
	cb := server.WatchEventMessageCallbacks{
		OnBestPath: func(paths []*apiutil.Path, _ time.Time) {
			if s.gen.Load() != gen {
				return
			}
			for _, p := range paths {
				s.learn(p)
			}
		},
		OnPathUpdate: func(paths []*apiutil.Path, _ time.Time) {
			if s.gen.Load() != gen {
				return
			}
			for _, armed := range s.limits.update(paths) {
				go s.enforce(ctx, srv, armed)
			}
		},
		OnPeerUpdate: func(ev *apiutil.WatchEventMessage_PeerEvent, at time.Time) {
			if s.gen.Load() != gen || ev.Type != apiutil.PEER_EVENT_STATE {
				return
			}
			s.sessions.set(ev, at)
			if ev.Peer.State.SessionState != bgp.BGP_FSM_ESTABLISHED {
				s.limits.reset(ev.Peer.State.NeighborAddress)
			}
		},
	}
	opts := []server.WatchOption{server.WatchBestPath(true), server.WatchUpdate(false, "", ""), server.WatchPeer()}
	if err := srv.WatchEvent(ctx, cb, opts...); err != nil {
		return fmt.Errorf("bgp: watch learnt routes: %w", err)
	}
	return nil
}

// enforce hands GoBGP a peer that went over its max-prefixes with its
// prefix limit set: GoBGP counts its Adj-RIB-In once and closes the
// session (cease, maximum number of prefixes reached), keeping it closed
// until the neighbor is configured again.
func (s *Speaker) enforce(ctx context.Context, srv *server.BgpServer, armed *api.Peer) {
	addr := armed.GetConf().GetNeighborAddress()
	s.log.Warn("bgp: neighbor over max-prefixes: closing its session", "peer", addr)
	if _, err := srv.UpdatePeer(ctx, &api.UpdatePeerRequest{Peer: armed}); err != nil && ctx.Err() == nil {
		s.log.Error("bgp: close the session of a neighbor over max-prefixes", "peer", addr, "err", err)
	}
}

// learn turns one best path into an inbox entry. Paths the speaker
// originated itself are not learnt.
func (s *Speaker) learn(p *apiutil.Path) {
	if p.Family != bgp.RF_IPv4_VPN && p.Family != bgp.RF_IPv6_VPN || !p.PeerAddress.IsValid() {
		return
	}
	nlri, ok := p.Nlri.(*bgp.LabeledVPNIPAddrPrefix)
	if !ok || nlri.RD == nil {
		return
	}
	k := routing.LearntKey{RD: nlri.RD.String(), Prefix: nlri.Prefix.Masked()}
	if p.Withdrawal {
		s.in.put(k, nil)
		return
	}
	l, err := learnt(k, nlri, p)
	if err != nil {
		s.log.Warn("bgp: learnt route dropped", "route", k.RD+" "+k.Prefix.String(), "peer", p.PeerAddress, "err", err)
		s.dropped.add(p.PeerAddress.String())
		s.in.put(k, nil)
		return
	}
	s.in.put(k, l)
}

// learnt reads a VPNv4 or VPNv6 path: its label (the bottom of the
// stack), next hop and route targets. The tunnels run over IPv4, so a
// VPNv6 route's next hop must be an IPv4-mapped IPv6 address (RFC 4659,
// 3.2.1.2), which is learnt as the IPv4 address it maps.
func learnt(k routing.LearntKey, nlri *bgp.LabeledVPNIPAddrPrefix, p *apiutil.Path) (*routing.Learnt, error) {
	l := &routing.Learnt{RD: k.RD, Prefix: k.Prefix, Source: p.PeerAddress.String()}
	if n := len(nlri.Labels.Labels); n > 0 {
		l.Label = nlri.Labels.Labels[n-1]
	}
	for _, a := range p.Attrs {
		switch a := a.(type) {
		case *bgp.PathAttributeUnknown:
			return nil, fmt.Errorf("unknown attribute type %d", a.GetType())
		case *bgp.PathAttributeMpReachNLRI:
			l.NextHop = a.Nexthop
		case *bgp.PathAttributeExtendedCommunities:
			for _, c := range a.Value {
				if _, sub := c.GetTypes(); sub == bgp.EC_SUBTYPE_ROUTE_TARGET {
					l.RTs = append(l.RTs, c.String())
				}
			}
		}
	}
	if !k.Prefix.Addr().Is4() && l.NextHop.Is4In6() {
		l.NextHop = l.NextHop.Unmap()
	}
	switch {
	case !l.NextHop.Is4():
		return nil, fmt.Errorf("next hop %v is not an IPv4 address (nor, for VPNv6, an IPv4-mapped one)", l.NextHop)
	case l.Label == 0:
		return nil, fmt.Errorf("no label")
	case len(l.RTs) == 0:
		return nil, fmt.Errorf("no route target")
	}
	return l, nil
}
