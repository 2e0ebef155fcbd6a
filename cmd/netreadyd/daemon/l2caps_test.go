package daemon_test

// What no forwarder realizes of L2 networks is refused at commit
// (FailedPrecondition and the path), on linux-vforwarder and
// ebpf-vforwarder alike: one interface bound to an L3VPN and to an L2
// network (by validation, wherever it is placed: server/rules), and an L2
// network's mtu other than the one the forwarders give every segment
// (naming the backend).

import (
	"fmt"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
)

// withEBPFHost adds to startCaps' configuration an ebpf-vforwarder
// backend with host host-e, and on it port nice with VLAN 500 of a trunk.
// Its bindings are admin down here: the host's namespace never exists.
func withEBPFHost(t *testing.T, ts *testServer) {
	t.Helper()
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{
		upd(t, "/backends/backend[name=ebpf]", `{"driver": "ebpf-vforwarder", "option": [{"name": "netns-prefix", "value": "nrx9-"}]}`),
		upd(t, "/hosts/host[name=host-e]", `{"backend": "ebpf", "address": "192.0.2.5"}`),
		upd(t, capsT+"/ports/port[name=nice]", `{"host": "host-e"}`),
		upd(t, capsT+"/interfaces/interface[name=trunke]", `{"type": "trunk", "port": "nice"}`),
		upd(t, capsT+"/interfaces/interface[name=v500]", `{"type": "vlan", "parent": "trunke", "segmentation-id": 500}`),
	}})
}

func TestRefuseOneInterfaceInL3VPNAndL2Network(t *testing.T) {
	ts := startCaps(t)
	withEBPFHost(t, ts)
	for _, c := range []struct{ iface, ip string }{
		{"u0", "10.0.0.7"},
		{"v500", "10.0.0.8"},
	} {
		t.Run(c.iface, func(t *testing.T) {
			vpn, l2 := capsVPN+"[interface="+c.iface+"]", capsL2+"[interface="+c.iface+"]"
			down := `{"admin-state": "down"}`
			// Either alone is accepted (admin down: nothing to realize).
			ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, l2, down)}})
			ts.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, l2)}})
			ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, vpn, `{"ip-address": ["`+c.ip+`"], "admin-state": "down"}`)}})
			// Both: refused at the binding the Set adds, whichever it is.
			ts.refused(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, l2, down)}},
				l2+"/interface", "already bound to VPN data", "one forwarding service")
			ts.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, vpn)}})
			ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, l2, down)}})
			ts.refused(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, vpn, `{"ip-address": ["`+c.ip+`"], "admin-state": "down"}`)}},
				vpn+"/interface", "already bound to L2 network mgmt", "one forwarding service")
			ts.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, l2)}})
		})
	}
}

func TestRefuseL2NetworkMTU(t *testing.T) {
	ts := startCaps(t)
	withEBPFHost(t, ts)
	const mtu = capsT + "/l2-networks/l2-network[name=mgmt]/mtu"
	// Unbound, the network needs nothing of any forwarder yet.
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, mtu, `9000`)}})
	for _, c := range []struct{ iface, backend string }{{"u0", "backend fwd"}, {"v500", "backend ebpf"}} {
		ts.refused(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, capsL2+"[interface="+c.iface+"]", `{"admin-state": "down"}`)}},
			mtu, c.backend, "mtu 9000", "MTU 1450 only")
	}
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, mtu, `1450`)}})
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, capsL2+"[interface=v500]", `{"admin-state": "down"}`)}})
	// The network's own leaf changed under a placed binding.
	for _, v := range []int{1400, 1500} {
		ts.refused(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, mtu, fmt.Sprint(v))}},
			mtu, "backend ebpf", "driver ebpf-vforwarder", fmt.Sprintf("mtu %d", v))
	}
}
