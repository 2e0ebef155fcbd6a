package routing

import (
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
	if !slices.Contains(x.Recomputed(), "ext/ext") {
		t.Fatalf("recomputed %q, want ext/ext among them", x.Recomputed())
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

func TestVPNOfVRF(t *testing.T) {
	for id, want := range map[string]string{"t/v": "t/v", "t/v/eth0": "t/v", "x": "x"} {
		if got := vpnOfVRF(id); got != want {
			t.Errorf("vpnOfVRF(%q) = %q, want %q", id, got, want)
		}
	}
}
