package daemon_test

// VNF liveness on the lab: three VNFs behind an anycast address (the ECMP
// scenario); one that stops answering leaves the ECMP set within the
// bound, its binding says why, the configuration is untouched, and it
// comes back when it answers again. Root only.

import (
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/linuxfwd/lab"
)

// Bounds (docs/southbound.md, "VNF liveness"): one probe interval (1 s)
// plus the rerouting for an instance whose link went down; plus about
// 2 s of ARP probing for one that stopped answering ARP; two intervals
// for one that answers again. The test allows a second or two more for
// a busy machine.
const (
	carrierBound = 3 * time.Second
	silentBound  = 5 * time.Second
	backBound    = 4 * time.Second
)

// Both hosts on linux-vforwarder: vnf1-3 on host-b must be probed, and
// ebpf-vforwarder (the scenario's vendor-b) does not probe yet (it
// implements no southbound.Prober).
func TestLivenessECMP(t *testing.T) {
	r := startRealized(t, nil)
	r.vendorB = linuxfwd.Kind
	r.setRoot(t, r.labScenario(t, "ecmp"))
	const vpn = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]"
	vnf := []*lab.Guest{
		r.guest("host-a", "blue/blue/vnf1-1", "10.1.1.5/24"),
		r.guest("host-a", "blue/blue/vnf1-2", "10.1.1.5/24"),
		r.guest("host-b", "blue/blue/vnf1-3", "10.1.1.5/24"),
	}
	r.guest("host-a", "blue/blue/vnf2", "10.1.1.6/24")
	r.guest("host-b", "blue/blue/vnf3", "10.1.1.3/24")
	g5 := r.guest("host-b", "blue/blue/g5", "10.1.1.7/24")
	config := r.config(t)

	// spread sends 300 flows from g5 to the anycast address and returns
	// how many each VNF received.
	spread := func() []int64 {
		t.Helper()
		before := make([]int64, len(vnf))
		var total int64
		for i, g := range vnf {
			before[i] = g.UDPReceived()
			total += before[i]
		}
		if err := g5.SendUDP(addr("10.1.1.5"), 300); err != nil {
			t.Fatal(err)
		}
		if got := lab.WaitUDP(total+300, 5*time.Second, vnf...); got != total+300 {
			t.Fatalf("%d of 300 flows arrived", got-total)
		}
		out := make([]int64, len(vnf))
		for i, g := range vnf {
			out[i] = g.UDPReceived() - before[i]
		}
		return out
	}
	// until polls a binding's oper-status until it is want and returns
	// how long that took.
	until := func(iface, want string, bound time.Duration) time.Duration {
		t.Helper()
		p := vpn + "/bindings/binding[interface=" + iface + "]/status/oper-status"
		start := time.Now()
		for {
			if v, err := r.get(t, p, gpb.GetRequest_STATE); err == nil && v == want {
				took := time.Since(start)
				if took > bound {
					t.Errorf("%s %s after %v, bound %v", iface, want, took, bound)
				}
				return took
			}
			if time.Since(start) > 4*bound {
				for _, h := range []string{"host-a", "host-b"} {
					for _, ns := range r.vrfNamespaces(t, h) {
						out, _ := r.lab.IP(ns, "-s", "neigh")
						links, _ := r.lab.IP(ns, "-br", "link")
						t.Logf("%s:\n%s\n%s", ns, out, links)
					}
				}
				t.Fatalf("%s never %s", iface, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wantShare := func(what string, got []int64, none int) {
		t.Helper()
		for i, n := range got {
			if (i == none) != (n == 0) || (i != none && n < 30) {
				t.Errorf("%s: %v (vnf1-%d should get none, the others their share)", what, got, none+1)
				return
			}
		}
	}
	wantShare("all up", spread(), -1)
	// The probes must have seen each VNF answer: liveness only acts on
	// an instance that stopped answering.
	time.Sleep(2 * time.Second)

	// vnf1-1's interface goes down.
	if err := vnf[0].SetLinkUp(false); err != nil {
		t.Fatal(err)
	}
	t.Logf("vnf1-1 down: out of the ECMP set after %v", until("vnf1-1", "down", carrierBound))
	msg := r.leaf(t, vpn+"/bindings/binding[interface=vnf1-1]/status/backend[name=vendor-a]/message")
	if s, _ := msg.(string); !strings.Contains(s, "not answering") || !strings.Contains(s, "no carrier") {
		t.Errorf("vnf1-1's status message %q does not say why", msg)
	}
	if got := r.leaf(t, vpn+"/status/oper-status"); got != "degraded" {
		t.Errorf("VPN oper-status %v with one VNF down, want degraded", got)
	}
	wantShare("vnf1-1 down", spread(), 0)
	if !equalJSON(r.config(t), config) {
		t.Error("the configuration changed")
	}

	// It comes back.
	if err := vnf[0].SetLinkUp(true); err != nil {
		t.Fatal(err)
	}
	t.Logf("vnf1-1 up: back after %v", until("vnf1-1", "up", backBound))
	wantShare("vnf1-1 back", spread(), -1)

	// vnf1-3 (on the other host) keeps its link but answers no ARP.
	if err := vnf[2].SetARP(false); err != nil {
		t.Fatal(err)
	}
	t.Logf("vnf1-3 silent: out after %v", until("vnf1-3", "down", silentBound))
	wantShare("vnf1-3 silent", spread(), 2)
	if err := vnf[2].SetARP(true); err != nil {
		t.Fatal(err)
	}
	t.Logf("vnf1-3 answers: back after %v", until("vnf1-3", "up", backBound))
	if got := r.leaf(t, vpn+"/status/oper-status"); got != "up" {
		t.Errorf("VPN oper-status %v with every VNF back, want up", got)
	}
	if !equalJSON(r.config(t), config) {
		t.Error("the configuration changed")
	}
}
