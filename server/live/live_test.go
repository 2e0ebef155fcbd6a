package live

import (
	"fmt"
	"testing"

	"github.com/netready/netready/server/gnmipath"
)

// Which request paths reach the counters of bindings: at, above and
// inside them, through wildcards, "...", keys and module prefixes; and
// which do not (another branch, a sibling of the counters).
func TestReaches(t *testing.T) {
	inPkts := []string{"tenants", "tenant", "vpns", "vpn", "bindings", "binding", "counters", "in-pkts"}
	for p, want := range map[string]bool{
		"/":        true,
		"/tenants": true,
		"/tenants/tenant[name=blue]/vpns/vpn[name=v]/bindings/binding[interface=g1]":          true,
		"/tenants/tenant[name=blue]/vpns/vpn[name=v]/bindings/binding[interface=g1]/counters": true,
		"/tenants/tenant/vpns/vpn/bindings/binding/counters/in-pkts":                          true,
		"/netready-tenants:tenants/tenant/netready-l3vpn:vpns/vpn":                            true,
		"/tenants/*/vpns/*/bindings/*/counters":                                               true,
		"/.../counters":                                                                       true,
		"/tenants/.../in-pkts":                                                                true,
		"/hosts/host[name=a]":                                                                 false,
		"/tenants/tenant/ports":                                                               false,
		"/tenants/tenant/vpns/vpn/status":                                                     false,
		"/tenants/tenant/vpns/vpn/bindings/binding/status/oper-status":                        false,
		"/.../status": false,
	} {
		elems, err := gnmipath.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := reaches(elems, inPkts); got != want {
			t.Errorf("%s reaches the counters: %v, want %v", p, got, want)
		}
	}
}

// Which request paths ask for the counters of binding g1 of blue's VPN v:
// keys select, "*" and "..." do not, paths inside the container do.
func TestWithin(t *testing.T) {
	c, err := gnmipath.Parse("/tenants/tenant[name=blue]/vpns/vpn[name=v]/bindings/binding[interface=g1]/counters")
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{
		"/":                          true,
		"/tenants/tenant[name=blue]": true,
		"/tenants/tenant[name=*]/vpns/vpn/bindings/binding[interface=g1]/counters/in-pkts": true,
		"/netready-tenants:tenants/tenant[name=blue]/netready-l3vpn:vpns":                  true,
		"/tenants/tenant[name=blue]/.../counters":                                          true,
		"/.../binding[interface=g1]":                                                       true,
		"/tenants/tenant[name=red]":                                                        false,
		"/tenants/tenant[name=blue]/vpns/vpn[name=v]/bindings/binding[interface=g2]":       false,
		"/.../in-pkts": true,
		// Without the schema, what follows "..." may lie inside the
		// container: read, then matched by nothing (a read, never a
		// value).
		"/.../binding[interface=g2]/counters":                true,
		"/tenants/tenant[name=blue]/vpns/vpn[name=v]/status": false,
	} {
		elems, err := gnmipath.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := within(elems, c); got != want {
			t.Errorf("%s asks for g1's counters: %v, want %v", p, got, want)
		}
	}
}

// Which entries of a list a reader names by their keys, and when it may
// ask for entries it does not name.
func TestEntries(t *testing.T) {
	list, err := gnmipath.Parse("/tenants/tenant[name=blue]/vpns/vpn[name=v]/learnt-routes/route")
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"route-distinguisher", "prefix"}
	for p, want := range map[string]string{
		"/tenants/tenant[name=blue]/vpns/vpn[name=v]/learnt-routes/route[route-distinguisher=1:1][prefix=10.0.0.0/24]/installed": "[map[prefix:10.0.0.0/24 route-distinguisher:1:1]] false",
		"/netready-tenants:tenants/tenant/vpns/vpn/learnt-routes/route[route-distinguisher=1:1][prefix=10.0.0.0/24]":             "[map[prefix:10.0.0.0/24 route-distinguisher:1:1]] false",
		"/tenants/tenant[name=red]/vpns/vpn/learnt-routes/route[route-distinguisher=1:1][prefix=10.0.0.0/24]":                    "[] false",
		"/tenants/tenant[name=blue]/vpns/vpn[name=v]/learnt-routes/route[route-distinguisher=*][prefix=10.0.0.0/24]":             "[] true",
		"/tenants/tenant[name=blue]/vpns/vpn[name=v]/learnt-routes/route[prefix=10.0.0.0/24]":                                    "[] true",
		"/tenants/tenant[name=blue]/vpns/vpn[name=v]/learnt-routes":                                                              "[] true",
		"/tenants/.../route[route-distinguisher=1:1][prefix=10.0.0.0/24]":                                                        "[] true",
		"/tenants/tenant[name=blue]/vpns/vpn[name=v]/counters":                                                                   "[] false",
	} {
		elems, err := gnmipath.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		named, all := requested{elems}.Entries(list, keys)
		if got := fmt.Sprint(named, " ", all); got != want {
			t.Errorf("%s: named %v, all %v; want %s", p, named, all, want)
		}
	}
}
