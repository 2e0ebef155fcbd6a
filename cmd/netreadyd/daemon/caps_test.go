package daemon_test

// Refusal of intent no backend can realize: a Set whose result the
// backends' drivers cannot hold fails with FailedPrecondition naming the
// path at fault and the backend, and changes nothing (no commit, no
// audit entry, the same configuration).

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/linuxfwd/lab"
)

// capsRegistry is the built-in drivers plus the real Linux vForwarder
// registered twice more under other capabilities: "l3-only" (no L2
// networks) and "vlan-fwd" (as the eBPF forwarder will declare, VLAN
// sub-interfaces), so that a placement can move between backends whose
// drivers differ in what they realize before a second real kind exists.
func capsRegistry() southbound.Registry {
	r := daemon.Drivers()
	real := r[linuxfwd.Kind]
	r["l3-only"] = southbound.Plugin{Open: real.Open, Caps: southbound.Capabilities{Forwarding: true}}
	r["vlan-fwd"] = southbound.Plugin{Open: real.Open, Caps: southbound.Capabilities{Forwarding: true, VLAN: true}}
	return r
}

// capsBase is a host on a Linux vForwarder backend, one on a VLAN-capable
// one, a webhook backend, and a tenant with an untagged interface, a
// trunk with VLAN, VXLAN and QinQ sub-interfaces, an unplaced port with a
// VLAN interface, a VPN and an L2 network, none of them bound. The hosts'
// namespaces (prefix) never exist: nothing here needs them.
func capsBase(prefix, hook string) string {
	opt := fmt.Sprintf(`"option": [{"name": "netns-prefix", "value": %q}]`, prefix)
	return fmt.Sprintf(`{
  "netready-infrastructure:backends": {"backend": [
    {"name": "fwd", "driver": "linux-vforwarder", %[1]s},
    {"name": "l3", "driver": "l3-only", %[1]s},
    {"name": "vfwd", "driver": "vlan-fwd", %[1]s},
    {"name": "hook", "driver": "webhook", "endpoint": %[2]q, "option": [{"name": "paths", "value": "/sites"}]}]},
  "netready-infrastructure:hosts": {"host": [
    {"name": "host-a", "backend": "fwd", "address": "192.0.2.1"},
    {"name": "host-l3", "backend": "l3", "address": "192.0.2.3"},
    {"name": "host-v", "backend": "vfwd", "address": "192.0.2.2"}]},
  "netready-tenants:tenants": {"tenant": [{"name": "t",
    "ports": {"port": [{"name": "nic0", "host": "host-a"}, {"name": "nic1"}, {"name": "nicv", "host": "host-v"}, {"name": "nicl3", "host": "host-l3"}]},
    "interfaces": {"interface": [
      {"name": "u0", "type": "untagged", "port": "nic0"},
      {"name": "ul3", "type": "untagged", "port": "nicl3"},
      {"name": "trunk0", "type": "trunk", "port": "nic0"},
      {"name": "v100", "type": "vlan", "parent": "trunk0", "segmentation-id": 100},
      {"name": "x5001", "type": "vxlan", "parent": "trunk0", "segmentation-id": 5001},
      {"name": "q200", "type": "vlan", "parent": "v100", "segmentation-id": 200},
      {"name": "trunk1", "type": "trunk", "port": "nic1"},
      {"name": "v300", "type": "vlan", "parent": "trunk1", "segmentation-id": 300},
      {"name": "trunkv", "type": "trunk", "port": "nicv"},
      {"name": "v400", "type": "vlan", "parent": "trunkv", "segmentation-id": 400}]},
    "netready-l3vpn:vpns": {"vpn": [{"name": "data", "route-target": [{"value": "64512:1", "direction": "both"}]}]},
    "netready-l2network:l2-networks": {"l2-network": [{"name": "mgmt"}]}}]},
  "netready-l3vpn:route-targets": {"route-target": [{"value": "64512:1", "owner": "t"}]}
}`, opt, hook)
}

// startCaps starts a server on the real drivers with capsBase stored.
func startCaps(t *testing.T) *testServer {
	t.Helper()
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(hook.Close)
	ts := startWith(t, daemon.Config{Drivers: capsRegistry()})
	ts.setRoot(t, []byte(capsBase(lab.RandomPrefix(), hook.URL)))
	return ts
}

const (
	capsT    = "/tenants/tenant[name=t]"
	capsVPN  = capsT + "/vpns/vpn[name=data]/bindings/binding"
	capsL2   = capsT + "/l2-networks/l2-network[name=mgmt]/bindings/binding"
	bindJSON = `{"ip-address": ["10.0.0.1"]}`
)

// refused sends req and checks that it fails with FailedPrecondition
// naming want (the path and the backend), changing nothing: no commit,
// the same configuration (the audit log records the refusal).
func (ts *testServer) refused(t *testing.T, req *gpb.SetRequest, want ...string) {
	t.Helper()
	before := ts.untouched(t)
	_, err := ts.client.Set(ctx(t), req)
	for _, w := range want {
		wantCode(t, err, codes.FailedPrecondition, w)
	}
	after := ts.untouched(t)
	if !equalJSON(before.commit, after.commit) || !equalJSON(before.config, after.config) {
		t.Fatalf("a refused Set changed something:\nbefore %v\nafter  %v", before, after)
	}
}

func TestRefuseHostOnDataDriver(t *testing.T) {
	ts := startCaps(t)
	ts.refused(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/hosts/host[name=host-b]", `{"backend": "hook", "address": "192.0.2.9"}`)}},
		"/hosts/host[name=host-b]/backend", "backend hook", "driver webhook", "does not forward")
	// Moving a host that serves bindings takes its data plane away: the
	// same refusal.
	ts.refused(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/hosts/host[name=host-a]/backend", `"hook"`)}},
		"/hosts/host[name=host-a]/backend", "webhook")
	// A backend's driver changed to a data driver while a host uses it.
	ts.refused(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=fwd]", `{"driver": "webhook", "endpoint": "http://127.0.0.1:9",
		"option": [{"name": "paths", "value": "/sites"}]}`)}},
		"/backends/backend[name=fwd]/driver", "host host-a", "webhook")
}

func TestRefuseVLANBindingOnLinuxForwarder(t *testing.T) {
	ts := startCaps(t)
	for _, c := range []struct{ name, path, body string }{
		{"vpn", capsVPN + "[interface=v100]", bindJSON},
		{"l2", capsL2 + "[interface=v100]", `{}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts.refused(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, c.path, c.body)}},
				c.path, "backend fwd", "driver linux-vforwarder", "VLAN sub-interfaces")
		})
	}
}

func TestRefuseKindsNoDriverRealizes(t *testing.T) {
	ts := startCaps(t)
	for _, c := range []struct{ iface, msg string }{
		{"x5001", "no driver realizes vxlan sub-interfaces"},
		{"q200", "QinQ"},
		{"trunk0", "trunk"},
	} {
		t.Run(c.iface, func(t *testing.T) {
			// Refused on the VLAN-capable backend too: no driver has them.
			ts.refused(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, capsVPN+"[interface="+c.iface+"]", bindJSON)}},
				capsVPN+"[interface="+c.iface+"]", "backend fwd", c.msg)
		})
	}
}

func TestRefuseL2BindingWithoutL2Driver(t *testing.T) {
	ts := startCaps(t)
	ts.refused(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, capsL2+"[interface=ul3]", `{}`)}},
		capsL2+"[interface=ul3]", "backend l3", "driver l3-only", "L2 networks")
}

// TestRefusePlacementMovingUnderABinding: the binding's own Set was
// accepted (its interface was not placed, or its host's backend could
// realize it); the Set that moves the placement under it is refused.
func TestRefusePlacementMovingUnderABinding(t *testing.T) {
	ts := startCaps(t)
	// An unplaced port's VLAN interface needs nothing yet.
	if _, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, capsVPN+"[interface=v300]", bindJSON)}}); err != nil {
		t.Fatalf("binding on an unplaced port: %v", err)
	}
	ts.refused(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, capsT+"/ports/port[name=nic1]/host", `"host-a"`)}},
		capsVPN+"[interface=v300]", "host host-a", "backend fwd", "VLAN")

	// A VLAN binding on the VLAN-capable backend (admin down, so the lab
	// needs no namespace) is accepted; moving its host, or its port, to
	// the Linux vForwarder is not.
	if _, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, capsVPN+"[interface=v400]", `{"ip-address": ["10.0.0.4"], "admin-state": "down"}`)}}); err != nil {
		t.Fatalf("VLAN binding on a VLAN-capable backend: %v", err)
	}
	ts.refused(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/hosts/host[name=host-v]/backend", `"fwd"`)}},
		capsVPN+"[interface=v400]", "backend fwd", "VLAN")
	ts.refused(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, capsT+"/ports/port[name=nicv]/host", `"host-a"`)}},
		capsVPN+"[interface=v400]", "backend fwd", "VLAN")
	// The dry run refuses what the Set would.
	_, _, err := ts.dryRun(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/hosts/host[name=host-v]/backend", `"fwd"`)}})
	wantCode(t, err, codes.FailedPrecondition, capsVPN+"[interface=v400]")
}

// TestUnboundObjectsNeedNothing: a port without interface, an interface
// without binding, are accepted whatever their kind and host.
func TestUnboundObjectsNeedNothing(t *testing.T) {
	ts := startCaps(t)
	if _, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{
		upd(t, capsT+"/ports/port[name=nic9]", `{"host": "host-a"}`),
		upd(t, capsT+"/interfaces/interface[name=v999]", `{"type": "vlan", "parent": "trunk0", "segmentation-id": 999}`),
		upd(t, capsT+"/interfaces/interface[name=x9]", `{"type": "vxlan", "parent": "trunk0", "segmentation-id": 9}`),
	}}); err != nil {
		t.Fatalf("unbound objects: %v", err)
	}
}

// TestRefuseMovingARealizedHostToAWebhook is the case the issue found:
// a host whose bindings carry traffic, moved to a webhook backend. The
// move is refused; the data plane and the bindings' status stay as they
// were.
func TestRefuseMovingARealizedHostToAWebhook(t *testing.T) {
	r := startRealized(t, nil)
	r.setRoot(t, r.labScenario(t, "any-to-any"))
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(hook.Close)
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=hook]",
		fmt.Sprintf(`{"driver": "webhook", "endpoint": %q, "option": [{"name": "paths", "value": "/sites"}]}`, hook.URL))}})
	g1 := r.guest("host-a", "blue/blue/g1", "10.1.1.5/24")
	r.guest("host-b", "blue/blue/g3", "10.1.1.6/24")
	reach(t, g1, "10.1.1.6")

	r.refused(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/hosts/host[name=host-a]/backend", `"hook"`)}},
		"/hosts/host[name=host-a]/backend", "backend hook", "driver webhook")
	reach(t, g1, "10.1.1.6")
	const g1Status = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/bindings/binding[interface=g1]/status"
	if got := r.leaf(t, g1Status+"/sync-state"); got != "in-sync" {
		t.Errorf("g1 sync-state %v, want in-sync", got)
	}
	if got := r.leaf(t, g1Status+"/backend[name=vendor-a]/name"); got != "vendor-a" {
		t.Errorf("g1 is reported on %v, want vendor-a", got)
	}
}

// TestRefuseServiceBindingScenarioOnLinuxForwarder is the other case the
// issue found: the service-binding scenario (one vNIC, VLAN 100 bound to
// an L2 network, VLAN 200 to an L3VPN) on Linux vForwarders, with their
// host namespaces there, was accepted and realized as untagged veths that
// frames tagged 100 or 200 never reach. It is refused whole.
func TestRefuseServiceBindingScenarioOnLinuxForwarder(t *testing.T) {
	r := startRealized(t, nil)
	r.vendorB = linuxfwd.Kind
	r.refused(t, &gpb.SetRequest{Update: []*gpb.Update{{Path: &gpb.Path{}, Val: jsonIETF(string(r.labScenario(t, "service-binding")))}}},
		"/tenants/tenant[name=acme]/vpns/vpn[name=data]/bindings/binding[interface=vnf-vlan200]", "backend vendor-b",
		"driver linux-vforwarder", "VLAN sub-interfaces")
	if _, err := r.get(t, "/tenants", gpb.GetRequest_CONFIG); err == nil {
		t.Error("the refused scenario was stored")
	}
}

// TestRealizeServiceBindingScenario: the scenario as written, its vNIC on
// vendor B's host (ebpf-vforwarder), is accepted and both of the vNIC's
// services are realized and in sync (their packets:
// TestRealizeSharedVNICL2AndL3VPNMixedVendors).
func TestRealizeServiceBindingScenario(t *testing.T) {
	r := startRealized(t, nil)
	r.setRoot(t, r.labScenario(t, "service-binding"))
	for _, b := range []string{
		"/tenants/tenant[name=acme]/vpns/vpn[name=data]/bindings/binding[interface=vnf-vlan200]/status",
		"/tenants/tenant[name=acme]/l2-networks/l2-network[name=mgmt]/bindings/binding[interface=vnf-vlan100]/status",
	} {
		if got := r.leaf(t, b+"/sync-state"); got != "in-sync" {
			t.Errorf("%s: sync-state %v, want in-sync", b, got)
		}
		if got := r.leaf(t, b+"/oper-status"); got != "up" {
			t.Errorf("%s: oper-status %v, want up", b, got)
		}
	}
}

// A forwarding backend's driver kind cannot change in place while hosts
// are placed on it: the retiring driver would never remove what it holds
// on them. Moving the hosts away first (their old driver removes it) and
// then changing the driver is accepted; so is a change on a backend that
// serves no host.
func TestRefuseDriverSwapUnderHosts(t *testing.T) {
	ts := startCaps(t)
	const drv = "/backends/backend[name=l3]/driver"
	ts.refused(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, drv, `"vlan-fwd"`)}},
		drv, "backend l3", "from l3-only to vlan-fwd", "host host-l3", "move the hosts to it")
	// Moving the host in the same Set does not help: the new driver would
	// be asked to remove what the old one holds.
	ts.refused(t, &gpb.SetRequest{Update: []*gpb.Update{
		upd(t, drv, `"vlan-fwd"`),
		upd(t, "/hosts/host[name=host-l3]/backend", `"vfwd"`),
	}}, drv, "host host-l3")

	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/hosts/host[name=host-l3]/backend", `"vfwd"`)}})
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, drv, `"vlan-fwd"`)}})
	if got := ts.configAt(t, drv); got != "vlan-fwd" {
		t.Errorf("%s = %v after the hosts moved away, want vlan-fwd", drv, got)
	}
}

// TestRefuseIPv6WithoutIPv6Driver: a VPN that routes IPv6 (a binding's
// IPv6 address, an IPv6 static route) holds those routes in its VRF on
// every host where it has a binding, so each such host must be on a
// backend whose driver realizes IPv6 ("l3-only" declares no IPv6, as
// ebpf-vforwarder does not). Refused at the binding on that host, naming
// the backend, its driver and where the VPN asks for IPv6.
func TestRefuseIPv6WithoutIPv6Driver(t *testing.T) {
	ts := startCaps(t)
	const down = `"admin-state": "down"` // judged whatever the admin state; no namespace needed
	setOne := func(p, js string) *gpb.SetRequest { return &gpb.SetRequest{Update: []*gpb.Update{upd(t, p, js)}} }
	ul3, u0 := capsVPN+"[interface=ul3]", capsVPN+"[interface=u0]"

	// An IPv6 address on the host without IPv6.
	ts.refused(t, setOne(ul3, `{"ip-address": ["2001:db8::3"], `+down+`}`),
		ul3, "backend l3", "driver l3-only", "does not realize IPv6", "2001:db8::3", "drivers that do: linux-vforwarder")

	// On the Linux vForwarder it is accepted; an IPv4 binding of the same
	// VPN on the host without IPv6 is then refused: its VRF would hold
	// u0's IPv6 route.
	ts.mustSet(t, setOne(u0, `{"ip-address": ["2001:db8::1"], `+down+`}`))
	ts.refused(t, setOne(ul3, `{"ip-address": ["10.0.0.3"], `+down+`}`),
		ul3, "backend l3", "2001:db8::1", u0+"/ip-address")

	// Without IPv6 bindings, the IPv4 one is accepted; an IPv6 static
	// route is then refused at it.
	ts.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, u0)}})
	ts.mustSet(t, setOne(ul3, `{"ip-address": ["10.0.0.3"], `+down+`}`))
	const static = capsT + "/vpns/vpn[name=data]/static-routes/route[prefix=2001:db8:99::/48]"
	ts.refused(t, setOne(static, `{"next-hop": [{"address": "2001:db8::3"}]}`),
		ul3, "backend l3", "2001:db8:99::/48", static)

	// A host moving under an IPv6 binding: refused, and so is the dry run.
	ts.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, ul3)}})
	ts.mustSet(t, setOne(u0, `{"ip-address": ["2001:db8::1"], `+down+`}`))
	move := setOne("/hosts/host[name=host-a]/backend", `"l3"`)
	ts.refused(t, move, u0, "backend l3", "IPv6")
	_, _, err := ts.dryRun(t, move)
	wantCode(t, err, codes.FailedPrecondition, u0)
}

// TestRefuseIPv6OnEBPFForwarder: the scenario's mixed vendors, Blue on
// host-a (linux-vforwarder) and host-b (ebpf-vforwarder, no IPv6). An
// IPv6 address for g1 on host-a is refused too: Blue's VRF on host-b
// would hold its route. Nothing changes in the network.
func TestRefuseIPv6OnEBPFForwarder(t *testing.T) {
	r := startRealized(t, nil)
	r.setRoot(t, r.labScenario(t, "any-to-any"))
	const blue = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]"
	subnet := upd(t, blue+"/subnet[prefix=2001:db8:1::/64]", `{}`)
	r.refused(t, &gpb.SetRequest{Update: []*gpb.Update{subnet, upd(t, blue+"/bindings/binding[interface=g3]/ip-address", `["10.1.1.6", "2001:db8:1::6"]`)}},
		blue+"/bindings/binding[interface=g3]", "backend vendor-b", "driver ebpf-vforwarder", "2001:db8:1::6")
	r.refused(t, &gpb.SetRequest{Update: []*gpb.Update{subnet, upd(t, blue+"/bindings/binding[interface=g1]/ip-address", `["10.1.1.5", "2001:db8:1::5"]`)}},
		"host host-b", "backend vendor-b", "driver ebpf-vforwarder", "2001:db8:1::5", blue+"/bindings/binding[interface=g1]/ip-address")
	g1 := r.guest("host-a", "blue/blue/g1", "10.1.1.5/24")
	r.guest("host-b", "blue/blue/g3", "10.1.1.6/24")
	reach(t, g1, "10.1.1.6")
}
