package linuxfwd_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/linuxfwd/lab"
)

// udpFrame is the size of one lab datagram as a veth counts it: Ethernet
// (14), IPv4 (20) and UDP (8) headers and the 12-byte payload.
const udpFrame = 14 + 20 + 8 + 12 // payload "netready lab"

// Counters counts exactly what the guests sent and received: n
// datagrams from g1 (host-a) to g3 (host-b) are n packets in at g1's
// binding and n packets out at g3's, on the links quieted so that
// nothing else moves them.
func TestCountersExact(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.apply(anyToAnyModel())
	g1 := r.guest("host-a", "blue", "blue", "g1", "10.1.1.5/24")
	g3 := r.guest("host-b", "blue", "blue", "g3", "10.1.1.6/24")
	if err := g1.Quiet(netip.MustParseAddr("10.1.1.6")); err != nil {
		t.Fatal(err)
	}
	if err := g3.Quiet(); err != nil {
		t.Fatal(err)
	}
	g1Ref := southbound.PortRef{Host: "host-a", VRF: "blue/blue", Interface: "g1"}
	g3Ref := southbound.PortRef{Host: "host-b", VRF: "blue/blue", Interface: "g3"}
	read := func() map[southbound.PortRef]southbound.PortCounters {
		t.Helper()
		out := map[southbound.PortRef]southbound.PortCounters{}
		for b, hosts := range map[string][]string{"vendor-a": {"host-a"}, "vendor-b": {"host-b"}} {
			got, err := r.drivers[b].Counters(ctx(t), hosts)
			if err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			for k, v := range got {
				out[k] = v
			}
		}
		return out
	}
	before := read()
	// Every port of the applied model is counted, and only those.
	if len(before) != 7 {
		t.Errorf("%d ports counted, want the model's 7: %v", len(before), before)
	}
	const n = 25
	if err := g1.SendUDP(netip.MustParseAddr("10.1.1.6"), n); err != nil {
		t.Fatal(err)
	}
	if got := lab.WaitUDP(n, 3*time.Second, g3); got != n {
		t.Fatalf("g3 received %d of %d", got, n)
	}
	after := read()
	in := sub(after[g1Ref], before[g1Ref])
	out := sub(after[g3Ref], before[g3Ref])
	if want := (southbound.PortCounters{InPackets: n, InOctets: n * udpFrame}); in != want {
		t.Errorf("g1 (sender) moved by %+v, want %+v", in, want)
	}
	if want := (southbound.PortCounters{OutPackets: n, OutOctets: n * udpFrame}); out != want {
		t.Errorf("g3 (receiver) moved by %+v, want %+v", out, want)
	}
	// A host the backend does not hold has no counters, not an error.
	got, err := r.drivers["vendor-a"].Counters(ctx(t), []string{"host-z"})
	if err != nil || len(got) != 0 {
		t.Errorf("missing host: %v, %v", got, err)
	}
}

func sub(a, b southbound.PortCounters) southbound.PortCounters {
	return southbound.PortCounters{
		InPackets: a.InPackets - b.InPackets, InOctets: a.InOctets - b.InOctets,
		OutPackets: a.OutPackets - b.OutPackets, OutOctets: a.OutOctets - b.OutOctets,
	}
}
