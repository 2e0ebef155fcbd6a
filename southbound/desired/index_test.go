package desired_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/desired"
	"github.com/netready/netready/southbound/routing"
	netreadyyang "github.com/netready/netready/yang"
)

// TestIndexFollowsTheTree edits a configuration tree at random (bindings,
// ports, interfaces, VPNs, hosts, tenants) and checks after every edit
// that the Index's Model is Model(root), and that what Update reports is
// enough: routing.Incremental told only that gives what Compute gives.
func TestIndexFollowsTheTree(t *testing.T) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			e := &editor{t: t, sch: sch, r: rand.New(rand.NewPCG(seed, 3))}
			root := e.initial()
			ix, err := desired.NewIndex(root)
			if err != nil {
				t.Fatal(err)
			}
			m, _ := desired.Model(root)
			checkModel(t, "initial", ix.Model(), m)
			x := routing.Options{}.NewIncremental(ix.Model(), routing.Assignments{})
			_, asg := routing.Compute(m, routing.Assignments{})
			for step := range 150 {
				var what string
				root, what = e.edit(root)
				touched, err := ix.Update(root)
				if err != nil {
					t.Fatalf("step %d (%s): %v", step, what, err)
				}
				m, _ = desired.Model(root)
				checkModel(t, fmt.Sprintf("step %d (%s)", step, what), ix.Model(), m)
				want, nextAsg := routing.Compute(m, asg)
				got, _, _ := x.Apply(ix.Model(), touched)
				got.Warnings = x.Warnings()
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("step %d (%s): touched %+v is not enough: incremental result differs from Compute", step, what, touched)
				}
				asg = nextAsg
			}
		})
	}
}

func checkModel(t *testing.T, name string, got, want routing.Model) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: index model differs:\ngot  %+v\nwant %+v", name, got, want)
	}
}

// editor makes random edits to a configuration tree through transactions,
// as Sets do.
type editor struct {
	t   *testing.T
	sch *schema.Schema
	r   *rand.Rand
}

func (e *editor) pick(n int) int { return e.r.IntN(n) }

func (e *editor) initial() *tree.Node {
	root := tree.NewRoot(e.sch)
	for h := range 3 {
		root = e.merge(root, e.host(h))
	}
	for tn := range 2 {
		root = e.merge(root, e.tenant(tn))
	}
	return root
}

func (e *editor) host(h int) string {
	return fmt.Sprintf(`{"netready-infrastructure:hosts": {"host": [{"name": "h%d", "backend": "b%d", "address": "192.0.2.%d"}]}}`, h, h%2, 1+e.pick(9))
}

func tenantDoc(tn int, body string) string {
	return fmt.Sprintf(`{"netready-tenants:tenants": {"tenant": [{"name": "t%d", %s}]}}`, tn, body)
}

func (e *editor) tenant(tn int) string {
	var ports, ifaces, vpns []string
	for i := range 6 {
		ports = append(ports, e.port(i))
		ifaces = append(ifaces, e.iface(i))
	}
	for v := range 3 {
		vpns = append(vpns, e.vpn(v))
	}
	return tenantDoc(tn, fmt.Sprintf(`"ports": {"port": [%s]}, "interfaces": {"interface": [%s]}, "netready-l3vpn:vpns": {"vpn": [%s]}`,
		strings.Join(ports, ","), strings.Join(ifaces, ","), strings.Join(vpns, ",")))
}

func (e *editor) adminState() string { return []string{"up", "up", "down"}[e.pick(3)] }

func (e *editor) port(i int) string {
	return fmt.Sprintf(`{"name": "p%d", "host": "h%d", "admin-state": %q}`, i, e.pick(4), e.adminState())
}

func (e *editor) iface(i int) string {
	return fmt.Sprintf(`{"name": "i%d", "type": "untagged", "port": "p%d", "admin-state": %q}`, i, e.pick(6), e.adminState())
}

func (e *editor) vpn(v int) string {
	head := fmt.Sprintf(`"name": "v%d", "route-target": [{"value": "64512:%d"}]`, v, 1+e.pick(3))
	if e.pick(3) == 0 {
		head = fmt.Sprintf(`"name": "v%d", "vrf-policy": "hub-and-spoke", "hub-and-spoke": {"hub-route-target": "64512:7", "spoke-route-target": "64512:8"}`, v)
	}
	var bs []string
	for i := range 6 {
		if e.pick(2) == 0 {
			bs = append(bs, e.binding(i))
		}
	}
	return fmt.Sprintf(`{%s, "bindings": {"binding": [%s]}}`, head, strings.Join(bs, ","))
}

func (e *editor) binding(i int) string {
	return fmt.Sprintf(`{"interface": "i%d", "ip-address": ["10.0.0.%d"], "admin-state": %q, "role": %q}`,
		i, 1+e.pick(5), e.adminState(), []string{"hub", "spoke"}[e.pick(2)])
}

func vpnDoc(tn, v int, body string) string {
	return tenantDoc(tn, fmt.Sprintf(`"netready-l3vpn:vpns": {"vpn": [{"name": "v%d"%s}]}`, v, body))
}

// edit makes one random edit and says what it was.
func (e *editor) edit(root *tree.Node) (*tree.Node, string) {
	tn, v, i := e.pick(2), e.pick(4), e.pick(6)
	switch n := e.pick(16); n {
	case 0:
		return e.merge(root, e.host(e.pick(4))), "host"
	case 1:
		return e.delete(root, tenantElems(tn)), "delete tenant"
	case 2:
		return e.merge(root, e.tenant(tn)), "tenant"
	case 3:
		return e.delete(root, append(tenantElems(tn), vpnElems(v)...)), "delete vpn"
	case 4:
		return e.merge(root, tenantDoc(tn, fmt.Sprintf(`"netready-l3vpn:vpns": {"vpn": [%s]}`, e.vpn(v)))), "vpn"
	case 5:
		return e.merge(root, vpnDoc(tn, v, `, "description": "x"`)), "vpn description"
	case 6:
		return e.merge(root, tenantDoc(tn, fmt.Sprintf(`"ports": {"port": [%s]}`, e.port(i)))), "port"
	case 7:
		return e.merge(root, tenantDoc(tn, fmt.Sprintf(`"interfaces": {"interface": [%s]}`, e.iface(i)))), "interface"
	case 8:
		p := append(tenantElems(tn), &gpb.PathElem{Name: "ports"}, &gpb.PathElem{Name: "port", Key: map[string]string{"name": fmt.Sprintf("p%d", i)}})
		return e.delete(root, p), "delete port"
	case 9:
		p := append(append(tenantElems(tn), vpnElems(v)...), &gpb.PathElem{Name: "bindings"},
			&gpb.PathElem{Name: "binding", Key: map[string]string{"interface": fmt.Sprintf("i%d", i)}})
		return e.delete(root, p), "delete binding"
	default:
		return e.merge(root, vpnDoc(tn, v, fmt.Sprintf(`, "bindings": {"binding": [%s]}`, e.binding(i)))), "binding"
	}
}

func tenantElems(tn int) []*gpb.PathElem {
	return []*gpb.PathElem{{Name: "tenants"}, {Name: "tenant", Key: map[string]string{"name": fmt.Sprintf("t%d", tn)}}}
}

func vpnElems(v int) []*gpb.PathElem {
	return []*gpb.PathElem{{Name: "vpns"}, {Name: "vpn", Key: map[string]string{"name": fmt.Sprintf("v%d", v)}}}
}

func (e *editor) merge(root *tree.Node, doc string) *tree.Node {
	e.t.Helper()
	p, err := tree.DecodeRootJSON(e.sch.Root, []byte(doc), true)
	if err != nil {
		e.t.Fatalf("%s: %v", doc, err)
	}
	txn := tree.Begin(root)
	if err := txn.Merge(nil, p); err != nil {
		e.t.Fatal(err)
	}
	return txn.Root()
}

func (e *editor) delete(root *tree.Node, elems []*gpb.PathElem) *tree.Node {
	e.t.Helper()
	p, err := tree.Resolve(e.sch.Root, elems)
	if err != nil {
		e.t.Fatal(err)
	}
	txn := tree.Begin(root)
	txn.Delete(p)
	return txn.Root()
}
