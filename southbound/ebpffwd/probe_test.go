package ebpffwd_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/ebpffwd"
	"github.com/netready/netready/southbound/l2"
)

type verdicts = map[southbound.PortRef]southbound.Liveness

// prober probes host-b with d every 200 ms until a condition holds.
type prober struct {
	t *testing.T
	d *ebpffwd.Driver
}

func (p prober) probe() verdicts {
	p.t.Helper()
	got, err := p.d.Probe(ctx(p.t), []string{"host-b"})
	if err != nil {
		p.t.Fatalf("probe: %v", err)
	}
	return got
}

// until returns how long it took until cond held of what the probes
// found; it fails the test after 10 s.
func (p prober) until(what string, cond func(verdicts) bool) time.Duration {
	p.t.Helper()
	start := time.Now()
	for {
		got := p.probe()
		if cond(got) {
			return time.Since(start)
		}
		if time.Since(start) > 10*time.Second {
			p.t.Fatalf("%s: still %v after 10 s", what, got)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stillAlive probes for 2 s and fails the test when ref is found dead,
// or never answers.
func (p prober) stillAlive(what string, ref southbound.PortRef) {
	p.t.Helper()
	answered := false
	for start := time.Now(); time.Since(start) < 2*time.Second; time.Sleep(200 * time.Millisecond) {
		got := p.probe()
		if l, ok := got[ref]; ok && !l.Answers {
			p.t.Errorf("%s: %+v, want answers", what, l)
			return
		}
		answered = answered || got[ref].Answers
	}
	if !answered {
		p.t.Errorf("%s: never answered in 2 s", what)
	}
}

func alive(refs ...southbound.PortRef) func(verdicts) bool {
	return func(got verdicts) bool {
		for _, r := range refs {
			if !got[r].Answers {
				return false
			}
		}
		return true
	}
}

func silent(ref southbound.PortRef, reason string) func(verdicts) bool {
	return func(got verdicts) bool {
		return !got[ref].Answers && strings.Contains(got[ref].Reason, reason)
	}
}

// Probe on ebpf-vforwarder finds an instance whose interface went down at
// once, one that stopped answering ARP within a few seconds (the other
// instance with the same address on another vNIC still answering), and
// both again once they are back; a restarted driver probes the ports it
// was given by Reconcile.
func TestProbe(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	res := r.apply(anyToAnyModel())
	g3 := r.guest("host-b", "blue", "blue", "g3", "10.1.1.6/24")
	g6 := r.guest("host-b", "red", "red", "g6", "10.1.1.6/24") // the same address, another VPN
	g3Ref := southbound.PortRef{Host: "host-b", VRF: "blue/blue", Interface: "g3"}
	g4Ref := southbound.PortRef{Host: "host-b", VRF: "blue/blue", Interface: "g4"}
	g6Ref := southbound.PortRef{Host: "host-b", VRF: "red/red", Interface: "g6"}
	p := prober{t, r.ebpf}
	p.until("both answer", alive(g3Ref, g6Ref))
	if got := p.probe(); got[g4Ref].Answers {
		t.Errorf("g4 has no instance, yet answers: %+v", got[g4Ref])
	}

	if err := g3.SetLinkUp(false); err != nil {
		t.Fatal(err)
	}
	if got := p.probe(); !silent(g3Ref, "no carrier")(got) {
		t.Errorf("g3 down: %+v, want no carrier at once", got[g3Ref])
	}
	p.stillAlive("g6 (g3 down)", g6Ref)
	if err := g3.SetLinkUp(true); err != nil {
		t.Fatal(err)
	}
	p.until("g3 back", alive(g3Ref))

	if err := g6.SetARP(false); err != nil {
		t.Fatal(err)
	}
	took := p.until("g6 silent", silent(g6Ref, "no ARP reply from 10.1.1.6"))
	t.Logf("a silent instance was found in %v", took)
	p.stillAlive("g3 (same address as g6, another vNIC)", g3Ref)
	if err := g6.SetARP(true); err != nil {
		t.Fatal(err)
	}
	p.until("g6 back", alive(g6Ref))

	// An L2 reconciliation reads the host again from the maps, which do
	// not hold the addresses: the ports are still probed.
	if _, err := r.ebpf.ReconcileL2(ctx(t), []*l2.HostView{{Host: "host-b"}}); err != nil {
		t.Fatal(err)
	}
	p.stillAlive("g3 after an L2 reconciliation", g3Ref)

	// A restarted driver reads the ports back from the maps, which do
	// not hold their addresses: Reconcile gives them.
	d := ebpfDriver(t, r.lab, "vendor-b")
	if drift, err := d.Reconcile(ctx(t), views(res, "vendor-b")); err != nil || len(drift) != 0 {
		t.Fatalf("reconcile after restart: %v, drift %q", err, drift)
	}
	pd := prober{t, d}
	pd.until("probed after a restart", alive(g3Ref, g6Ref))

	// g3's NIC destroyed (its end deleted in the guest): the vNIC goes
	// with it, and nothing is left to answer.
	if err := g3.DeleteNIC(); err != nil {
		t.Fatal(err)
	}
	if got := pd.probe(); !silent(g3Ref, "vNIC is gone")(got) {
		t.Errorf("g3's NIC deleted: %+v, want its vNIC gone", got[g3Ref])
	}
	pd.stillAlive("g6 (g3 gone)", g6Ref)
}

// Tagged bindings are probed on their VLAN: vm1.100 and vm1.200 share a
// vNIC and an address; the guest's sub-interfaces (played by hand on a
// raw socket, as this kernel has no 802.1Q devices) answer per VLAN, and
// only the VLAN that stops answering is found silent.
func TestProbeVLANs(t *testing.T) {
	t.Parallel()
	s := newServiceRig(t)
	var answer [2]atomic.Bool // VLAN 100, VLAN 200
	answer[0].Store(true)
	answer[1].Store(true)
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go s.vm1.AnswerARP(done, func(vlan uint16) bool {
		return vlan == 100 && answer[0].Load() || vlan == 200 && answer[1].Load()
	})
	r100 := southbound.PortRef{Host: "host-b", VRF: "acme/a", Interface: "vm1.100"}
	r200 := southbound.PortRef{Host: "host-b", VRF: "acme/b", Interface: "vm1.200"}
	p := prober{t, s.ebpf}
	p.until("both VLANs answer", alive(r100, r200))
	answer[1].Store(false)
	p.until("VLAN 200 silent", silent(r200, "no ARP reply from 10.1.1.20"))
	p.stillAlive("vm1.100 (same vNIC and address as vm1.200)", r100)
	answer[1].Store(true)
	p.until("VLAN 200 back", alive(r100, r200))
}
