package realize_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/netready/netready/southbound/routing"
)

func learntRoute(prefix string, label uint32, rt string) routing.Learnt {
	return routing.Learnt{RD: "65000:7", Prefix: netip.MustParsePrefix(prefix), NextHop: netip.MustParseAddr("198.51.100.1"), Label: label, RTs: []string{rt}, Source: "198.51.100.1"}
}

// overlaid is what the forwarders must hold: res with the learnt routes
// laid over it.
func overlaid(res routing.Result, refused []routing.LearntKey, ls ...routing.Learnt) routing.Result {
	t := routing.NewLearntTable()
	t.Update(ls, nil)
	t.Refuse(refused, "refused")
	return t.Overlay(res).Result
}

const blueLearntPath = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/learnt-routes/route"

// Learnt routes reach the VRFs that import their route target on every
// host, stay there across Sets (also when a VRF goes away on one host),
// are written as the VPN's state, and leave when withdrawn. A route a
// backend refuses is undone everywhere and shown with the reason.
func TestLearn(t *testing.T) {
	r := newRig(t, "any-to-any")
	ctx := context.Background()
	blue, unknown := learntRoute("203.0.113.0/24", 900, "64512:100"), learntRoute("198.18.0.0/15", 901, "64512:999")
	r.e.Learn(ctx, []routing.Learnt{blue, unknown}, nil)
	r.holds("after Learn", overlaid(r.res, nil, blue), vendorA, vendorB)
	if !strings.Contains(r.net.fwdState(vendorA), "203.0.113.0/24") || strings.Contains(r.net.fwdState(vendorA), "198.18.0.0/15") {
		t.Fatalf("vendor-a holds %s", r.net.fwdState(vendorA))
	}
	st := statusMap(update(t, r.e))
	if got := st[blueLearntPath+"[prefix=203.0.113.0/24][route-distinguisher=65000:7]/installed"]; got != "true" {
		t.Errorf("Blue's learnt route: installed %q; status %v", got, st)
	}
	for p := range st {
		if strings.Contains(p, "198.18.0.0") || strings.Contains(p, "tenant[name=red]") {
			t.Errorf("status for a route nobody imports: %s", p)
		}
	}

	// A Set that changes Blue's routes keeps the learnt one.
	n, _, _ := r.next(moveG3)
	r.commit(n)
	r.holds("after a Set", overlaid(r.res, nil, blue), vendorA, vendorB)

	// Blue leaves host-b: its VRF there goes, learnt route included.
	n, _, _ = r.next(`{"netready-tenants:tenants": {"tenant": [{"name": "blue", "netready-l3vpn:vpns": {"vpn": [{"name": "blue",
		"bindings": {"binding": [{"interface": "g3", "admin-state": "down"}, {"interface": "g4", "admin-state": "down"}]}}]}}]}}`)
	r.commit(n)
	r.holds("after Blue left host-b", overlaid(r.res, nil, blue), vendorA, vendorB)

	// A route vendor-a refuses is undone and refused, with the reason.
	other := learntRoute("203.0.114.0/24", 902, "64512:100")
	r.failNext(vendorA, 0)
	r.e.Learn(ctx, []routing.Learnt{other}, nil)
	r.holds("after a refused route", overlaid(r.res, []routing.LearntKey{other.Key()}, blue, other), vendorA, vendorB)
	st = statusMap(update(t, r.e))
	key := blueLearntPath + "[prefix=203.0.114.0/24][route-distinguisher=65000:7]"
	if st[key+"/installed"] != "false" || !strings.Contains(st[key+"/reason"], "vendor-a") {
		t.Errorf("refused route: installed %q reason %q", st[key+"/installed"], st[key+"/reason"])
	}

	// Withdrawn: gone.
	r.e.Learn(ctx, nil, []routing.LearntKey{blue.Key(), other.Key(), unknown.Key()})
	r.holds("after the withdrawal", r.res, vendorA, vendorB)
}
