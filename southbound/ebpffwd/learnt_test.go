package ebpffwd_test

import (
	"net/netip"
	"testing"

	"github.com/netready/netready/southbound/routing"
)

// A route learnt from a BGP peer (routing.HopLearnt) on the eBPF host is
// tunnelled to its next hop with its label as VNI, as linux-vforwarder
// does: here the "peer" is host-a, and the label is g1's port label, so
// host-a's linux-vforwarder delivers the traffic to g1, which answers
// from the learnt prefix. Reconcile then reads the learnt route back as
// it was written: it wants the VRF's learnt routes too, not only its
// computed ones.
func TestLearntRouteTunnelsToNextHop(t *testing.T) {
	r := newRig(t)
	res, asg := routing.Compute(anyToAnyModel(), r.asg)
	r.asg = asg
	var g1Label uint32
	for _, p := range res.Hosts["host-a"].VRF("blue/blue").Ports {
		if p.Interface == "g1" {
			g1Label = p.Label
		}
	}
	if g1Label == 0 {
		t.Fatal("g1 has no port on host-a")
	}
	// Placed as the engine places it: host-b's Blue holds it among its
	// learnt routes (VRF.Learnt), apart from the computed ones; host-a's
	// refuses it (g1's label leads to a port there).
	tbl := routing.NewLearntTable()
	tbl.Update([]routing.Learnt{{RD: "65001:1", Prefix: netip.MustParsePrefix("10.77.0.0/16"), NextHop: ulA, Label: g1Label, RTs: []string{"64512:100"}}}, nil)
	res = tbl.Overlay(res).Result
	if n := res.Hosts["host-b"].VRF("blue/blue").Learnt.Len(); n != 1 {
		t.Fatalf("host-b's Blue holds %d learnt routes, want 1", n)
	}
	r.applyResult(res)

	g1 := r.guest("host-a", "blue", "blue", "g1", "10.1.1.5/24", "10.77.0.1/32")
	g3 := r.guest("host-b", "blue", "blue", "g3", "10.1.1.6/24")
	mustPing(t, g3, "10.77.0.1")
	mustPing(t, g1, "10.1.1.6")
	r.guest("host-b", "red", "red", "g6", "10.1.1.6/24")
	g7 := r.guest("host-b", "red", "red", "g7", "10.9.9.9/24")
	mustNotPing(t, g7, "10.77.0.1") // learnt in blue only

	if drift := r.reconcile(r.res); len(drift) != 0 {
		t.Errorf("drift after apply:\n%v", drift)
	}
}
