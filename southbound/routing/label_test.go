package routing

import (
	"net/netip"
	"slices"
	"testing"
)

// checkLabels verifies the label invariants of a Result: one label per VRF
// ID (the same on every host), one per binding, all distinct, and every hop
// carrying the label and underlay address of the port it names.
func checkLabels(t *testing.T, res Result, m Model) {
	t.Helper()
	addr := map[string]netip.Addr{}
	for _, h := range m.Hosts {
		addr[h.Name] = h.Addr
	}
	vrfLabel := map[string]uint32{}
	owner := map[uint32]string{}
	claim := func(l uint32, who string) {
		if l < FirstLabel {
			t.Errorf("%s has label %d", who, l)
		}
		if o, ok := owner[l]; ok && o != who {
			t.Errorf("label %d is on %s and %s", l, o, who)
		}
		owner[l] = who
	}
	ports := map[[3]string]Port{} // host, VRF, interface
	for _, x := range allVRFs(res) {
		v := x.VRF
		if l, ok := vrfLabel[v.ID]; ok && l != v.Label {
			t.Errorf("VRF %s has labels %d and %d", v.ID, l, v.Label)
		}
		vrfLabel[v.ID] = v.Label
		claim(v.Label, "vrf "+v.ID)
		for _, p := range v.Ports {
			claim(p.Label, "port "+v.Tenant+"/"+v.VPN+"/"+p.Interface)
			ports[[3]string{x.Host, v.ID, p.Interface}] = p
		}
	}
	for _, x := range allVRFs(res) {
		if x.VRF == nil {
			continue
		}
		if got := res.Hosts[x.Host].Addr; got != addr[x.Host] {
			t.Errorf("host %s: underlay %v, want %v", x.Host, got, addr[x.Host])
		}
		for _, r := range x.VRF.Routes {
			for _, h := range r.NextHops {
				p, ok := ports[[3]string{h.Host, h.VRF, h.Interface}]
				if !ok {
					t.Errorf("%s %s: hop %s names no port", x.VRF.ID, r.Prefix, h)
					continue
				}
				if h.Label != p.Label || h.Underlay != addr[h.Host] {
					t.Errorf("%s %s: hop %s, want label %d underlay %v", x.VRF.ID, r.Prefix, h, p.Label, addr[h.Host])
				}
			}
		}
	}
}

func withUnderlay(m Model) Model {
	for i := range m.Hosts {
		m.Hosts[i].Addr = netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
	}
	return m
}

func labelsOf(res Result) map[string]uint32 {
	out := map[string]uint32{}
	for _, x := range allVRFs(res) {
		out["vrf "+x.VRF.ID] = x.VRF.Label
		for _, p := range x.VRF.Ports {
			out["port "+x.VRF.Tenant+"/"+x.VRF.VPN+"/"+p.Interface] = p.Label
		}
	}
	return out
}

func TestLabels(t *testing.T) {
	for name, m := range map[string]Model{
		"any-to-any":    withUnderlay(anyToAnyModel()),
		"ecmp":          withUnderlay(ecmpModel(LoadBalance)),
		"hub-and-spoke": withUnderlay(hubSpokeModel()),
	} {
		t.Run(name, func(t *testing.T) {
			res, asg := Compute(m, Assignments{})
			checkLabels(t, res, m)
			if got := labelsOf(res); !mapsEqual(got, asg.Labels) {
				t.Errorf("assignments %v, result %v", asg.Labels, got)
			}
			again, _ := Compute(m, asg)
			if !mapsEqual(labelsOf(again), asg.Labels) {
				t.Errorf("labels changed on a second run: %v, then %v", asg.Labels, labelsOf(again))
			}
		})
	}
}

func TestPortAddressIsLowest(t *testing.T) {
	m := anyToAnyModel()
	m.VPNs[0].Bindings[0].Addrs = []netip.Addr{netip.MustParseAddr("10.1.1.9"), netip.MustParseAddr("10.1.1.4")}
	res, _ := Compute(m, Assignments{})
	p := res.Hosts["host-a"].VRF("blue/blue").Ports[0]
	if p.Interface != "g1" || p.Addr != netip.MustParseAddr("10.1.1.4") {
		t.Errorf("port %+v, want g1 with 10.1.1.4", p)
	}
}

// A new binding takes the lowest free label and leaves the others alone; a
// removed binding's label is free at once.
func TestLabelsStable(t *testing.T) {
	m := anyToAnyModel()
	res, asg := Compute(m, Assignments{})
	before := labelsOf(res)

	m.VPNs[0].Bindings = slices.Delete(m.VPNs[0].Bindings, 0, 1) // g1
	freed := before["port blue/blue/g1"]
	res, asg = Compute(m, asg)
	after := labelsOf(res)
	if _, ok := after["port blue/blue/g1"]; ok {
		t.Error("removed binding still has a label")
	}
	for k, l := range after {
		if before[k] != l {
			t.Errorf("%s: label %d became %d", k, before[k], l)
		}
	}
	m.VPNs[0].Bindings = append(m.VPNs[0].Bindings, bind("a0", "host-b", 100, "10.1.1.40"))
	res, _ = Compute(m, asg)
	if got := labelsOf(res)["port blue/blue/a0"]; got != freed {
		t.Errorf("new binding got label %d, want the freed %d", got, freed)
	}
}

// New labels start at MinLabel: a site's own range.
func TestLabelsFromMin(t *testing.T) {
	res, asg := Options{MinLabel: 30000}.Compute(anyToAnyModel(), Assignments{})
	low := uint32(1 << 20)
	for k, l := range asg.Labels {
		if l < 30000 {
			t.Errorf("%s: label %d below the range", k, l)
		}
		low = min(low, l)
	}
	if low != 30000 || len(res.Warnings) != 0 {
		t.Errorf("lowest label %d, warnings %q; want 30000, none", low, res.Warnings)
	}
}

func TestLabelsExhausted(t *testing.T) {
	res, asg := Options{MaxLabel: FirstLabel + 2}.Compute(anyToAnyModel(), Assignments{})
	if !hasWarning(res, "label range exhausted") {
		t.Errorf("warnings %q", res.Warnings)
	}
	if len(asg.Labels) != 3 {
		t.Errorf("labels %v, want 3", asg.Labels)
	}
}

// A port whose label changes is updated in place, with the routes that
// carry its label.
func TestDiffPortLabelChange(t *testing.T) {
	m := anyToAnyModel()
	before, asg := Compute(m, Assignments{})
	moved := Assignments{RDs: asg.RDs, Labels: map[string]uint32{}}
	for k, l := range asg.Labels {
		moved.Labels[k] = l
	}
	moved.Labels["port blue/blue/g3"] = 1000
	after, _ := Compute(m, moved)
	got := changeStrings(Diff(before, after)["vendor-b"])
	want := []string{"update port host-b blue/blue g3", "update route host-b blue/blue 10.1.1.6/32"}
	if !slices.Equal(got, want) {
		t.Errorf("vendor-b: %q, want %q", got, want)
	}
	got = changeStrings(Diff(before, after)["vendor-a"])
	want = []string{"update route host-a blue/blue 10.1.1.6/32"}
	if !slices.Equal(got, want) {
		t.Errorf("vendor-a: %q, want %q", got, want)
	}
}

func mapsEqual(a, b map[string]uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
