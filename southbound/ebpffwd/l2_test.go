package ebpffwd_test

import (
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/ebpffwd"
	"github.com/netready/netready/southbound/l2"
	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/linuxfwd/lab"
	"github.com/netready/netready/southbound/routing"
)

// l2Rig applies L2 models to the rig's two vendors.
type l2Rig struct {
	*rig
	l2res l2.Result
}

func l2Hosts() []l2.Host {
	return []l2.Host{{Name: "host-a", Backend: "vendor-a", Addr: ulA}, {Name: "host-b", Backend: "vendor-b", Addr: ulB}}
}

func l2Bind(iface, host string) l2.Binding {
	return l2.Binding{Interface: iface, Host: host, AdminUp: true}
}

// applyL2 computes m and applies the diff from the last L2 result on
// every backend.
func (r *l2Rig) applyL2(m l2.Model) {
	r.t.Helper()
	res := l2.Compute(m)
	for b, changes := range l2.Diff(r.l2res, res) {
		if err := r.drivers[b].(southbound.L2Forwarder).ApplyL2(ctx(r.t), changes); err != nil {
			r.t.Fatalf("ApplyL2 on %s: %v", b, err)
		}
	}
	r.l2res = res
}

// reconcileL2 reconciles the L2 segments of every backend, returning the
// drift.
func (r *l2Rig) reconcileL2() []string {
	r.t.Helper()
	var all []string
	for _, b := range []string{"vendor-a", "vendor-b"} {
		drift, err := r.drivers[b].(southbound.L2Forwarder).ReconcileL2(ctx(r.t), l2.ViewsOf(r.l2res, b, "host-a", "host-b"))
		if err != nil {
			r.t.Fatalf("ReconcileL2 on %s: %v", b, err)
		}
		all = append(all, drift...)
	}
	return all
}

// l2Guest takes the guest end of the untagged L2 port iface of segment.
func (r *l2Rig) l2Guest(host, segment, iface, addr string) *lab.Guest {
	r.t.Helper()
	return r.lab.Guest(host, linuxfwd.L2PortAlias(segment, iface), netip.MustParsePrefix(addr))
}

// hostLinks lists the names of the links in a host's namespace.
func hostLinks(t *testing.T, l *lab.Lab, host string) []string {
	t.Helper()
	ns, err := netns.GetFromName(l.HostNS(host))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range links {
		out = append(out, k.Attrs().Name)
	}
	return out
}

// L2 networks across vendors: red and green on one subnet, each with a
// port on host-a (linux-vforwarder) and ports on host-b
// (ebpf-vforwarder). Guests of a network reach each other (ARP flooded
// over VXLAN 8472 and answered by the guests), on one host and across;
// datagrams to an address both networks use reach only the sender's
// network; a reconciliation finds nothing, repairs the L2 tunnel device
// and maps emptied by hand, and deleting the networks leaves no L2 device on host-b.
func TestMixedL2Network(t *testing.T) {
	r := &l2Rig{rig: newRig(t)}
	m := l2.Model{Hosts: l2Hosts(), Networks: []l2.Network{
		{Tenant: "acme", Name: "red", SegmentID: 5000, Bindings: []l2.Binding{l2Bind("ra", "host-a"), l2Bind("rb", "host-b"), l2Bind("rc", "host-b")}},
		{Tenant: "acme", Name: "green", Bindings: []l2.Binding{l2Bind("ga", "host-a"), l2Bind("gb", "host-b")}},
	}}
	r.applyL2(m)
	ra := r.l2Guest("host-a", "acme/red", "ra", "10.5.0.1/24")
	rb := r.l2Guest("host-b", "acme/red", "rb", "10.5.0.2/24")
	rc := r.l2Guest("host-b", "acme/red", "rc", "10.5.0.3/24")
	ga := r.l2Guest("host-a", "acme/green", "ga", "10.5.0.1/24")
	gb := r.l2Guest("host-b", "acme/green", "gb", "10.5.0.2/24")

	mustPing(t, ra, "10.5.0.2") // A (Linux bridge) → B (eBPF)
	mustPing(t, rb, "10.5.0.1") // B → A
	mustPing(t, rb, "10.5.0.3") // on B
	mustPing(t, rc, "10.5.0.1")
	mustPing(t, gb, "10.5.0.1")
	mustNotPing(t, gb, "10.5.0.3") // red's, on the same host

	// Each network reaches its own 10.5.0.1 and 10.5.0.2, both ways.
	const n = 15
	for _, c := range []struct {
		from, to *lab.Guest
		dst      string
		n        int64
	}{
		{ra, rb, "10.5.0.2", n}, {ga, gb, "10.5.0.2", 2 * n},
		{rb, ra, "10.5.0.1", 3 * n}, {gb, ga, "10.5.0.1", 4 * n},
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
	if got := ra.UDPReceived() + rb.UDPReceived() + rc.UDPReceived(); got != 4*n {
		t.Errorf("red received %d datagrams in all, want %d (green's leaked in?)", got, 4*n)
	}

	if drift := r.reconcileL2(); len(drift) != 0 {
		t.Errorf("drift after ApplyL2:\n%s", strings.Join(drift, "\n"))
	}
	if drift := r.reconcile(r.res); len(drift) != 0 {
		t.Errorf("L3 drift with L2 ports only (L3 must leave their vNICs alone):\n%s", strings.Join(drift, "\n"))
	}

	// The L2 tunnel device of host-b deleted by hand.
	vl := ebpffwd.L2TunnelLink(r.lab.Prefix())
	if out, err := r.lab.IP(r.lab.HostNS("host-b"), "link", "del", vl); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	mustNotPing(t, rb, "10.5.0.1")
	if drift := r.reconcileL2(); !slices.Contains(drift, "host-b: tunnel device "+vl+" missing or not up") {
		t.Errorf("deleted %s not reported; drift:\n%s", vl, strings.Join(drift, "\n"))
	}
	mustPing(t, rb, "10.5.0.1")

	// Emptied by hand: the flood list and the bindings of host-b.
	pins := ebpffwd.PinDir(ebpffwd.DefaultBPFFS, r.lab.Prefix(), "host-b")
	for _, name := range []string{"segments", "l2_bindings"} {
		mp, err := ebpf.LoadPinnedMap(pins+"/"+name, nil)
		if err != nil {
			t.Fatal(err)
		}
		key := make([]byte, mp.KeySize())
		for mp.NextKey(nil, key) == nil {
			if err := mp.Delete(key); err != nil {
				t.Fatal(err)
			}
		}
		mp.Close()
	}
	mustNotPing(t, rb, "10.5.0.1")
	drift := r.reconcileL2()
	for _, want := range []string{"host-b: L2 acme/red: segments map entry missing", "host-b: L2 acme/red: port rb missing"} {
		if !slices.Contains(drift, want) {
			t.Errorf("drift %q not reported; got:\n%s", want, strings.Join(drift, "\n"))
		}
	}
	mustPing(t, rb, "10.5.0.1")
	if drift := r.reconcileL2(); len(drift) != 0 {
		t.Errorf("drift after repair:\n%s", strings.Join(drift, "\n"))
	}

	r.applyL2(l2.Model{Hosts: l2Hosts()})
	for _, name := range hostLinks(t, r.lab, "host-b") {
		if name == ebpffwd.L2TunnelLink(r.lab.Prefix()) || strings.HasPrefix(name, r.lab.Prefix()+"e") {
			t.Errorf("host-b still has %s after the networks were deleted", name)
		}
	}
}

// sharedVNICModels: vNIC vm1 on host-b (ebpf-vforwarder) carries VLAN 100
// bound to L2 network acme/net1 (peer l2peer on host-a, linux-vforwarder)
// and VLAN 200 bound to L3VPN acme/a (peer pa on host-a).
func sharedVNICModels() (routing.Model, l2.Model) {
	rm := routing.Model{Hosts: twoHosts(), VPNs: []routing.VPN{{Tenant: "acme", Name: "a", Policy: routing.AnyToAny,
		ImportRTs: []string{"64512:1"}, ExportRTs: []string{"64512:1"},
		Bindings: []routing.Binding{bind("vm1.200", "host-b", 100, "10.1.1.20"), bind("pa", "host-a", 100, "10.1.1.30")}}}}
	vm1 := l2Bind("vm1.100", "host-b")
	vm1.VNIC, vm1.VLAN = "vm1", 100
	lm := l2.Model{Hosts: l2Hosts(), Networks: []l2.Network{{Tenant: "acme", Name: "net1",
		Bindings: []l2.Binding{vm1, l2Bind("l2peer", "host-a")}}}}
	return rm, lm
}

// Acceptance (issue 13): one vNIC, VLAN 100 in an L2 network and VLAN 200
// in an L3VPN. A frame tagged 100 reaches the L2 network's peer on the
// other vendor's host and the reply (after the peer's ARP, flooded to
// vm1 tagged 100 and answered there) comes back tagged 100; traffic on
// 200 is routed in the L3VPN and comes back tagged 200; nothing crosses
// between them, and the vNIC outlives the L2 network it shared.
func TestSharedVNICL2AndL3VPN(t *testing.T) {
	r := &l2Rig{rig: newRig(t)}
	rm, lm := sharedVNICModels()
	res, asg := routing.Compute(rm, r.asg)
	r.asg = asg
	for _, v := range res.Hosts["host-b"].VRFs {
		for i := range v.Ports {
			if p := &v.Ports[i]; p.Interface == "vm1.200" {
				p.VNIC, p.VLAN = "vm1", 200
			}
		}
	}
	r.applyResult(res)
	r.applyL2(lm)

	vm1g := r.lab.Guest("host-b", "acme/vm1")
	vm1, err := lab.OpenRaw(vm1g)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(vm1.Close)
	pa := r.guest("host-a", "acme", "a", "pa", "10.1.1.30/24")
	sv := &lab.SharedVNIC{
		VNIC:   vm1,
		L2Peer: r.l2Guest("host-a", "acme/net1", "l2peer", "10.7.0.2/24"),
		L3Peer: pa,
		L2Addr: netip.MustParseAddr("10.7.0.1"), L3Addr: netip.MustParseAddr("10.1.1.20"),
	}
	sv.Check(t)

	if drift := r.reconcile(r.res); len(drift) != 0 {
		t.Errorf("L3 drift:\n%s", strings.Join(drift, "\n"))
	}
	if drift := r.reconcileL2(); len(drift) != 0 {
		t.Errorf("L2 drift:\n%s", strings.Join(drift, "\n"))
	}

	// The L2 network goes; the vNIC stays with its L3 binding.
	r.applyL2(l2.Model{Hosts: l2Hosts()})
	const n = 9
	before := pa.UDPReceived()
	sv.Send(t, 200, net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, sv.L3Addr, pa.Addrs[0].Addr(), n)
	lab.WaitUDP(before+n, 2*time.Second, pa)
	if got := pa.UDPReceived() - before; got != n {
		t.Errorf("after the L2 network was deleted, pa received %d datagrams on VLAN 200, want %d", got, n)
	}
}

// become gives guest g the MAC and address of another (a VM that moved):
// eth0 down, its MAC and address replaced, up again.
func become(t *testing.T, g *lab.Guest, mac net.HardwareAddr, from, to string) {
	t.Helper()
	ns, err := netns.GetFromName(g.NS)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	eth, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	oldA, _ := netlink.ParseAddr(from)
	newA, _ := netlink.ParseAddr(to)
	for _, step := range []func() error{
		func() error { return h.LinkSetDown(eth) },
		func() error { return h.LinkSetHardwareAddr(eth, mac) },
		func() error { return h.AddrDel(eth, oldA) },
		func() error { return h.AddrAdd(eth, newA) },
		func() error { return g.SetLinkUp(true) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
}

// A MAC learnt on the remote host moves to a local port: the first frame
// from its new place overwrites what host-b learnt, so replies follow it
// at once (not after the 300 s ageing).
func TestL2MACMoveFollowed(t *testing.T) {
	r := &l2Rig{rig: newRig(t)}
	r.applyL2(l2.Model{Hosts: l2Hosts(), Networks: []l2.Network{{Tenant: "acme", Name: "red",
		Bindings: []l2.Binding{l2Bind("ra", "host-a"), l2Bind("rb", "host-b"), l2Bind("rc", "host-b")}}}})
	ra := r.l2Guest("host-a", "acme/red", "ra", "10.5.0.1/24")
	rb := r.l2Guest("host-b", "acme/red", "rb", "10.5.0.2/24")
	rc := r.l2Guest("host-b", "acme/red", "rc", "10.5.0.3/24")
	mustPing(t, rb, "10.5.0.1") // host-b learns ra's MAC behind host-a

	raMAC, err := ra.MAC()
	if err != nil {
		t.Fatal(err)
	}
	if err := ra.SetLinkUp(false); err != nil {
		t.Fatal(err)
	}
	become(t, rc, raMAC, "10.5.0.3/24", "10.5.0.1/24")
	// rb's ARP entry for 10.5.0.1 still names raMAC: its replies reach the
	// moved VM only if host-b followed the move. The first ping may wait
	// for rc's ARP, resent only after 1 s if its first request is lost
	// while the link settles (seen under the full suite's load); the
	// ageing a missed move would wait for is 300 s.
	if err := rc.PingWithin(netip.MustParseAddr("10.5.0.2"), 5*time.Second); err != nil {
		t.Error(err)
	}
	mustPing(t, rb, "10.5.0.1")
}

// What the L2 data plane cannot hold fails ApplyL2 naming the segment and
// the bound, leaving nothing behind; so does an L3 port and an L2
// port on one (vNIC, VLAN).
func TestApplyL2RefusesWhatItCannotRealize(t *testing.T) {
	r := &l2Rig{rig: newRig(t)}
	rm, _ := sharedVNICModels()
	res, asg := routing.Compute(rm, r.asg)
	r.asg = asg
	for _, v := range res.Hosts["host-b"].VRFs {
		for i := range v.Ports {
			if p := &v.Ports[i]; p.Interface == "vm1.200" {
				p.VNIC, p.VLAN = "vm1", 200
			}
		}
	}
	r.applyResult(res)

	seg := l2.Segment{ID: "acme/big", VNI: 77}
	for i := range ebpffwd.MaxL2Remotes + 1 {
		seg.Remotes = append(seg.Remotes, netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}))
	}
	seg.Ports = []l2.Port{{Interface: "x"}}
	ports := l2.Segment{ID: "acme/wide", VNI: 78}
	for i := range ebpffwd.MaxL2Ports + 1 {
		ports.Ports = append(ports.Ports, l2.Port{Interface: "p" + strconv.Itoa(i)})
	}
	clash := l2.Segment{ID: "acme/clash", VNI: 79, Ports: []l2.Port{{Interface: "vm1.200", VNIC: "vm1", VLAN: 200}}}
	for _, c := range []struct {
		seg  l2.Segment
		want string
	}{
		{seg, "floods to at most 32"},
		{ports, "floods to at most 32"},
		{clash, "is bound to port vm1.200 of VRF acme/a"},
	} {
		err := r.ebpf.ApplyL2(ctx(t), []l2.Change{{Op: l2.Set, Host: "host-b", Segment: c.seg}})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.seg.ID) {
			t.Errorf("segment %s: %v, want an error naming it and %q", c.seg.ID, err, c.want)
		}
	}
	if drift := r.reconcile(r.res); len(drift) != 0 {
		t.Errorf("refused segments left L3 drift: %v", drift)
	}
	if drift := r.reconcileL2(); len(drift) != 0 {
		t.Errorf("refused segments left L2 drift: %v", drift)
	}
}
