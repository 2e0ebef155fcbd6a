package desired_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/desired"
	"github.com/netready/netready/southbound/routing"
	netreadyyang "github.com/netready/netready/yang"
)

// load decodes a scenario file as the server does for
// `gnmic set --update-path / --update-file`.
func load(t *testing.T, name string, extra ...string) *tree.Node {
	t.Helper()
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	txn := tree.Begin(tree.NewRoot(sch))
	docs := [][]byte{}
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "scenarios", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, b)
	for _, e := range extra {
		docs = append(docs, []byte(e))
	}
	for _, d := range docs {
		p, err := tree.DecodeRootJSON(sch.Root, d, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := txn.Merge(nil, p); err != nil {
			t.Fatal(err)
		}
	}
	return txn.Root()
}

func compute(t *testing.T, root *tree.Node) routing.Result {
	t.Helper()
	m, err := desired.Model(root)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := routing.Compute(m, routing.Assignments{})
	return res
}

func TestAnyToAny(t *testing.T) {
	m, err := desired.Model(load(t, "any-to-any"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Hosts) != 2 || m.Hosts[0] != (routing.Host{Name: "host-a", Backend: "vendor-a", Addr: netip.MustParseAddr("192.0.2.1")}) {
		t.Fatalf("hosts %v", m.Hosts)
	}
	if len(m.VPNs) != 2 || m.VPNs[0].Key() != "blue/blue" || m.VPNs[1].Key() != "red/red" {
		t.Fatalf("vpns %v", m.VPNs)
	}
	blue := m.VPNs[0]
	if len(blue.ImportRTs) != 1 || blue.ImportRTs[0] != "64512:100" || len(blue.ExportRTs) != 1 || len(blue.Bindings) != 4 {
		t.Fatalf("blue %+v", blue)
	}
	if b := blue.Bindings[0]; b.Interface != "g1" || b.Host != "host-a" || !b.AdminUp || b.Addrs[0] != netip.MustParseAddr("10.1.1.5") {
		t.Fatalf("binding g1 %+v", b)
	}
	// Red's G6 is reached from host-a through red's VRF only.
	res := compute(t, load(t, "any-to-any"))
	red := res.Hosts["host-a"].VRF("red/red")
	if red == nil {
		t.Fatalf("no red VRF on host-a: %+v", res.Hosts["host-a"])
	}
	r := red.Route(netip.MustParsePrefix("10.1.1.6/32"))
	if r == nil || len(r.NextHops) != 1 || r.NextHops[0].Host != "host-b" || r.NextHops[0].VRF != "red/red" {
		t.Fatalf("red route to G6 %+v", r)
	}
}

func TestHubAndSpokeDrawsSpokesToTheHub(t *testing.T) {
	res := compute(t, load(t, "hub-and-spoke"))
	var spokes int
	for _, h := range res.Hosts {
		for _, v := range h.VRFs {
			if v.Role != routing.RoleSpoke {
				continue
			}
			spokes++
			r := v.Route(netip.MustParsePrefix("0.0.0.0/0"))
			if r == nil || r.NextHops[0].Interface != "vfw" {
				t.Errorf("spoke VRF %s default route %+v, want via vfw", v.ID, r)
			}
		}
	}
	if spokes != 3 {
		t.Fatalf("%d spoke VRFs, want 3", spokes)
	}
}

func TestECMPAnycast(t *testing.T) {
	m, _ := desired.Model(load(t, "ecmp"))
	if !m.VPNs[0].Anycast || len(m.VPNs[0].StaticRoutes) != 1 || len(m.VPNs[0].StaticRoutes[0].NextHops) != 2 {
		t.Fatalf("ecmp vpn %+v", m.VPNs[0])
	}
	res := compute(t, load(t, "ecmp"))
	r := res.Hosts["host-b"].VRF("blue/blue").Route(netip.MustParsePrefix("10.1.1.5/32"))
	if r == nil || len(r.NextHops) != 3 {
		t.Fatalf("anycast route on host-b %+v, want three next hops", r)
	}
}

// TestPlacementFollowsParentsAndAdminState: an interface on a parent
// interface sits on the parent's port; anything admin down below a
// binding takes it out.
func TestPlacementFollowsParentsAndAdminState(t *testing.T) {
	m, _ := desired.Model(load(t, "service-binding"))
	var data routing.VPN
	for _, v := range m.VPNs {
		if v.Name == "data" {
			data = v
		}
	}
	if len(data.Bindings) != 1 || data.Bindings[0].Host != "host-b" || !data.Bindings[0].AdminUp {
		t.Fatalf("binding on a VLAN sub-interface %+v", data.Bindings)
	}
	down := `{"netready-tenants:tenants": {"tenant": [{"name": "acme", "ports": {"port": [{"name": "vnf-nic0", "admin-state": "down"}]}}]}}`
	m, _ = desired.Model(load(t, "service-binding", down))
	for _, v := range m.VPNs {
		for _, b := range v.Bindings {
			if b.AdminUp {
				t.Errorf("binding %s up although its port is down", b.Interface)
			}
		}
	}
}

// TestPortsNameTheirVNICAndVLAN: a binding's port is located on its host
// by the vNIC at the root of its interface hierarchy and the VLAN id of a
// vlan sub-interface (0 for an untagged interface).
func TestPortsNameTheirVNICAndVLAN(t *testing.T) {
	res := compute(t, load(t, "service-binding"))
	v := res.Hosts["host-b"].VRF("acme/data")
	if v == nil || len(v.Ports) != 1 {
		t.Fatalf("host-b VRF acme/data: %+v", v)
	}
	if p := v.Ports[0]; p.Interface != "vnf-vlan200" || p.VNIC != "vnf-nic0" || p.VLAN != 200 {
		t.Errorf("port %+v, want vnf-vlan200 on vNIC vnf-nic0, VLAN 200", p)
	}
	res = compute(t, load(t, "any-to-any"))
	for _, v := range res.Hosts["host-a"].VRFs {
		for _, p := range v.Ports {
			if p.VNIC == "" || p.VLAN != 0 {
				t.Errorf("untagged port %+v: want its vNIC and no VLAN", p)
			}
		}
	}
}
