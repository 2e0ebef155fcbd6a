package daemon_test

// One vNIC carrying an L2 network and an L3VPN on vendor B
// (ebpf-vforwarder), their peers on vendor A (linux-vforwarder):
// configured through gNMI Set, judged by tagged frames and by status.

import (
	"fmt"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

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
	sv := &lab.SharedVNIC{
		VNIC:   vnf,
		L2Peer: r.guest("host-a", linuxfwd.L2PortAlias("acme/mgmt", "l2peer"), "10.30.0.2/24"),
		L3Peer: r.guest("host-a", "acme/data/pa", "10.20.0.6/24"),
		L2Addr: addr("10.30.0.1"), L3Addr: addr("10.20.0.5"),
	}
	sv.Check(t)

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
	const n = 6
	before := sv.L2Peer.UDPReceived()
	peerMAC, err := sv.L2Peer.MAC()
	if err != nil {
		t.Fatal(err)
	}
	sv.Send(t, 100, peerMAC, sv.L2Addr, sv.L2Peer.Addrs[0].Addr(), n)
	lab.WaitUDP(before+n, 2*time.Second, sv.L2Peer)
	if got := sv.L2Peer.UDPReceived() - before; got != n {
		t.Errorf("after vendor-b came back, the L2 peer received %d datagrams, want %d", got, n)
	}
}
