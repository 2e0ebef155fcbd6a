package daemon_test

// VNF liveness on the lab: three VNFs behind an anycast address (the ECMP
// scenario); one that stops answering leaves the ECMP set within the
// bound, its binding says why, the configuration is untouched, and it
// comes back when it answers again. Root only.

import (
	"fmt"
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

// As the scenario says: host-a on linux-vforwarder, host-b (vnf1-3, g5)
// on ebpf-vforwarder. vnf1-3, probed by ebpf-vforwarder, goes down and
// then stops answering ARP.
func TestLivenessECMP(t *testing.T) { livenessECMP(t, "", 2, 2) }

// Both hosts on linux-vforwarder: vnf1-1 (host-a) goes down, vnf1-3
// (host-b) stops answering ARP.
func TestLivenessECMPLinuxOnly(t *testing.T) { livenessECMP(t, linuxfwd.Kind, 0, 2) }

// livenessECMP runs the ECMP scenario with vendor-b on vendorB (the
// scenario's driver when empty), takes vnf1-<down+1>'s interface down
// and then vnf1-<silent+1>'s ARP off, and checks that each leaves the
// ECMP set within the bound, says why, and comes back.
func livenessECMP(t *testing.T, vendorB string, down, silent int) {
	r := startRealized(t, nil)
	r.vendorB = vendorB
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
	backendOf := map[string]string{"host-a": "vendor-a", "host-b": "vendor-b"}
	name := func(i int) string { return fmt.Sprintf("vnf1-%d", i+1) }
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
					if backendOf[h] == "vendor-b" && vendorB == "" {
						continue // ebpf-vforwarder: no VRF namespaces
					}
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

	// vnf1-<down+1>'s interface goes down.
	if err := vnf[down].SetLinkUp(false); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s down: out of the ECMP set after %v", name(down), until(name(down), "down", carrierBound))
	msg := r.leaf(t, vpn+"/bindings/binding[interface="+name(down)+"]/status/backend[name="+backendOf[vnf[down].Host]+"]/message")
	if s, _ := msg.(string); !strings.Contains(s, "not answering") || !strings.Contains(s, "no carrier") {
		t.Errorf("%s's status message %q does not say why", name(down), msg)
	}
	if got := r.leaf(t, vpn+"/status/oper-status"); got != "degraded" {
		t.Errorf("VPN oper-status %v with one VNF down, want degraded", got)
	}
	wantShare(name(down)+" down", spread(), down)
	if !equalJSON(r.config(t), config) {
		t.Error("the configuration changed")
	}

	// It comes back.
	if err := vnf[down].SetLinkUp(true); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s up: back after %v", name(down), until(name(down), "up", backBound))
	wantShare(name(down)+" back", spread(), -1)

	// vnf1-<silent+1> keeps its link but answers no ARP (its process
	// gone, the configuration untouched).
	if err := vnf[silent].SetARP(false); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s silent: out after %v", name(silent), until(name(silent), "down", silentBound))
	msg = r.leaf(t, vpn+"/bindings/binding[interface="+name(silent)+"]/status/backend[name="+backendOf[vnf[silent].Host]+"]/message")
	if s, _ := msg.(string); !strings.Contains(s, "not answering") || !strings.Contains(s, "no ARP reply from 10.1.1.5") {
		t.Errorf("%s's status message %q does not say why", name(silent), msg)
	}
	wantShare(name(silent)+" silent", spread(), silent)
	if err := vnf[silent].SetARP(true); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s answers: back after %v", name(silent), until(name(silent), "up", backBound))
	wantShare(name(silent)+" answers", spread(), -1)
	if got := r.leaf(t, vpn+"/status/oper-status"); got != "up" {
		t.Errorf("VPN oper-status %v with every VNF back, want up", got)
	}
	if !equalJSON(r.config(t), config) {
		t.Error("the configuration changed")
	}
}
