package routing

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestVPNStatusImportConflict: VPN ext imports from blue and red, which
// both have 10.1.1.5: ext's VRF routes it to blue only, and ext's status
// says so; a change to red alone names ext among the VPNs to show again,
// and removing red's claim clears the reason.
func TestVPNStatusImportConflict(t *testing.T) {
	m := anyToAnyModel()
	m.VPNs = append(m.VPNs, VPN{
		Tenant: "ext", Name: "ext", Policy: AnyToAny,
		ImportRTs: []string{"64512:100", "64512:200", "64512:300"}, ExportRTs: []string{"64512:300"},
		Bindings: []Binding{bind("e1", "host-a", 100, "10.9.0.1")},
	})
	x := Options{}.NewIncremental(m, Assignments{})
	why := x.VPNStatus("ext/ext")
	want := "VRF ext/ext on host-a: 10.1.1.5/32 is imported from VPNs blue/blue and red/red; blue/blue is used"
	if !slices.Contains(why, want) {
		t.Fatalf("ext status %q, want %q", why, want)
	}
	if w := x.VPNStatus("red/red"); w != nil {
		t.Fatalf("red status %q, want none", w)
	}

	m2 := anyToAnyModel()
	m2.VPNs = append(m2.VPNs, m.VPNs[2])
	editBinding(&m2, "g5", func(b *Binding) { b.AdminUp = false })
	x.Apply(m2, Touched{Bindings: []BindingRef{{VPN: "red/red", Interface: "g5"}}})
	if !slices.Contains(x.ReasonsChanged(), "ext/ext") {
		t.Fatalf("recomputed %q, want ext/ext among them", x.ReasonsChanged())
	}
	for _, w := range x.VPNStatus("ext/ext") {
		if strings.Contains(w, "10.1.1.5/32") {
			t.Fatalf("ext status %q after red's 10.1.1.5 went down", x.VPNStatus("ext/ext"))
		}
	}
}

// TestVPNStatusNoExchange: an any-to-any VPN without route targets shows
// it once it spans two hosts, not on one.
func TestVPNStatusNoExchange(t *testing.T) {
	m := anyToAnyModel()
	m.VPNs[1].ImportRTs, m.VPNs[1].ExportRTs = nil, nil
	editBinding(&m, "g6", func(b *Binding) { b.Host = "host-a" })
	x := Options{}.NewIncremental(m, Assignments{})
	if w := x.VPNStatus("red/red"); w != nil {
		t.Fatalf("one host: status %q, want none", w)
	}
	m2 := anyToAnyModel()
	m2.VPNs[1].ImportRTs, m2.VPNs[1].ExportRTs = nil, nil
	x.Apply(m2, Touched{Bindings: []BindingRef{{VPN: "red/red", Interface: "g6"}}})
	if w := x.VPNStatus("red/red"); len(w) != 1 || !strings.Contains(w[0], "members on different hosts do not reach each other") {
		t.Fatalf("two hosts: status %q", w)
	}
}

// TestVPNStatusManyConflicts: beyond maxListed conflicts, one line per
// VRF gives their number.
func TestVPNStatusManyConflicts(t *testing.T) {
	m := anyToAnyModel()
	for i := range 10 {
		a := netip.MustParseAddr(fmt.Sprintf("10.1.1.%d", 100+i))
		editBinding(&m, "g1", func(b *Binding) { b.Addrs = append(b.Addrs, a) })
		editBinding(&m, "g5", func(b *Binding) { b.Addrs = append(b.Addrs, a) })
	}
	m.VPNs = append(m.VPNs, VPN{
		Tenant: "ext", Name: "ext", Policy: AnyToAny,
		ImportRTs: []string{"64512:100", "64512:200"}, ExportRTs: []string{"64512:300"},
		Bindings: []Binding{bind("e1", "host-a", 100, "10.9.0.1")},
	})
	x := Options{}.NewIncremental(m, Assignments{})
	want := []string{"VRF ext/ext on host-a: 12 prefixes reach it from several VPNs; one VPN's route is used for each (the VRF's own VPN first, then the first by name)"}
	if got := x.VPNStatus("ext/ext"); !slices.Equal(got, want) {
		t.Fatalf("ext status %q, want %q", got, want)
	}
}
