package linuxfwd_test

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netready/netready/southbound/linuxfwd/lab"
	"github.com/netready/netready/southbound/routing"
)

// ipv6Model: tenants blue and red with overlapping IPv6 guest addresses on
// both hosts, and an IPv6 anycast address of two VNFs (one per host) in
// blue, load balanced (dual-stack bindings: IPv6 is their second
// address).
func ipv6Model() routing.Model {
	return routing.Model{
		Hosts: twoHosts(),
		VPNs: []routing.VPN{
			{
				Tenant: "blue", Name: "blue", Policy: routing.AnyToAny,
				ImportRTs: []string{"64512:100"}, ExportRTs: []string{"64512:100"},
				Anycast: true, AnycastMode: routing.LoadBalance,
				Bindings: []routing.Binding{
					bind("g1", "host-a", 100, "2001:db8:1::5"),
					bind("g3", "host-b", 100, "2001:db8:1::6"),
					bind("g4", "host-b", 100, "10.1.1.7", "2001:db8:1::7"),
					bind("vnf-a", "host-a", 10, "10.1.5.5", "2001:db8:5::5"),
					bind("vnf-b", "host-b", 10, "10.1.5.5", "2001:db8:5::5"),
				},
			},
			{
				Tenant: "red", Name: "red", Policy: routing.AnyToAny,
				ImportRTs: []string{"64512:200"}, ExportRTs: []string{"64512:200"},
				Bindings: []routing.Binding{
					bind("g5", "host-a", 100, "2001:db8:1::5"),
					bind("g6", "host-b", 100, "2001:db8:1::6"),
					bind("g7", "host-b", 100, "2001:db8:9::9"),
				},
			},
		},
	}
}

// TestIPv6AcrossHosts: IPv6 guests reach each other across hosts over the
// IPv4 VXLAN underlay, each only in its own VPN, and an IPv6 anycast
// address spreads flows over both hosts.
func TestIPv6AcrossHosts(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	res := r.apply(ipv6Model())

	g1 := r.guest("host-a", "blue", "blue", "g1", "2001:db8:1::5/64")
	g3 := r.guest("host-b", "blue", "blue", "g3", "2001:db8:1::6/64")
	r.guest("host-b", "blue", "blue", "g4", "10.1.1.7/24", "2001:db8:1::7/64")
	g5 := r.guest("host-a", "red", "red", "g5", "2001:db8:1::5/64")
	g6 := r.guest("host-b", "red", "red", "g6", "2001:db8:1::6/64")
	r.guest("host-b", "red", "red", "g7", "2001:db8:9::9/64")

	mustPing(t, g1, "2001:db8:1::6")
	mustPing(t, g3, "2001:db8:1::5")
	mustPing(t, g1, "2001:db8:1::7") // a dual-stack binding, by its IPv6 address
	mustPing(t, g5, "2001:db8:1::6")
	mustPing(t, g6, "2001:db8:9::9")
	mustNotPing(t, g1, "2001:db8:9::9")
	mustNotPing(t, g6, "2001:db8:1::7")

	// 2001:db8:1::6 is in both tenants: each reaches its own.
	const n = 20
	six := netip.MustParseAddr("2001:db8:1::6")
	if err := g1.SendUDP(six, n); err != nil {
		t.Fatal(err)
	}
	if err := g5.SendUDP(six, 2*n); err != nil {
		t.Fatal(err)
	}
	lab.WaitUDP(3*n, 2*time.Second, g3, g6)
	if got := g3.UDPReceivedFrom(netip.MustParseAddr("2001:db8:1::5")); got != n || g3.UDPReceived() != n {
		t.Errorf("blue g3 received %d datagrams (%d from g1), want %d from g1", g3.UDPReceived(), got, n)
	}
	if got := g6.UDPReceived(); got != 2*n {
		t.Errorf("red g6 received %d datagrams, want %d", got, 2*n)
	}

	// The tunnelled routes name the label's IPv6 gateway on nrx.
	out, err := r.lab.IP(r.lab.VRFNS("host-a", label(t, res, "host-a", "blue/blue")), "-6", "route", "show", "2001:db8:5::5")
	if err != nil || !strings.Contains(out, "via fe80::a9fe:") || !strings.Contains(out, "dev nrx") || !strings.Contains(out, "dev p") {
		t.Errorf("IPv6 anycast route on host-a: %v\n%s", err, out)
	}

	// ECMP over the two hosts' VNFs.
	vnfs := []*lab.Guest{
		r.guest("host-a", "blue", "blue", "vnf-a", "10.1.5.5/24", "2001:db8:5::5/64"),
		r.guest("host-b", "blue", "blue", "vnf-b", "10.1.5.5/24", "2001:db8:5::5/64"),
	}
	const flows = 200
	if err := g1.SendUDP(netip.MustParseAddr("2001:db8:5::5"), flows); err != nil {
		t.Fatal(err)
	}
	lab.WaitUDP(flows, 2*time.Second, vnfs...)
	time.Sleep(50 * time.Millisecond) // anything more (a loop) would show
	a, b := vnfs[0].UDPReceived(), vnfs[1].UDPReceived()
	if a+b != flows || a < flows/10 || b < flows/10 {
		t.Errorf("IPv6 anycast: vnf-a received %d, vnf-b %d of %d flows; want all, spread", a, b, flows)
	}

	// A dual-stack port's table delivers its IPv6 traffic on the link, so
	// what arrives for it never falls through to the VRF's routes (which
	// would send an anycast address's traffic on to the other host).
	var vnfB uint32
	for _, p := range res.Hosts["host-b"].VRF("blue/blue").Ports {
		if p.Interface == "vnf-b" {
			vnfB = p.Label
		}
	}
	out, err = r.lab.IP(r.lab.VRFNS("host-b", label(t, res, "host-b", "blue/blue")), "-6", "route", "show", "table", strconv.Itoa(1000+int(vnfB)))
	if want := fmt.Sprintf("default dev p%d", vnfB); err != nil || !strings.Contains(out, want) {
		t.Errorf("vnf-b's delivery table: %v %q, want %q", err, out, want)
	}

	if drift := r.reconcile(res); len(drift) != 0 {
		t.Errorf("drift after apply:\n%s", strings.Join(drift, "\n"))
	}
}
