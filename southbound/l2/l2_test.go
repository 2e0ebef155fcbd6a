package l2_test

import (
	"net/netip"
	"reflect"
	"strconv"
	"testing"

	"github.com/netready/netready/southbound/l2"
)

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
	addrC = netip.MustParseAddr("192.0.2.3")
)

func model() l2.Model {
	return l2.Model{
		Hosts: []l2.Host{{"a", "ba", addrA}, {"b", "bb", addrB}, {"c", "bb", addrC}},
		Networks: []l2.Network{
			{Tenant: "t", Name: "red", SegmentID: 5000, Bindings: []l2.Binding{
				{Interface: "r2", Host: "a", VNIC: "p2", AdminUp: true},
				{Interface: "r1", Host: "a", VNIC: "p1", AdminUp: true},
				{Interface: "r3", Host: "b", VNIC: "p3", AdminUp: true},
				{Interface: "r4", Host: "c", VNIC: "p4"},     // down
				{Interface: "r5", VNIC: "p5", AdminUp: true}, // not placed
			}},
			{Tenant: "t", Name: "blue", Bindings: []l2.Binding{{Interface: "b1", Host: "c", VNIC: "p6", AdminUp: true}}},
		},
	}
}

// TestCompute: a segment on each host with an active binding, its ports
// sorted, flooding to the other hosts of the network only.
func TestCompute(t *testing.T) {
	res := l2.Compute(model())
	red := l2.Segment{ID: "t/red", VNI: 5000}
	wantA := red
	wantA.Ports = []l2.Port{{Interface: "r1", VNIC: "p1"}, {Interface: "r2", VNIC: "p2"}}
	wantA.Remotes = []netip.Addr{addrB}
	if !reflect.DeepEqual(res["a"].Networks, []l2.Segment{wantA}) {
		t.Errorf("host a: %+v, want %+v", res["a"].Networks, wantA)
	}
	if n := res["b"].Networks; len(n) != 1 || !reflect.DeepEqual(n[0].Remotes, []netip.Addr{addrA}) {
		t.Errorf("host b: %+v", n)
	}
	if n := res["c"].Networks; len(n) != 1 || n[0].ID != "t/blue" || len(n[0].Remotes) != 0 {
		t.Errorf("host c holds %+v, want blue alone (red's binding there is down)", n)
	}
	if v := n0(res["c"]).VNI; v < l2.MinAutoVNI || v > l2.MaxVNI {
		t.Errorf("blue has VNI %d, want one of the automatic range", v)
	}
}

func n0(hv *l2.HostView) l2.Segment { return hv.Networks[0] }

// TestVNIs: explicit ids are kept, automatic ones are stable and in their
// range, and a taken number goes to the network sorting first.
func TestVNIs(t *testing.T) {
	nets := []l2.Network{{Tenant: "t", Name: "b", SegmentID: 7}, {Tenant: "t", Name: "a", SegmentID: 7}, {Tenant: "t", Name: "c"}}
	v := l2.VNIs(nets)
	if v["t/a"] != 7 {
		t.Errorf("t/a: %d, want its segmentation-id 7", v["t/a"])
	}
	if v["t/b"] == 7 || v["t/b"] < l2.MinAutoVNI || v["t/c"] < l2.MinAutoVNI || v["t/b"] == v["t/c"] {
		t.Errorf("VNIs %v: t/b and t/c want distinct automatic ones", v)
	}
	if again := l2.VNIs(nets[2:]); again["t/c"] != v["t/c"] {
		t.Errorf("t/c's automatic VNI moved: %d then %d", v["t/c"], again["t/c"])
	}
}

// TestDiff: a change per segment that differs; a host moving to another
// backend is emptied on the old one first; a new VNI removes the old
// segment; Diff of a result against itself is empty.
func TestDiff(t *testing.T) {
	m := model()
	before := l2.Compute(m)
	if d := l2.Diff(before, before); len(d) != 0 {
		t.Fatalf("diff of a result with itself: %v", d)
	}
	m.Hosts[0].Backend = "bb"                 // host a moves
	m.Networks[0].SegmentID = 6000            // red renumbered
	m.Networks[1].Bindings[0].AdminUp = false // blue leaves c
	after := l2.Compute(m)
	got := map[string][]string{}
	for b, cs := range l2.Diff(before, after) {
		for _, c := range cs {
			got[b] = append(got[b], c.String())
		}
	}
	want := map[string][]string{
		"ba": {"delete a: L2 t/red vni 5000 ports 2 remotes 1"},
		"bb": {
			"delete b: L2 t/red vni 5000 ports 1 remotes 1",
			"delete c: L2 t/blue vni " + strconv.FormatUint(uint64(n0(before["c"]).VNI), 10) + " ports 1 remotes 0",
			"set a: L2 t/red vni 6000 ports 2 remotes 1",
			"set b: L2 t/red vni 6000 ports 1 remotes 1",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("diff\n%v\nwant\n%v", got, want)
	}
}
