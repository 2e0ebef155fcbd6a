package desired_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/desired"
	"github.com/netready/netready/southbound/l2"
	netreadyyang "github.com/netready/netready/yang"
)

// TestL2ChangesCoverTheL2Model edits a tree at random (the Index's
// edits, and L2 networks and their bindings coming and going) and checks
// after every edit that what L2Changes names is enough: nothing named,
// L2 reads the same model before and after; tenants named (and not the
// hosts), patching those tenants into the model before gives the model
// after (a tenant's networks all read again, or only those named). It
// also checks that L2 gives networks and bindings in key
// order, which the status writer relies on to search them.
func TestL2ChangesCoverTheL2Model(t *testing.T) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for seed := range uint64(20) {
		e := &editor{t: t, sch: sch, r: rand.New(rand.NewPCG(seed, 5))}
		root := e.merge(e.initial(), e.l2Network(0, 0))
		for step := range 200 {
			next, what := e.editL2(root)
			before, after := desired.L2(root), desired.L2(next)
			switch sc := desired.L2Changes(changeset.Compute(root, next).Walk); {
			case sc.Empty():
				counts["nothing"]++
				if !reflect.DeepEqual(before, after) {
					t.Fatalf("seed %d step %d (%s): L2Changes named nothing, but the L2 model changed:\nbefore %+v\nafter  %+v", seed, step, what, before, after)
				}
			case !sc.Hosts:
				counts[scopeKind(sc)]++
				if got := desired.L2Patch(before, next, sc.Tenants); !reflect.DeepEqual(got, after) {
					t.Fatalf("seed %d step %d (%s): patching tenants %v gives\n%+v\nwant\n%+v", seed, step, what, sc.Tenants, got, after)
				}
			default:
				counts["hosts"]++
			}
			inKeyOrder(t, after)
			root = next
		}
	}
	if counts["nothing"] == 0 || counts["tenants"] == 0 || counts["networks"] == 0 || counts["hosts"] == 0 {
		t.Fatalf("L2Changes gave %v: the edits do not exercise every case", counts)
	}
}

// editL2 makes one random edit: an L2 one a third of the time, else one
// of edit's.
func (e *editor) editL2(root *tree.Node) (*tree.Node, string) {
	tn, n := e.pick(2), e.pick(2)
	switch e.pick(9) {
	case 0:
		return e.merge(root, e.l2Network(tn, n)), "l2 network"
	case 1:
		p := append(tenantElems(tn), &gpb.PathElem{Name: "l2-networks"}, &gpb.PathElem{Name: "l2-network", Key: map[string]string{"name": fmt.Sprintf("n%d", n)}})
		return e.delete(root, p), "delete l2 network"
	case 2:
		return e.merge(root, tenantDoc(tn, fmt.Sprintf(`"netready-l2network:l2-networks": {"l2-network": [{"name": "n%d", "bindings": {"binding": [%s]}}]}`, n, e.l2Binding()))), "l2 binding"
	}
	return e.edit(root)
}

func (e *editor) l2Network(tn, n int) string {
	i := e.pick(5)
	return tenantDoc(tn, fmt.Sprintf(`"netready-l2network:l2-networks": {"l2-network": [{"name": "n%d", "bindings": {"binding": [%s, %s]}}]}`,
		n, e.l2BindingOf(i), e.l2BindingOf(i+1)))
}

func (e *editor) l2Binding() string { return e.l2BindingOf(e.pick(6)) }

func (e *editor) l2BindingOf(i int) string {
	return fmt.Sprintf(`{"interface": "i%d", "admin-state": %q}`, i, e.adminState())
}

func inKeyOrder(t *testing.T, m l2.Model) {
	t.Helper()
	if !slices.IsSortedFunc(m.Networks, func(a, b l2.Network) int {
		return cmp.Or(strings.Compare(a.Tenant, b.Tenant), strings.Compare(a.Name, b.Name))
	}) {
		t.Fatalf("L2 networks not in key order: %+v", m.Networks)
	}
	for _, n := range m.Networks {
		if !slices.IsSortedFunc(n.Bindings, func(a, b l2.Binding) int { return strings.Compare(a.Interface, b.Interface) }) {
			t.Fatalf("bindings of %s not in key order: %+v", n.ID(), n.Bindings)
		}
	}
}

// scopeKind is "networks" when L2Changes named networks only, "tenants"
// when it named a whole tenant.
func scopeKind(sc desired.L2Scope) string {
	for _, tl := range sc.Tenants {
		if tl.All {
			return "tenants"
		}
	}
	return "networks"
}
