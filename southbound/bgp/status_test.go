package bgp

import (
	api "github.com/osrg/gobgp/v4/api"
	"google.golang.org/protobuf/types/known/timestamppb"

	"testing"
	"time"
)

// A count is reused until sentEvery has passed, unless what is announced
// changed or a session came up; a count that started before a change does
// not stand for after it.
func TestSentCounts(t *testing.T) {
	var c sentCounts
	t0 := time.Unix(1000, 0)
	poll := func(now time.Time, gotSent uint64, peers ...string) (bool, map[string]NeighborStatus) {
		count, gen := c.due(now)
		out := map[string]NeighborStatus{}
		for _, p := range peers {
			out[p] = NeighborStatus{SessionState: "established", PrefixesSent: gotSent}
		}
		c.settle(out, count, gen, now)
		return count, out
	}
	if count, _ := poll(t0, 5, "a"); !count {
		t.Fatal("the first poll must count")
	}
	count, out := poll(t0.Add(time.Second), 0, "a")
	if count || out["a"].PrefixesSent != 5 {
		t.Fatalf("second poll: count %v, sent %d; want the last count (5) reused", count, out["a"].PrefixesSent)
	}
	if count, _ := poll(t0.Add(sentEvery), 6, "a"); !count {
		t.Fatal("a poll sentEvery after the count must count")
	}
	c.invalidate()
	if count, _ := poll(t0.Add(sentEvery+time.Second), 7, "a"); !count {
		t.Fatal("a poll after an announcement must count")
	}
	// A session comes up: shown with no count (0), counted at the next poll.
	_, out = poll(t0.Add(sentEvery+2*time.Second), 0, "a", "b")
	if out["b"].PrefixesSent != 0 || out["a"].PrefixesSent != 7 {
		t.Fatalf("sent %+v", out)
	}
	if count, _ := poll(t0.Add(sentEvery+3*time.Second), 7, "a", "b"); !count {
		t.Fatal("a poll after a session came up must count")
	}
	// An announcement while a count is under way: the next poll counts again.
	now := t0.Add(sentEvery + 4*time.Second)
	c.invalidate()
	count, gen := c.due(now)
	c.invalidate() // Announce during ListPeer
	c.settle(map[string]NeighborStatus{"a": {SessionState: "established"}, "b": {SessionState: "established"}}, count, gen, now)
	if count, _ := poll(now.Add(time.Second), 8, "a", "b"); !count {
		t.Fatal("a count begun before an announcement must not stand for after it")
	}
}

// GoBGP keeps a closed session's uptime: established-at is shown only
// while the session is established, never for one that is down.
func TestEstablishedAtOnlyWhileEstablished(t *testing.T) {
	up := timestamppb.New(time.Unix(1_800_000_000, 0))
	for state, want := range map[api.PeerState_SessionState]bool{
		api.PeerState_SESSION_STATE_ESTABLISHED: true,
		api.PeerState_SESSION_STATE_IDLE:        false,
		api.PeerState_SESSION_STATE_ACTIVE:      false,
		api.PeerState_SESSION_STATE_CONNECT:     false,
	} {
		p := &api.Peer{State: &api.PeerState{SessionState: state}, Timers: &api.Timers{State: &api.TimersState{Uptime: up}}}
		n := neighborStatus(p)
		if got := !n.EstablishedAt.IsZero(); got != want {
			t.Errorf("%s: established-at %v, want shown %v", n.SessionState, n.EstablishedAt, want)
		}
	}
}
