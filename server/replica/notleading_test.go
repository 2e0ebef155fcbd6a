package replica

import (
	"strings"
	"testing"
	"time"
)

// A replica refusing a Set says why, and a leader cut off from etcd does
// not claim to be catching up: its election key names it until the
// lease ends, but it will not lead again with that session.
func TestNotLeadingSaysWhy(t *testing.T) {
	r := &Replica{opts: Options{Name: "r1", TTL: 5 * time.Second}}
	for _, c := range []struct {
		st   Status
		want string
	}{
		{Status{Leader: "r1", Connected: false}, "replica r1 lost its etcd session and no longer leads; another replica is elected within 5s"},
		{Status{Leader: "r1", Connected: true}, "replica r1 was elected and is catching up"},
		{Status{Leader: "r2", LeaderAddr: "10.0.0.2:9339", Connected: true}, "the leader is r2 at 10.0.0.2:9339"},
		{Status{Connected: true}, "no leader is elected right now"},
	} {
		if got := r.notLeading(c.st); !strings.Contains(got, c.want) {
			t.Errorf("notLeading(%+v) = %q, want it to contain %q", c.st, got, c.want)
		}
	}
}
