package desired_test

import (
	"reflect"
	"testing"

	rz "github.com/netready/netready/gen/realization"
	"github.com/netready/netready/southbound/desired"
)

// TestNeeds: what each binding of the service-binding scenario asks of
// its host's forwarder, and NeedsOf (the bindings named, placed alone)
// agreeing with Needs.
func TestNeeds(t *testing.T) {
	root := load(t, "service-binding", `{"netready-tenants:tenants": {"tenant": [{"name": "acme",
		"interfaces": {"interface": [{"name": "vnf-qinq", "type": "vlan", "parent": "vnf-vlan200", "segmentation-id": 7}]},
		"netready-l3vpn:vpns": {"vpn": [{"name": "data", "bindings": {"binding": [
			{"interface": "vnf-vxlan5001"}, {"interface": "vnf-trunk"}, {"interface": "vnf-qinq"}]}}]}}]}}`)
	tn, _ := (rz.Root{Node: root}).Tenant("acme")
	needs := desired.Needs(tn.Node)
	byPath := map[string]desired.Need{}
	var refs []desired.BindingRef
	for _, n := range needs {
		byPath[n.Path()] = n
		refs = append(refs, n.BindingRef)
	}
	const vpn = "/tenants/tenant[name=acme]/vpns/vpn[name=data]/bindings/binding[interface="
	for path, want := range map[string]struct {
		tagged, l2 bool
		noDriver   bool
	}{
		vpn + "vnf-vlan200]":   {tagged: true},
		vpn + "vnf-vxlan5001]": {noDriver: true},
		vpn + "vnf-trunk]":     {noDriver: true},
		vpn + "vnf-qinq]":      {tagged: true, noDriver: true},
		"/tenants/tenant[name=acme]/l2-networks/l2-network[name=mgmt]/bindings/binding[interface=vnf-vlan100]": {tagged: true, l2: true},
	} {
		n, ok := byPath[path]
		if !ok {
			t.Errorf("no need for %s", path)
			continue
		}
		if n.Host != "host-b" || n.VNIC != "vnf-nic0" || n.Tagged != want.tagged || n.L2 != want.l2 || (n.NoDriver != "") != want.noDriver {
			t.Errorf("%s: %+v, want tagged %v, L2 %v, refused by every driver %v", path, n, want.tagged, want.l2, want.noDriver)
		}
	}
	if len(needs) != 5 {
		t.Errorf("%d needs, want 5", len(needs))
	}
	if got := desired.NeedsOf(tn.Node, refs); !reflect.DeepEqual(got, needs) {
		t.Errorf("NeedsOf\n%+v\nNeeds\n%+v", got, needs)
	}
}

// TestIndexFollowsAVLANChange: a new segmentation-id on a bound VLAN
// interface is a placement change: the Index re-reads the binding and its
// port carries the new VLAN.
func TestIndexFollowsAVLANChange(t *testing.T) {
	root := load(t, "service-binding")
	ix, err := desired.NewIndex(root)
	if err != nil {
		t.Fatal(err)
	}
	root = merge(t, root, `{"netready-tenants:tenants": {"tenant": [{"name": "acme",
		"interfaces": {"interface": [{"name": "vnf-vlan200", "segmentation-id": 300}]}}]}}`)
	touched, err := ix.Update(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(touched.Bindings) != 1 || touched.Bindings[0].Interface != "vnf-vlan200" {
		t.Errorf("touched %+v, want the binding on vnf-vlan200", touched)
	}
	m := ix.Model()
	for _, v := range m.VPNs {
		for _, b := range v.Bindings {
			if b.Interface == "vnf-vlan200" && (b.VLAN != 300 || b.VNIC != "vnf-nic0") {
				t.Errorf("binding %+v, want VLAN 300 on vnf-nic0", b)
			}
		}
	}
}
