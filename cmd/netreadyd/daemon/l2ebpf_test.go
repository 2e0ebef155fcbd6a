package daemon_test

// One vNIC carrying an L2 network and an L3VPN on vendor B
// (ebpf-vforwarder), their peers on vendor A (linux-vforwarder):
// configured through gNMI Set, judged by tagged frames and by status.

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/linuxfwd/lab"
)

// sharedVNICDoc: vNIC vnf-nic0 on host-b (ebpf-vforwarder) with a trunk
// and two VLAN sub-interfaces, vnf-vlan100 bound to L2 network mgmt
// (provider VLAN 100) and vnf-vlan200 bound to L3VPN data; each service
// has an untagged peer on host-a (linux-vforwarder).
func sharedVNICDoc(prefix string) string {
	opt := fmt.Sprintf(`"option": [{"name": "netns-prefix", "value": %q}]`, prefix)
	return fmt.Sprintf(`{
  "netready-infrastructure:backends": {"backend": [
    {"name": "vendor-a", "driver": "linux-vforwarder", %[1]s},
    {"name": "vendor-b", "driver": "ebpf-vforwarder", %[1]s}]},
  "netready-infrastructure:hosts": {"host": [
    {"name": "host-a", "backend": "vendor-a", "address": "192.0.2.1"},
    {"name": "host-b", "backend": "vendor-b", "address": "192.0.2.2"}]},
  "netready-tenants:tenants": {"tenant": [{"name": "acme",
    "ports": {"port": [{"name": "vnf-nic0", "host": "host-b"}, {"name": "peer-nic", "host": "host-a"}, {"name": "pa-nic", "host": "host-a"}]},
    "interfaces": {"interface": [
      {"name": "vnf-trunk", "type": "trunk", "port": "vnf-nic0"},
      {"name": "vnf-vlan100", "type": "vlan", "parent": "vnf-trunk", "segmentation-id": 100},
      {"name": "vnf-vlan200", "type": "vlan", "parent": "vnf-trunk", "segmentation-id": 200},
      {"name": "l2peer", "type": "untagged", "port": "peer-nic"},
      {"name": "pa", "type": "untagged", "port": "pa-nic"}]},
    "netready-l2network:l2-networks": {"l2-network": [{"name": "mgmt", "mtu": 1450,
      "provider": {"network-type": "vlan", "segmentation-id": 100},
      "bindings": {"binding": [{"interface": "vnf-vlan100"}, {"interface": "l2peer"}]}}]},
    "netready-l3vpn:vpns": {"vpn": [{"name": "data", "route-target": [{"value": "64512:300", "direction": "both"}],
      "bindings": {"binding": [{"interface": "vnf-vlan200", "ip-address": ["10.20.0.5"]}, {"interface": "pa", "ip-address": ["10.20.0.6"]}]}}]}}]},
  "netready-l3vpn:route-targets": {"route-target": [{"value": "64512:300", "owner": "acme"}]}
}`, opt)
}

// macOf reads the MAC of a guest's eth0.
func macOf(t *testing.T, g *lab.Guest) net.HardwareAddr {
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
	return eth.Attrs().HardwareAddr
}

// Acceptance (issue 13): one vNIC on vendor B, VLAN 100 in an L2 network
// and VLAN 200 in an L3VPN. Frames tagged 100 reach the L2 peer on
// vendor A, whose ARP request reaches the vNIC tagged 100 and whose reply
// comes back tagged 100; frames tagged 200 are routed to the L3VPN peer
// and its replies come back tagged 200; nothing crosses between them.
// Both bindings are up and in sync, pending (not in sync) while their
// backend is admin down, and in sync again after it comes back.
func TestRealizeSharedVNICL2AndL3VPNMixedVendors(t *testing.T) {
	r := startRealized(t, nil)
	r.setRoot(t, []byte(sharedVNICDoc(r.lab.Prefix())))
	vnf, err := lab.OpenRaw(r.lab.Guest("host-b", "acme/vnf-nic0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(vnf.Close)
	peer := r.guest("host-a", linuxfwd.L2PortAlias("acme/mgmt", "l2peer"), "10.30.0.2/24")
	pa := r.guest("host-a", "acme/data/pa", "10.20.0.6/24")
	l2Addr, l3Addr := addr("10.30.0.1"), addr("10.20.0.5")
	peerAddr, paAddr := addr("10.30.0.2"), addr("10.20.0.6")
	peerMAC, bcast := macOf(t, peer), net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

	sport := uint16(42000)
	send := func(vlan uint16, dstMAC net.HardwareAddr, src, dst netip.Addr, n int) {
		t.Helper()
		for range n {
			sport++
			f := lab.UDPFrame(vnf.MAC, vlan, src, dst, sport, []byte("one vNIC, two services"))
			copy(f, dstMAC)
			if err := vnf.Send(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	const n100, n200, nCross = 6, 9, 4
	send(100, peerMAC, l2Addr, peerAddr, n100)
	send(200, bcast, l3Addr, paAddr, n200)
	send(100, bcast, l2Addr, paAddr, nCross)   // the L3 peer's address, in the L2 network
	send(200, bcast, l3Addr, peerAddr, nCross) // the L2 peer's address, in the VPN
	lab.WaitUDP(n100+n200, 2*time.Second, peer, pa)
	time.Sleep(100 * time.Millisecond)
	if got := peer.UDPReceived(); got != n100 {
		t.Errorf("L2 peer received %d datagrams, want %d", got, n100)
	}
	if got := pa.UDPReceived(); got != n200 {
		t.Errorf("L3VPN peer received %d datagrams, want %d", got, n200)
	}

	const rPeer, rPA = 5, 7
	done := make(chan lab.Seen)
	go func() { done <- vnf.ServeARP(100, l2Addr, 1500*time.Millisecond) }()
	time.Sleep(50 * time.Millisecond)
	if err := peer.SendUDP(l2Addr, rPeer); err != nil {
		t.Fatal(err)
	}
	if err := pa.SendUDP(l3Addr, rPA); err != nil {
		t.Fatal(err)
	}
	seen := <-done
	if seen.ARP == 0 {
		t.Errorf("the vNIC saw no ARP request for %s tagged 100", l2Addr)
	}
	count := func(vlan uint16, src, dst netip.Addr) int {
		k := 0
		for _, d := range seen.UDP {
			if d.VLAN == vlan && d.Src == src && d.Dst == dst && slices.Equal(d.DstMAC, vnf.MAC) {
				k++
			}
		}
		return k
	}
	if c100, c200 := count(100, peerAddr, l2Addr), count(200, paAddr, l3Addr); c100 != rPeer || c200 != rPA || len(seen.UDP) != rPeer+rPA {
		t.Errorf("the vNIC received %d datagrams: %d from the L2 peer tagged 100 (want %d), %d from the L3VPN peer tagged 200 (want %d)",
			len(seen.UDP), c100, rPeer, c200, rPA)
	}

	const (
		l2b = "/tenants/tenant[name=acme]/l2-networks/l2-network[name=mgmt]/bindings/binding[interface=vnf-vlan100]/status"
		l3b = "/tenants/tenant[name=acme]/vpns/vpn[name=data]/bindings/binding[interface=vnf-vlan200]/status"
	)
	status := func(oper, sync string) {
		t.Helper()
		for _, b := range []string{l2b, l3b} {
			if got := r.leaf(t, b+"/oper-status"); got != oper {
				t.Errorf("%s/oper-status = %v, want %s", b, got, oper)
			}
			if got := r.leaf(t, b+"/sync-state"); got != sync {
				t.Errorf("%s/sync-state = %v, want %s", b, got, sync)
			}
		}
	}
	status("up", "in-sync")
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=vendor-b]/reconcile-request", `"1"`)}})
	if n := r.leaf(t, "/backends/backend[name=vendor-b]/reconciliation/drift-count"); n != float64(0) {
		t.Errorf("vendor-b drift-count %v after a reconciliation in sync, want 0 (drift %v)", n,
			r.leaf(t, "/backends/backend[name=vendor-b]/reconciliation/drift"))
	}

	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=vendor-b]/admin-state", `"down"`)}})
	status("unknown", "pending")
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=vendor-b]/admin-state", `"up"`)}})
	status("up", "in-sync")
	before := peer.UDPReceived()
	send(100, peerMAC, l2Addr, peerAddr, n100)
	lab.WaitUDP(before+n100, 2*time.Second, peer)
	if got := peer.UDPReceived() - before; got != n100 {
		t.Errorf("after vendor-b came back, the L2 peer received %d datagrams, want %d", got, n100)
	}
}
