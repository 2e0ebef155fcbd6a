package ebpffwd_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/vishvananda/netns"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/l2"
	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/linuxfwd/lab"
)

// BenchmarkL2Forwarding is BenchmarkForwarding for an L2 network: one
// guest on host-a and one on host-b in one segment (VXLAN 8472 between
// the hosts), both hosts on the vendor under test, or mixed. The guests
// learnt each other's MACs before the clock starts, so this is the
// switched path, not flooding.
func BenchmarkL2Forwarding(b *testing.B) {
	for _, vendors := range [][2]string{
		{linuxfwd.Kind, linuxfwd.Kind},
		{"ebpf-vforwarder", "ebpf-vforwarder"},
		{linuxfwd.Kind, "ebpf-vforwarder"},
	} {
		name := vendors[0]
		if vendors[1] != vendors[0] {
			name = "mixed"
		}
		b.Run(name+"/rr", func(b *testing.B) {
			ga, gb := l2ForwardingLab(b, vendors)
			benchRR(b, ga, gb)
		})
		b.Run(name+"/tcp", func(b *testing.B) {
			ga, gb := l2ForwardingLab(b, vendors)
			benchTCP(b, ga, gb)
		})
	}
}

// l2ForwardingLab builds the two-guest segment on the vendors of host-a
// and host-b and returns the guests' namespaces (addresses as
// forwardingLab's, which benchRR and benchTCP use).
func l2ForwardingLab(b *testing.B, vendors [2]string) (netns.NsHandle, netns.NsHandle) {
	l := lab.New(b, lab.RandomPrefix(), map[string]netip.Addr{"host-a": ulA, "host-b": ulB})
	res := l2.Compute(l2.Model{Hosts: l2Hosts(), Networks: []l2.Network{{Tenant: "blue", Name: "l2",
		Bindings: []l2.Binding{l2Bind("ga", "host-a"), l2Bind("gb", "host-b")}}}})
	for i, be := range []string{"vendor-a", "vendor-b"} {
		var d southbound.L2Forwarder
		if vendors[i] == linuxfwd.Kind {
			ld, err := linuxfwd.New(l.Backend(be))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { ld.Close() })
			d = ld
		} else {
			d = ebpfDriver(b, l, be)
		}
		if err := d.ApplyL2(context.Background(), l2.Diff(l2.Result{}, res)[be]); err != nil {
			b.Fatal(err)
		}
	}
	ga := l.Guest("host-a", linuxfwd.L2PortAlias("blue/l2", "ga"), netip.MustParsePrefix("10.1.1.5/24"))
	gb := l.Guest("host-b", linuxfwd.L2PortAlias("blue/l2", "gb"), netip.MustParsePrefix("10.1.1.6/24"))
	if err := ga.Ping(netip.MustParseAddr("10.1.1.6")); err != nil {
		b.Fatal(err)
	}
	open := func(g *lab.Guest) netns.NsHandle {
		ns, err := netns.GetFromName(g.NS)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ns.Close() })
		return ns
	}
	return open(ga), open(gb)
}
