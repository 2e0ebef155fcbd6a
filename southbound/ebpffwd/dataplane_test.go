package ebpffwd_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/netready/netready/southbound/linuxfwd/lab"
	"github.com/netready/netready/southbound/routing"
)

// anyToAnyModel: tenants blue and red, each with an any-to-any VPN over
// both hosts, and overlapping 10.1.1.0/24 address spaces.
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

// Any-to-any across vendors: host-a on linux-vforwarder, host-b on
// ebpf-vforwarder; both VPNs overlap, every datagram stays in its own.
func TestMixedAnyToAny(t *testing.T) {
	r := newRig(t)
	r.apply(anyToAnyModel())

	g1 := r.guest("host-a", "blue", "blue", "g1", "10.1.1.5/24")
	g2 := r.guest("host-a", "blue", "blue", "g2", "10.3.7.9/24")
	g3 := r.guest("host-b", "blue", "blue", "g3", "10.1.1.6/24")
	g4 := r.guest("host-b", "blue", "blue", "g4", "10.3.7.10/24")
	g5 := r.guest("host-a", "red", "red", "g5", "10.1.1.5/24")
	g6 := r.guest("host-b", "red", "red", "g6", "10.1.1.6/24")
	g7 := r.guest("host-b", "red", "red", "g7", "10.9.9.9/24")

	mustPing(t, g1, "10.1.1.6")  // A → B
	mustPing(t, g3, "10.1.1.5")  // B → A
	mustPing(t, g3, "10.3.7.10") // on B (eBPF only)
	mustPing(t, g4, "10.3.7.9")
	mustPing(t, g2, "10.3.7.10")
	mustPing(t, g6, "10.9.9.9")
	mustPing(t, g7, "10.1.1.5")

	mustNotPing(t, g6, "10.3.7.10")
	mustNotPing(t, g7, "10.3.7.9")
	mustNotPing(t, g3, "10.9.9.9")

	// 10.1.1.6 and 10.1.1.5 are in both tenants: each reaches its own,
	// in both directions.
	const n = 20
	for _, c := range []struct {
		from, to *lab.Guest
		dst      string
		n        int64
	}{
		{g1, g3, "10.1.1.6", n}, {g5, g6, "10.1.1.6", 2 * n},
		{g3, g1, "10.1.1.5", 3 * n}, {g6, g5, "10.1.1.5", 4 * n},
	} {
		before := c.to.UDPReceived()
		if err := c.from.SendUDP(netip.MustParseAddr(c.dst), int(c.n)); err != nil {
			t.Fatal(err)
		}
		lab.WaitUDP(before+c.n, 2*time.Second, c.to)
		time.Sleep(20 * time.Millisecond)
		if got := c.to.UDPReceived() - before; got != c.n {
			t.Errorf("%s → %s: %s received %d datagrams, want %d", c.from.Alias, c.dst, c.to.Alias, got, c.n)
		}
	}
	if got := g1.UDPReceived() + g3.UDPReceived(); got != 4*n {
		t.Errorf("blue received %d datagrams in all, want %d (red's leaked in?)", got, 4*n)
	}

	if drift := r.reconcile(r.res); len(drift) != 0 {
		t.Errorf("drift after apply:\n%v", drift)
	}
}
