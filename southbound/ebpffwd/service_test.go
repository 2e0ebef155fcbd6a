package ebpffwd_test

import (
	"errors"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/ebpffwd"
	"github.com/netready/netready/southbound/linuxfwd/lab"
	"github.com/netready/netready/southbound/routing"
)

// serviceModel: tenant acme's VPNs a and b, with the same address space.
// vm1 on host-b (ebpf-vforwarder) is bound to both, as vm1.100 (VLAN 100
// of vNIC vm1) to a and vm1.200 (VLAN 200) to b, with the same address;
// each VPN has a peer on host-a (linux-vforwarder) and a on host-b too,
// untagged.
func serviceModel() routing.Model {
	vpn := func(name, rt string, bs ...routing.Binding) routing.VPN {
		return routing.VPN{Tenant: "acme", Name: name, Policy: routing.AnyToAny,
			ImportRTs: []string{rt}, ExportRTs: []string{rt}, Bindings: bs}
	}
	return routing.Model{Hosts: twoHosts(), VPNs: []routing.VPN{
		vpn("a", "64512:1", bind("vm1.100", "host-b", 100, "10.1.1.20"), bind("pa", "host-a", 100, "10.1.1.30"),
			bind("la", "host-b", 100, "10.1.1.40")),
		vpn("b", "64512:2", bind("vm1.200", "host-b", 100, "10.1.1.20"), bind("pb", "host-a", 100, "10.1.1.30")),
	}}
}

// subInterfaces puts vm1.100 and vm1.200 on vNIC vm1 with their VLANs, as
// the model's interface hierarchy will say (until the engine fills
// Port.VNIC and Port.VLAN itself).
func subInterfaces(res routing.Result) routing.Result {
	for _, v := range res.Hosts["host-b"].VRFs {
		for i := range v.Ports {
			switch p := &v.Ports[i]; p.Interface {
			case "vm1.100":
				p.VNIC, p.VLAN = "vm1", 100
			case "vm1.200":
				p.VNIC, p.VLAN = "vm1", 200
			}
		}
	}
	return res
}

type serviceRig struct {
	*rig
	vm1         *lab.RawPort
	pa, pb, la  *lab.Guest
	addr, peer  netip.Addr
	local       netip.Addr
	payload     []byte
	sport       uint16
	frameOctets uint64
}

func newServiceRig(t *testing.T) *serviceRig {
	r := newRig(t)
	res, asg := routing.Compute(serviceModel(), r.asg)
	r.asg = asg
	r.applyResult(subInterfaces(res))
	s := &serviceRig{rig: r,
		addr: netip.MustParseAddr("10.1.1.20"), peer: netip.MustParseAddr("10.1.1.30"), local: netip.MustParseAddr("10.1.1.40"),
		payload: []byte("netready service binding"), sport: 40000}
	s.frameOctets = uint64(14 + 20 + 8 + len(s.payload))
	guest := r.lab.Guest("host-b", "acme/vm1") // the vNIC itself: no address, tags by hand
	var err error
	if s.vm1, err = lab.OpenRaw(guest); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.vm1.Close)
	s.pa = r.guest("host-a", "acme", "a", "pa", "10.1.1.30/24")
	s.pb = r.guest("host-a", "acme", "b", "pb", "10.1.1.30/24")
	s.la = r.guest("host-b", "acme", "a", "la", "10.1.1.40/24")
	return s
}

// sendTagged sends n datagrams from vm1 on vlan to dst, one flow each.
func (s *serviceRig) sendTagged(vlan uint16, dst netip.Addr, n int) {
	s.t.Helper()
	for range n {
		s.sport++
		if err := s.vm1.Send(lab.UDPFrame(s.vm1.MAC, vlan, s.addr, dst, s.sport, s.payload)); err != nil {
			s.t.Fatal(err)
		}
	}
}

// Service binding: one vNIC, VLAN 100 bound to VPN a and VLAN 200 to VPN
// b (same addresses in both): tagged frames reach exactly their VPN,
// replies come back with their VPN's tag, and the counters of each
// binding are exactly what was sent.
func TestServiceBindingVLANs(t *testing.T) {
	s := newServiceRig(t)
	const n100, n200 = 7, 11

	s.sendTagged(100, s.peer, n100)
	s.sendTagged(200, s.peer, n200)
	s.sendTagged(300, s.peer, 5) // nothing bound to VLAN 300
	s.sendTagged(0, s.peer, 3)   // nor untagged
	lab.WaitUDP(n100+n200, 2*time.Second, s.pa, s.pb)
	time.Sleep(50 * time.Millisecond)
	if a, b := s.pa.UDPReceivedFrom(s.addr), s.pb.UDPReceivedFrom(s.addr); a != n100 || b != n200 {
		t.Errorf("VPN a's peer received %d (want %d, VLAN 100), VPN b's %d (want %d, VLAN 200)", a, n100, b, n200)
	}

	// Replies: from each VPN's peer on host-a (through the tunnel) and
	// from a local port on host-b (VPN a).
	const ra, rb, rl = 3, 4, 5
	for _, c := range []struct {
		g *lab.Guest
		n int
	}{{s.pa, ra}, {s.pb, rb}, {s.la, rl}} {
		if err := c.g.SendUDP(s.addr, c.n); err != nil {
			t.Fatal(err)
		}
	}
	got := s.vm1.Receive(time.Second)
	count := func(vlan uint16, src netip.Addr) int {
		k := 0
		for _, r := range got {
			if r.VLAN == vlan && r.Src == src && r.Dst == s.addr && slices.Equal(r.DstMAC, s.vm1.MAC) {
				k++
			}
		}
		return k
	}
	if c100, c200, cl := count(100, s.peer), count(200, s.peer), count(100, s.local); c100 != ra || c200 != rb || cl != rl || len(got) != ra+rb+rl {
		t.Errorf("vm1 received %d datagrams: %d from a's peer on VLAN 100 (want %d), %d from b's peer on VLAN 200 (want %d), %d from la on VLAN 100 (want %d); all: %+v",
			len(got), c100, ra, c200, rb, cl, rl, got)
	}

	// Counters: exactly what went in and out of each binding.
	cs, err := s.ebpf.Counters(ctx(t), []string{"host-b"})
	if err != nil {
		t.Fatal(err)
	}
	replyOctets := uint64(14 + 20 + 8 + len("netready lab")) // lab.Guest.SendUDP's datagrams
	for ref, want := range map[southbound.PortRef]southbound.PortCounters{
		{Host: "host-b", VRF: "acme/a", Interface: "vm1.100"}: {InPackets: n100, InOctets: n100 * s.frameOctets, OutPackets: ra + rl, OutOctets: (ra + rl) * replyOctets},
		{Host: "host-b", VRF: "acme/b", Interface: "vm1.200"}: {InPackets: n200, InOctets: n200 * s.frameOctets, OutPackets: rb, OutOctets: rb * replyOctets},
		{Host: "host-b", VRF: "acme/a", Interface: "la"}:      {InPackets: rl, InOctets: rl * replyOctets},
	} {
		if cs[ref] != want {
			t.Errorf("counters of %+v: %+v, want %+v", ref, cs[ref], want)
		}
	}
	if len(cs) != 3 {
		t.Errorf("counters of %d ports, want 3: %v", len(cs), cs)
	}
	if drift := s.reconcile(s.res); len(drift) != 0 {
		t.Errorf("drift after apply:\n%v", drift)
	}
}

// Reconcile repairs map entries deleted by hand, says what it repaired,
// and a driver opened afresh finds the state (and the counts) where the
// first left them.
func TestReconcileRepairsMaps(t *testing.T) {
	s := newServiceRig(t)
	dir := ebpffwd.PinDir(ebpffwd.DefaultBPFFS, s.lab.Prefix(), "host-b")
	routes, err := ebpf.LoadPinnedMap(dir+"/routes", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer routes.Close()
	bindings, err := ebpf.LoadPinnedMap(dir+"/bindings", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bindings.Close()

	vrfA := s.res.Hosts["host-b"].VRF("acme/a")
	var label200 uint32
	for _, p := range s.res.Hosts["host-b"].VRF("acme/b").Ports {
		if p.Interface == "vm1.200" {
			label200 = p.Label
		}
	}
	// By hand: VPN a's route to its peer, and VLAN 200's binding.
	type routeKey struct {
		Prefixlen, VRF uint32
		Addr           [4]byte
	}
	if err := routes.Delete(routeKey{64, vrfA.Label, s.peer.As4()}); err != nil {
		t.Fatalf("delete route: %v", err)
	}
	type vnicKey struct{ Ifindex, VLAN uint32 }
	var k vnicKey
	var l uint32
	deleted := false
	for it := bindings.Iterate(); it.Next(&k, &l); {
		if l == label200 {
			deleted = bindings.Delete(k) == nil
			break
		}
	}
	if !deleted {
		t.Fatalf("no bindings entry for label %d", label200)
	}
	s.sendTagged(100, s.peer, 4)
	s.sendTagged(200, s.peer, 4)
	time.Sleep(200 * time.Millisecond)
	if a, b := s.pa.UDPReceived(), s.pb.UDPReceived(); a != 0 || b != 0 {
		t.Fatalf("with the entries deleted the peers received %d and %d datagrams", a, b)
	}

	drift := s.reconcile(s.res)
	want := []string{ // ports are reconciled before routes
		"host-b: VRF acme/b: port vm1.200: bindings map entry missing",
		"host-b: VRF acme/a: route 10.1.1.30/32 missing",
	}
	if !slices.Equal(drift, want) {
		t.Errorf("drift:\n%q\nwant\n%q", drift, want)
	}
	s.sendTagged(100, s.peer, 4)
	s.sendTagged(200, s.peer, 4)
	if got := lab.WaitUDP(8, 2*time.Second, s.pa, s.pb); got != 8 || s.pa.UDPReceived() != 4 {
		t.Errorf("after reconcile the peers received %d and %d datagrams, want 4 each", s.pa.UDPReceived(), s.pb.UDPReceived())
	}
	if drift := s.reconcile(s.res); len(drift) != 0 {
		t.Errorf("drift after reconcile:\n%v", drift)
	}

	// A new driver (a restarted server) reads the same state back.
	fresh := ebpfDriver(t, s.lab, "vendor-b")
	if drift, err := fresh.Reconcile(ctx(t), views(s.res, "vendor-b")); err != nil || len(drift) != 0 {
		t.Errorf("fresh driver: reconcile: %v, drift %q", err, drift)
	}
	cs, err := fresh.Counters(ctx(t), []string{"host-b"})
	if err != nil {
		t.Fatal(err)
	}
	if c := cs[southbound.PortRef{Host: "host-b", VRF: "acme/a", Interface: "vm1.100"}]; c.InPackets != 8 {
		t.Errorf("fresh driver: vm1.100 counted %d packets in, want 8 (4 dropped for the missing route, 4 routed)", c.InPackets)
	}
	var hops [8 + 16*8]byte
	if err := routes.Lookup(routeKey{64, vrfA.Label, s.peer.As4()}, &hops); err != nil {
		t.Errorf("the route is not back in the pinned map: %v", err)
	}
}

// A restarted driver applies changes to what it finds: VPN b's binding
// deleted by a fresh driver leaves VLAN 200 unbound and VLAN 100 as it
// was.
func TestFreshDriverApplies(t *testing.T) {
	s := newServiceRig(t)
	s.ebpf.Close()
	s.ebpf = ebpfDriver(t, s.lab, "vendor-b")
	s.drivers["vendor-b"] = s.ebpf
	m := serviceModel()
	m.VPNs[1].Bindings = m.VPNs[1].Bindings[1:] // without vm1.200
	res, asg := routing.Compute(m, s.asg)
	s.asg = asg
	s.applyResult(subInterfaces(res))

	s.sendTagged(100, s.peer, 3)
	s.sendTagged(200, s.peer, 3)
	lab.WaitUDP(3, 2*time.Second, s.pa)
	time.Sleep(50 * time.Millisecond)
	if a, b := s.pa.UDPReceived(), s.pb.UDPReceived(); a != 3 || b != 0 {
		t.Errorf("VPN a's peer received %d datagrams (want 3), VPN b's %d (want 0: VLAN 200 is unbound)", a, b)
	}
	if drift := s.reconcile(s.res); len(drift) != 0 {
		t.Errorf("drift after apply:\n%v", drift)
	}
}

// A host rebuilt (its namespace deleted and made again) is found out at
// the next call: Reconcile puts back its tunnel device and vNICs, and
// its maps' entries for the old devices go.
func TestReconcileRebuiltHost(t *testing.T) {
	r := newRig(t)
	r.apply(anyToAnyModel())
	if err := r.lab.DeleteHost("host-b"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ebpf.Reconcile(ctx(t), views(r.res, "vendor-b")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reconcile without host-b's namespace: %v, want it not found", err)
	}
	if err := r.lab.RestoreHost("host-b"); err != nil {
		t.Fatal(err)
	}
	drift := r.reconcile(r.res)
	for _, want := range []string{
		"host-b: tunnel device " + ebpffwd.TunnelLink(r.lab.Prefix()) + " missing or not up",
		"host-b: VRF blue/blue: port g3 missing",
		"host-b: VRF red/red: port g7 missing",
	} {
		if !slices.Contains(drift, want) {
			t.Errorf("drift lacks %q:\n%q", want, drift)
		}
	}
	g1 := r.guest("host-a", "blue", "blue", "g1", "10.1.1.5/24")
	g3 := r.guest("host-b", "blue", "blue", "g3", "10.1.1.6/24")
	mustPing(t, g1, "10.1.1.6")
	mustPing(t, g3, "10.1.1.5")
	if drift := r.reconcile(r.res); len(drift) != 0 {
		t.Errorf("drift after reconcile:\n%v", drift)
	}
}

// Reconcile deletes links named like the driver's vNIC ends that are not
// vNICs it holds, and leaves links without its names alone.
func TestReconcileDeletesStrays(t *testing.T) {
	r := newRig(t)
	r.apply(anyToAnyModel())
	ns, p := r.lab.HostNS("host-b"), r.lab.Prefix()
	for _, args := range [][]string{
		{"link", "add", p + "e90", "type", "veth", "peer", "name", p + "n90"}, // no vNIC alias
		{"link", "add", "other0", "type", "veth", "peer", "name", "other1"},   // not the driver's
	} {
		if _, err := r.lab.IP(ns, args...); err != nil {
			t.Fatal(err)
		}
	}
	drift := r.reconcile(r.res)
	want := []string{"host-b: device " + p + "e90 unexpected", "host-b: device " + p + "n90 unexpected"}
	if !slices.Equal(drift, want) {
		t.Errorf("drift %q, want %q", drift, want)
	}
	out, err := r.lab.IP(ns, "-o", "link", "show")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, p+"e90") || strings.Contains(out, p+"n90") || !strings.Contains(out, "other0") {
		t.Errorf("links after reconcile:\n%s", out)
	}
}

// A restarted driver repairs a port's entry deleted by hand even though
// the guest end has left the host's namespace: it knows the guest's MAC
// from the host end's.
func TestRestartedDriverRepairsPort(t *testing.T) {
	s := newServiceRig(t)
	var label uint32
	for _, p := range s.res.Hosts["host-b"].VRF("acme/a").Ports {
		if p.Interface == "la" {
			label = p.Label
		}
	}
	ports, err := ebpf.LoadPinnedMap(ebpffwd.PinDir(ebpffwd.DefaultBPFFS, s.lab.Prefix(), "host-b")+"/ports", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ports.Close()
	if err := ports.Delete(label); err != nil {
		t.Fatal(err)
	}
	s.ebpf.Close()
	fresh := ebpfDriver(t, s.lab, "vendor-b")
	drift, err := fresh.Reconcile(ctx(t), views(s.res, "vendor-b"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"host-b: VRF acme/a: port la missing"}; !slices.Equal(drift, want) {
		t.Errorf("drift %q, want %q", drift, want)
	}
	if err := s.pa.SendUDP(s.local, 5); err != nil {
		t.Fatal(err)
	}
	if got := lab.WaitUDP(5, 2*time.Second, s.la); got != 5 {
		t.Errorf("la received %d of 5 datagrams after the repair", got)
	}
}
