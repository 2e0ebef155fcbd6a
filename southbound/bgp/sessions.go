package bgp

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// sessions are the peers' sessions as GoBGP's peer events report them.
// A status poll reads them rather than calling ListPeer, which counts
// each established peer's whole Adj-RIB-In in GoBGP's server loop (the
// loop that takes the speaker's announcements): once a second under a
// peer's flood of 100,000 routes. ListPeer is still called when the
// prefixes sent are counted (sentEvery) or a peer has had no event yet.
type sessions struct {
	mu sync.Mutex
	by map[netip.Addr]session
	// pfxCt counts per peer the sessions closed for going over
	// max-prefixes; kept when the peer is configured again, so a peer
	// that keeps going over shows it.
	pfxCt map[netip.Addr]uint64
}

// session is one peer's last reported state.
type session struct {
	state string    // as NeighborStatus.SessionState
	since time.Time // when it was established; zero unless it is
	// pfxCt: GoBGP closed it for going over its prefix limit.
	pfxCt      bool
	disconnect string
}

// set records a peer event that happened at at.
func (ss *sessions) set(ev *apiutil.WatchEventMessage_PeerEvent, at time.Time) {
	st := ev.Peer.State
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.by == nil {
		ss.by, ss.pfxCt = map[netip.Addr]session{}, map[netip.Addr]uint64{}
	}
	old := ss.by[st.NeighborAddress]
	s := session{state: fsmState(st.SessionState), pfxCt: st.AdminState == api.PeerState_ADMIN_STATE_PFX_CT, disconnect: st.DisconnectMessage}
	if s.pfxCt && !old.pfxCt {
		ss.pfxCt[st.NeighborAddress]++
	}
	if s.state == "established" {
		s.since = old.since
		if old.state != "established" {
			s.since = at.UTC().Truncate(time.Second)
		}
	}
	ss.by[st.NeighborAddress] = s
}

// remove forgets peer a: it is no longer configured (or the server
// stopped).
func (ss *sessions) remove(a netip.Addr) {
	ss.mu.Lock()
	delete(ss.by, a)
	ss.mu.Unlock()
}

// get returns peer a's last reported session.
func (ss *sessions) get(a netip.Addr) (session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.by[a]
	return s, ok
}

// exceeded is how often peer a's session was closed for going over
// max-prefixes.
func (ss *sessions) exceeded(a netip.Addr) uint64 {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.pfxCt[a]
}

// fsmState names a GoBGP FSM state as session-state does.
func fsmState(s bgp.FSMState) string {
	name := strings.ToLower(strings.TrimPrefix(s.String(), "BGP_FSM_"))
	switch name {
	case "connect", "active", "opensent", "openconfirm", "established":
		return name
	}
	return "idle"
}

// status is the session as a NeighborStatus, without the prefix counts.
func (s session) status(maxPrefixes uint32) NeighborStatus {
	return NeighborStatus{SessionState: s.state, EstablishedAt: s.since, LastError: lastError(s.disconnect, s.pfxCt, maxPrefixes)}
}

// lastError says why a session is down: GoBGP's disconnect message, or
// that the neighbor went over max-prefixes.
func lastError(disconnect string, pfxCt bool, maxPrefixes uint32) string {
	if pfxCt {
		return fmt.Sprintf("the neighbor announced more than max-prefixes (%d): session closed until the neighbor is configured again", maxPrefixes)
	}
	return disconnect
}
