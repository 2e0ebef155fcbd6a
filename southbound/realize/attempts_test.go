package realize

import (
	"fmt"
	"testing"
	"time"

	"github.com/netready/netready/southbound/l2"
	"github.com/netready/netready/southbound/routing"
)

// The attempt times of deleted objects are forgotten once they outnumber
// the live ones; those of objects still realized are kept.
func TestForgetAttempts(t *testing.T) {
	e := &Engine{attempts: map[string]time.Time{}}
	e.model = routing.Model{
		Hosts: []routing.Host{{Name: "h"}},
		VPNs:  []routing.VPN{{Tenant: "t", Name: "v", Bindings: []routing.Binding{{Interface: "i"}}}},
	}
	e.l2 = l2.Result{"h": {Networks: []l2.Segment{{ID: "t/n", Ports: []l2.Port{{Interface: "p"}}}}}}
	live := []string{hostKey("h"), vpnKey("t", "v"), bindingKey("t", "v", "i"), l2NetKey("t/n"), l2BindingKey("t/n", "p")}
	at := time.Unix(1, 0)
	for _, k := range live {
		e.attempts[k] = at
	}
	for i := range 2000 { // deleted bindings
		e.attempts[bindingKey("t", "v", fmt.Sprint("gone", i))] = at
	}
	e.recordSuccess(nil, nil, nil, at)
	if len(e.attempts) != len(live) {
		t.Fatalf("%d attempt times kept, want the %d live objects'", len(e.attempts), len(live))
	}
	for _, k := range live {
		if _, ok := e.attempts[k]; !ok {
			t.Errorf("live object %s forgotten", k)
		}
	}
}
