package linuxfwd_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/netready/netready/southbound/linuxfwd/lab"
	"github.com/netready/netready/southbound/routing"
)

// anyToAnyModel: tenants blue and red, each with an any-to-any VPN, and
// overlapping 10.1.1.0/24 address spaces.
func anyToAnyModel() routing.Model {
	return routing.Model{
		Hosts: twoHosts(),
		VPNs: []routing.VPN{
			{
				Tenant: "blue", Name: "blue", Policy: routing.AnyToAny,
				ImportRTs: []string{"64512:100"}, ExportRTs: []string{"64512:100"},
				Bindings: []routing.Binding{
					bind("g1", "host-a", 100, "10.1.1.5"),
					bind("g2", "host-a", 100, "10.3.7.9"),
					bind("g3", "host-b", 100, "10.1.1.6"),
					bind("g4", "host-b", 100, "10.3.7.10"),
				},
			},
			{
				Tenant: "red", Name: "red", Policy: routing.AnyToAny,
				ImportRTs: []string{"64512:200"}, ExportRTs: []string{"64512:200"},
				Bindings: []routing.Binding{
					bind("g5", "host-a", 100, "10.1.1.5"),
					bind("g6", "host-b", 100, "10.1.1.6"),
					bind("g7", "host-b", 100, "10.9.9.9"),
				},
			},
		},
	}
}

func TestAnyToAny(t *testing.T) {
	r := newRig(t)
	r.apply(anyToAnyModel())

	g1 := r.guest("host-a", "blue", "blue", "g1", "10.1.1.5/24")
	g2 := r.guest("host-a", "blue", "blue", "g2", "10.3.7.9/24")
	g3 := r.guest("host-b", "blue", "blue", "g3", "10.1.1.6/24")
	g4 := r.guest("host-b", "blue", "blue", "g4", "10.3.7.10/24")
	g5 := r.guest("host-a", "red", "red", "g5", "10.1.1.5/24")
	g6 := r.guest("host-b", "red", "red", "g6", "10.1.1.6/24")
	g7 := r.guest("host-b", "red", "red", "g7", "10.9.9.9/24")

	// Across hosts and on one host, in each VPN.
	mustPing(t, g1, "10.1.1.6")
	mustPing(t, g1, "10.3.7.10")
	mustPing(t, g1, "10.3.7.9")
	mustPing(t, g4, "10.1.1.5")
	mustPing(t, g2, "10.3.7.10")
	mustPing(t, g5, "10.1.1.6")
	mustPing(t, g6, "10.9.9.9")
	mustPing(t, g7, "10.1.1.5")

	// Never the other tenant's.
	mustNotPing(t, g5, "10.3.7.10")
	mustNotPing(t, g1, "10.9.9.9")
	mustNotPing(t, g7, "10.3.7.9")

	// 10.1.1.6 is in both tenants: each reaches its own.
	const n = 20
	if err := g1.SendUDP(netip.MustParseAddr("10.1.1.6"), n); err != nil {
		t.Fatal(err)
	}
	if err := g5.SendUDP(netip.MustParseAddr("10.1.1.6"), 2*n); err != nil {
		t.Fatal(err)
	}
	lab.WaitUDP(3*n, 2*time.Second, g3, g6)
	if got := g3.UDPReceived(); got != n {
		t.Errorf("blue g3 received %d datagrams, want %d", got, n)
	}
	if got := g6.UDPReceived(); got != 2*n {
		t.Errorf("red g6 received %d datagrams, want %d", got, 2*n)
	}
	if got := g3.UDPReceivedFrom(netip.MustParseAddr("10.1.1.5")); got != n {
		t.Errorf("blue g3 received %d datagrams from 10.1.1.5, want %d", got, n)
	}

	// In sync: nothing to reconcile.
	if drift := r.reconcile(r.res); len(drift) != 0 {
		t.Errorf("drift after apply:\n%v", drift)
	}
}
