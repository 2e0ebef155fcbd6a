package daemon

import (
	"testing"

	"github.com/netready/netready/server/replica"
)

// TestDemotionOnlyWhenLeadingEnds: the statuses a replica reports while
// it takes over (its own election observed before its role is leader)
// do not put the commit-confirmed manager back to following after its
// Lead; only the end of leading does.
func TestDemotionOnlyWhenLeadingEnds(t *testing.T) {
	demoted := demotion()
	for i, c := range []struct {
		role string
		want bool
	}{
		{replica.RoleFollower, false}, // connected
		{replica.RoleFollower, false}, // a leader observed: this replica, after OnLead
		{replica.RoleLeader, false},
		{replica.RoleLeader, false},  // leader observed again
		{replica.RoleFollower, true}, // the session ended
		{replica.RoleFollower, false},
	} {
		if got := demoted(c.role); got != c.want {
			t.Errorf("status %d (%s): demoted %v, want %v", i, c.role, got, c.want)
		}
	}
}
