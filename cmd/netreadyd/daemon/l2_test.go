package daemon_test

// L2 networks realized by the Linux vForwarder: guests (namespaces
// standing for VMs) on two hosts served by two backends, configured only
// through gNMI Set.

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"

	"github.com/netready/netready/southbound/linuxfwd"
)

// l2Doc is two hosts on two backends and a tenant with two L2 networks,
// red (provider VXLAN 5000) and blue (no provider: an assigned VNI), each
// with an untagged interface bound on either host. Both use the same
// subnet, so only the networks keep their guests apart.
func l2Doc(prefix string) string {
	opt := fmt.Sprintf(`"option": [{"name": "netns-prefix", "value": %q}]`, prefix)
	port := func(name, host string) string { return fmt.Sprintf(`{"name": %q, "host": %q}`, name, host) }
	iface := func(name, port string) string {
		return fmt.Sprintf(`{"name": %q, "type": "untagged", "port": %q}`, name, port)
	}
	return fmt.Sprintf(`{
  "netready-infrastructure:backends": {"backend": [
    {"name": "vendor-a", "driver": "linux-vforwarder", %[1]s},
    {"name": "vendor-b", "driver": "linux-vforwarder", %[1]s}]},
  "netready-infrastructure:hosts": {"host": [
    {"name": "host-a", "backend": "vendor-a", "address": "192.0.2.1"},
    {"name": "host-b", "backend": "vendor-b", "address": "192.0.2.2"}]},
  "netready-tenants:tenants": {"tenant": [{"name": "acme",
    "ports": {"port": [%[2]s, %[3]s, %[4]s, %[5]s]},
    "interfaces": {"interface": [%[6]s, %[7]s, %[8]s, %[9]s]},
    "netready-l2network:l2-networks": {"l2-network": [
      {"name": "red", "provider": {"network-type": "vxlan", "segmentation-id": 5000},
       "bindings": {"binding": [{"interface": "ra"}, {"interface": "rb"}]}},
      {"name": "blue", "bindings": {"binding": [{"interface": "ba"}, {"interface": "bb"}]}}]}}]}
}`, opt, port("pra", "host-a"), port("prb", "host-b"), port("pba", "host-a"), port("pbb", "host-b"),
		iface("ra", "pra"), iface("rb", "prb"), iface("ba", "pba"), iface("bb", "pbb"))
}

func TestRealizeL2Networks(t *testing.T) {
	r := startRealized(t, nil)
	r.setRoot(t, []byte(l2Doc(r.lab.Prefix())))
	ra := r.guest("host-a", linuxfwd.L2PortAlias("acme/red", "ra"), "10.9.0.1/24")
	rb := r.guest("host-b", linuxfwd.L2PortAlias("acme/red", "rb"), "10.9.0.2/24")
	ba := r.guest("host-a", linuxfwd.L2PortAlias("acme/blue", "ba"), "10.9.0.3/24")
	bb := r.guest("host-b", linuxfwd.L2PortAlias("acme/blue", "bb"), "10.9.0.4/24")

	reach(t, ra, "10.9.0.2") // across hosts: ARP floods over VXLAN to host-b
	reach(t, rb, "10.9.0.1")
	reach(t, ba, "10.9.0.4")
	noReach(t, ra, "10.9.0.3") // blue, same host
	noReach(t, ra, "10.9.0.4") // blue, other host
	noReach(t, bb, "10.9.0.2")

	const red = "/tenants/tenant[name=acme]/l2-networks/l2-network[name=red]"
	for p, want := range map[string]any{
		red + "/bindings/binding[interface=rb]/status/oper-status":                 "up",
		red + "/bindings/binding[interface=rb]/status/sync-state":                  "in-sync",
		red + "/bindings/binding[interface=rb]/status/backend[name=vendor-b]/name": "vendor-b",
		red + "/status/oper-status":                                                "up",
		red + "/status/sync-state":                                                 "in-sync",
	} {
		if got := r.leaf(t, p); got != want {
			t.Errorf("%s = %v, want %v", p, got, want)
		}
	}

	// Idempotent: a reconciliation of a backend that holds its segments
	// finds nothing to correct.
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=vendor-a]/reconcile-request", `"1"`)}})
	if n := r.leaf(t, "/backends/backend[name=vendor-a]/reconciliation/drift-count"); n != float64(0) {
		t.Errorf("drift-count %v after a reconciliation in sync, want 0 (drift %v)", n,
			r.leaf(t, "/backends/backend[name=vendor-a]/reconciliation/drift"))
	}

	// Drift: red's VXLAN device on host-a removed by hand; the
	// reconciliation puts it back.
	vx := fmt.Sprintf("%sv%06x", r.lab.Prefix(), 5000)
	if out, err := r.lab.IP(r.lab.HostNS("host-a"), "link", "del", vx); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	noReach(t, ra, "10.9.0.2")
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=vendor-a]/reconcile-request", `"2"`)}})
	reach(t, ra, "10.9.0.2")
	if drift := fmt.Sprint(r.leaf(t, "/backends/backend[name=vendor-a]/reconciliation/drift")); !strings.Contains(drift, vx) {
		t.Errorf("drift %s does not name %s", drift, vx)
	}

	// Red's bridge on host-b set down by hand: reported and brought up.
	br := fmt.Sprintf("%sb%06x", r.lab.Prefix(), 5000)
	if out, err := r.lab.IP(r.lab.HostNS("host-b"), "link", "set", br, "down"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	noReach(t, ra, "10.9.0.2")
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=vendor-b]/reconcile-request", `"1"`)}})
	reach(t, ra, "10.9.0.2")
	if drift := fmt.Sprint(r.leaf(t, "/backends/backend[name=vendor-b]/reconciliation/drift")); !strings.Contains(drift, br+": down: fixed") {
		t.Errorf("drift %s does not say %s was down", drift, br)
	}

	// A binding taken down leaves its network on that host: rb is
	// unreachable, its status down, the network's down on no active
	// binding but ra.
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, red+"/bindings/binding[interface=rb]/admin-state", `"down"`)}})
	noReach(t, ra, "10.9.0.2")
	if got := r.leaf(t, red+"/bindings/binding[interface=rb]/status/oper-status"); got != "down" {
		t.Errorf("binding down: oper-status %v", got)
	}
	// A backend taken admin down is sent nothing: its bindings are
	// pending, not in sync.
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=vendor-a]/admin-state", `"down"`)}})
	const baStatus = "/tenants/tenant[name=acme]/l2-networks/l2-network[name=blue]/bindings/binding[interface=ba]/status"
	if got := r.leaf(t, baStatus+"/sync-state"); got != "pending" {
		t.Errorf("binding on an admin-down backend: sync-state %v, want pending", got)
	}
	if got := r.leaf(t, baStatus+"/oper-status"); got != "unknown" {
		t.Errorf("binding on an admin-down backend: oper-status %v, want unknown", got)
	}
	// Back up, the backend is reconciled; the guest keeps its port.
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=vendor-a]/admin-state", `"up"`)}})
	reach(t, ba, "10.9.0.4")
	if got := r.leaf(t, baStatus+"/sync-state"); got != "in-sync" {
		t.Errorf("binding back up: sync-state %v, want in-sync", got)
	}

	// Deleting the networks removes every L2 link from both hosts.
	r.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, "/tenants/tenant[name=acme]/l2-networks")}})
	for _, h := range []string{"host-a", "host-b"} {
		if links := l2Links(t, r, h); len(links) > 0 {
			t.Errorf("%s still holds %v", h, links)
		}
	}
}

// l2Links lists the L2 links (bridges, VXLAN devices, bridge ends) in a
// host's namespace.
func l2Links(t *testing.T, r *realized, host string) []string {
	t.Helper()
	out, err := r.lab.IP(r.lab.HostNS(host), "-o", "link", "show")
	if err != nil {
		t.Fatal(err)
	}
	var links []string
	for _, line := range strings.Split(out, "\n") {
		for _, k := range []string{"b", "v", "f"} {
			if strings.Contains(line, ": "+r.lab.Prefix()+k) {
				links = append(links, line)
			}
		}
	}
	return links
}

// TestL2NetworkUndoneWhenABackendFails: host-b's namespace is gone, so
// vendor-b cannot realize its half of a new L2 network; the Set fails
// with Aborted naming vendor-b, and host-a, which had realized its half,
// holds no L2 link again.
func TestL2NetworkUndoneWhenABackendFails(t *testing.T) {
	r := startRealized(t, nil)
	var doc map[string]any
	if err := json.Unmarshal([]byte(l2Doc(r.lab.Prefix())), &doc); err != nil {
		t.Fatal(err)
	}
	tenant := doc["netready-tenants:tenants"].(map[string]any)["tenant"].([]any)[0].(map[string]any)
	nets := tenant["netready-l2network:l2-networks"]
	delete(tenant, "netready-l2network:l2-networks")
	r.setRoot(t, mustJSON(t, doc))
	if err := r.lab.DeleteHost("host-b"); err != nil {
		t.Fatal(err)
	}
	_, err := r.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{
		upd(t, "/tenants/tenant[name=acme]/l2-networks", string(mustJSON(t, nets))),
	}})
	wantCode(t, err, codes.Aborted, "vendor-b")
	if links := l2Links(t, r, "host-a"); len(links) > 0 {
		t.Errorf("host-a still holds %v after the undo", links)
	}
	if _, err := r.get(t, "/tenants/tenant[name=acme]/l2-networks/l2-network", gpb.GetRequest_CONFIG); err == nil {
		t.Error("the refused L2 networks were stored")
	}
}

// TestL2FailureUndoesTheL3PartToo: a forwarder's L3 and L2 changes are one
// transaction. On host-a a VXLAN device made by hand holds VNI 5000 on the
// L2 port, so red's segment cannot be created there; the Set that adds an
// L3VPN binding and red on host-a fails with Aborted, and host-a holds
// neither the VRF nor any L2 link afterwards.
func TestL2FailureUndoesTheL3PartToo(t *testing.T) {
	r := startRealized(t, nil)
	if out, err := r.lab.IP(r.lab.HostNS("host-a"), "link", "add", "squat", "type", "vxlan", "id", "5000", "dstport", "8472"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(l2Doc(r.lab.Prefix())), &doc); err != nil {
		t.Fatal(err)
	}
	tenant := doc["netready-tenants:tenants"].(map[string]any)["tenant"].([]any)[0].(map[string]any)
	ports := tenant["ports"].(map[string]any)
	ports["port"] = append(ports["port"].([]any), map[string]any{"name": "pl3", "host": "host-a"})
	ifaces := tenant["interfaces"].(map[string]any)
	ifaces["interface"] = append(ifaces["interface"].([]any), map[string]any{"name": "l3", "type": "untagged", "port": "pl3"})
	tenant["netready-l3vpn:vpns"] = map[string]any{"vpn": []any{map[string]any{"name": "data",
		"route-target": []any{map[string]any{"value": "64512:1", "direction": "both"}},
		"bindings":     map[string]any{"binding": []any{map[string]any{"interface": "l3", "ip-address": []any{"10.20.0.1"}}}}}}}
	doc["netready-l3vpn:route-targets"] = map[string]any{"route-target": []any{map[string]any{"value": "64512:1", "owner": "acme"}}}

	// First the backends, hosts, ports and interfaces alone, so the Set
	// under test is applied as changes (a new backend is reconciled
	// instead; that path is undone the same way).
	services := map[string]any{}
	for _, k := range []string{"netready-l3vpn:vpns", "netready-l2network:l2-networks"} {
		services[k] = tenant[k]
		delete(tenant, k)
	}
	r.setRoot(t, mustJSON(t, doc))
	maps.Copy(tenant, services)
	_, err := r.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{{Path: &gpb.Path{}, Val: jsonIETF(string(mustJSON(t, doc)))}}})
	wantCode(t, err, codes.Aborted, "backend vendor-a could not realize the transaction: host-a: L2 acme/red: create VXLAN")
	for _, ns := range r.lab.Namespaces() {
		if strings.HasPrefix(ns, r.lab.HostNS("host-a")+"@") {
			t.Errorf("host-a still holds the VRF namespace %s", ns)
		}
	}
	for _, h := range []string{"host-a", "host-b"} {
		if links := l2Links(t, r, h); len(links) > 0 {
			t.Errorf("%s still holds %v", h, links)
		}
	}
}
