package realize_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/netready/netready/server/schema/value"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/desired"
	"github.com/netready/netready/southbound/l2"
)

// TestL2ChangesRealizedIncrementally: L2 Sets (a binding flipped, a
// network added and deleted, a port moved to another host, an L3 Set in
// between) leave each backend holding exactly what a full computation
// says, though the engine computes only the networks each Set changed.
func TestL2ChangesRealizedIncrementally(t *testing.T) {
	r := newRig(t, "any-to-any", l2Tenant(100))
	r.holdsL2(t, "start")
	const tenant = `{"netready-tenants:tenants":{"tenant":[{"name":"l2t",%s}]}}`
	nets := func(body string) string {
		return fmt.Sprintf(tenant, `"netready-l2network:l2-networks":{"l2-network":[`+body+`]}`)
	}
	for _, step := range []struct{ what, doc string }{
		{"binding down", nets(`{"name":"n3","bindings":{"binding":[{"interface":"i31","admin-state":"down"}]}}`)},
		{"network added", nets(`{"name":"new","bindings":{"binding":[{"interface":"i31"},{"interface":"i32"}]}}`)},
		{"port moved", fmt.Sprintf(tenant, `"ports":{"port":[{"name":"p32","host":"host-b"}]}`)},
		{"L3 binding down", `{"netready-tenants:tenants":{"tenant":[{"name":"blue","netready-l3vpn:vpns":{"vpn":[{"name":"blue","bindings":{"binding":[{"interface":"g1","admin-state":"down"}]}}]}}]}}`},
		{"provider segment", nets(`{"name":"n5","provider":{"network-type":"vxlan","segmentation-id":4000}}`)},
	} {
		r.commit(merge(t, r.root, step.doc))
		r.holdsL2(t, step.what)
	}
	sch := r.root.Schema()
	tenants := sch.Child("tenants")
	l2nets := tenants.Child("tenant").Child("l2-networks")
	txn := tree.Begin(r.root)
	txn.Delete(tree.Path{{Schema: tenants}, {Schema: tenants.Child("tenant"), Keys: []value.Value{"l2t"}},
		{Schema: l2nets}, {Schema: l2nets.Child("l2-network"), Keys: []value.Value{"new"}}})
	r.commit(txn.Root())
	r.holdsL2(t, "network deleted")
}

// holdsL2 checks that each forwarder backend holds the L2 segments a
// full computation gives for the committed tree.
func (r *rig) holdsL2(t *testing.T, what string) {
	t.Helper()
	want := l2.Compute(desired.L2(r.root))
	for _, b := range []string{vendorA, vendorB} {
		exp := map[string]map[string]l2.Segment{}
		for _, hv := range l2.ViewsOf(want, b) {
			if len(hv.Networks) == 0 {
				continue
			}
			exp[hv.Host] = map[string]l2.Segment{}
			for _, s := range hv.Networks {
				exp[hv.Host][s.ID] = s
			}
		}
		if got := r.net.l2State(b); !reflect.DeepEqual(got, exp) {
			t.Errorf("%s: %s holds L2\n%v\nwant\n%v", what, b, got, exp)
		}
	}
}

// TestL2StatusPerNetworkMatchesFull: the status an L2 Set writes only for
// the L2 networks it touched (and those attempted) leaves the tree as a
// full status write would, for a binding taken down and up, a network
// added, a binding added admin down, a provider segment set and a port
// moved.
func TestL2StatusPerNetworkMatchesFull(t *testing.T) {
	r := newRig(t, "any-to-any", l2Tenant(100))
	const tenant = `{"netready-tenants:tenants":{"tenant":[{"name":"l2t",%s}]}}`
	nets := func(body string) string {
		return fmt.Sprintf(tenant, `"netready-l2network:l2-networks":{"l2-network":[`+body+`]}`)
	}
	r.statusMatchesFull(t, []string{
		nets(`{"name":"n3","bindings":{"binding":[{"interface":"i31","admin-state":"down"}]}}`),
		nets(`{"name":"n3","bindings":{"binding":[{"interface":"i31","admin-state":"up"}]}}`),
		nets(`{"name":"new","bindings":{"binding":[{"interface":"i95"}]}}`),
		// A binding admin down from the start changes no segment: only
		// the change set says its network's status must be written.
		nets(`{"name":"n3","bindings":{"binding":[{"interface":"i99","admin-state":"down"}]}}`),
		nets(`{"name":"n5","provider":{"network-type":"vxlan","segmentation-id":4000}}`),
		fmt.Sprintf(tenant, `"ports":{"port":[{"name":"p32","host":"host-b"}]}`),
	}, func(i int, full map[string]string) {
		if st := full["/tenants/tenant[name=l2t]/l2-networks/l2-network[name=n3]/status/oper-status"]; st != "up" && st != "degraded" {
			t.Fatalf("step %d: a full write gives L2 network n3 oper-status %q, want it written (up or degraded)", i, st)
		}
	})
}
