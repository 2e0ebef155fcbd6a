package rules_test

import (
	"errors"
	"fmt"
	"github.com/netready/netready/server/changeset"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/openconfig/ygot/ygot"

	"github.com/netready/netready/server/rules"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/server/validate"
	"github.com/netready/netready/yang"
)

var (
	schOnce sync.Once
	nrSch   *schema.Schema
	schErr  error
)

func nrsch(tb testing.TB) *schema.Schema {
	tb.Helper()
	schOnce.Do(func() { nrSch, schErr = schema.LoadFS(yang.Files) })
	if schErr != nil {
		tb.Fatal(schErr)
	}
	return nrSch
}

func scenarios(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "scenarios", "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) < 5 {
		tb.Fatalf("found %d scenario files, want at least 5", len(files))
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// loadScenario builds the tree of a scenario file without validating it.
func loadScenario(tb testing.TB, name string) *tree.Node {
	tb.Helper()
	s := nrsch(tb)
	payload, err := tree.DecodeRootJSON(s.Root, scenarios(tb)[name], true)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	txn := tree.Begin(tree.NewRoot(s))
	if err := txn.Replace(nil, payload); err != nil {
		tb.Fatal(err)
	}
	return txn.Root()
}

type op struct{ kind, path, payload string }

func edit(tb testing.TB, root *tree.Node, ops ...op) *tree.Node {
	tb.Helper()
	s := nrsch(tb)
	txn := tree.Begin(root)
	for _, o := range ops {
		gp, err := ygot.StringToStructuredPath(o.path)
		if err != nil {
			tb.Fatal(err)
		}
		p, err := tree.Resolve(s.Root, gp.GetElem())
		if err != nil {
			tb.Fatalf("resolve %s: %v", o.path, err)
		}
		if o.kind == "delete" {
			txn.Delete(p)
			continue
		}
		payload, err := tree.DecodeJSON(p, []byte(o.payload), true)
		if err != nil {
			tb.Fatalf("decode %s %s: %v", o.path, o.payload, err)
		}
		if o.kind == "replace" {
			err = txn.Replace(p, payload)
		} else {
			err = txn.Merge(p, payload)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	return txn.Root()
}

func validator(tb testing.TB, committed *tree.Node) *validate.Validator {
	tb.Helper()
	v, err := validate.New(nrsch(tb), rules.All())
	if err != nil {
		tb.Fatal(err)
	}
	v.Reset(committed)
	return v
}

type rcase struct {
	name string
	ops  []op
	path string // "" when the change is valid
	msg  string
}

// run checks each case as one transaction on the scenario's tree.
func run(t *testing.T, scenario string, cases []rcase) {
	runOn(t, loadScenario(t, scenario), cases)
}

// runOn checks each case as one transaction on base.
func runOn(t *testing.T, base *tree.Node, cases []rcase) {
	v := validator(t, base)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Check(changeset.Compute(base, edit(t, base, tc.ops...)), nil)
			if tc.path == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var te *tree.Error
			if !errors.As(err, &te) {
				t.Fatalf("got %v, want a *tree.Error at %s", err, tc.path)
			}
			if te.Kind != tree.KindConflict || te.Path != tc.path || !strings.Contains(te.Msg, tc.msg) {
				t.Fatalf("got %s %q %q\nwant FailedPrecondition %q containing %q", te.Kind, te.Path, te.Msg, tc.path, tc.msg)
			}
		})
	}
}

const acme = "/tenants/tenant[name=acme]"

func ifc(name string) string { return acme + "/interfaces/interface[name=" + name + "]" }

func TestInterfaceSegmentation(t *testing.T) {
	run(t, "service-binding.json", []rcase{
		{"vlan 4094", []op{{"merge", ifc("vnf-vlan100") + "/segmentation-id", `4094`}}, "", ""},
		{"vlan 1", []op{{"merge", ifc("vnf-vlan100") + "/segmentation-id", `1`}}, "", ""},
		{"vlan 4095 refused", []op{{"merge", ifc("vnf-vlan100") + "/segmentation-id", `4095`}},
			ifc("vnf-vlan100") + "/segmentation-id", "4095 is out of range 1..4094 for vlan"},
		{"vlan 0 refused", []op{{"merge", ifc("vnf-vlan200") + "/segmentation-id", `0`}},
			ifc("vnf-vlan200") + "/segmentation-id", "0 is out of range 1..4094 for vlan"},
		{"vxlan 16777215", []op{{"merge", ifc("vnf-vxlan5001") + "/segmentation-id", `16777215`}}, "", ""},
		{"vxlan 16777216 refused", []op{{"merge", ifc("vnf-vxlan5001") + "/segmentation-id", `16777216`}},
			ifc("vnf-vxlan5001") + "/segmentation-id", "16777216 is out of range 1..16777215 for vxlan"},
		{"vxlan 0 refused", []op{{"merge", ifc("vnf-vxlan5001") + "/segmentation-id", `0`}},
			ifc("vnf-vxlan5001") + "/segmentation-id", "0 is out of range 1..16777215 for vxlan"},
		{"mpls 16", []op{{"merge", ifc("m"), `{"type":"mpls","parent":"vnf-trunk","segmentation-id":16}`}}, "", ""},
		{"mpls 1048575", []op{{"merge", ifc("m"), `{"type":"mpls","parent":"vnf-trunk","segmentation-id":1048575}`}}, "", ""},
		{"mpls 15 refused", []op{{"merge", ifc("m"), `{"type":"mpls","parent":"vnf-trunk","segmentation-id":15}`}},
			ifc("m") + "/segmentation-id", "15 is out of range 16..1048575 for mpls"},
		{"mpls 1048576 refused", []op{{"merge", ifc("m"), `{"type":"mpls","parent":"vnf-trunk","segmentation-id":1048576}`}},
			ifc("m") + "/segmentation-id", "1048576 is out of range 16..1048575 for mpls"},
		{"untagged with an id refused", []op{{"merge", ifc("u"), `{"type":"untagged","port":"spare","segmentation-id":7}`}},
			ifc("u") + "/segmentation-id", "untagged takes no segmentation id"},
		{"untagged without an id", []op{{"merge", ifc("u"), `{"type":"untagged","port":"spare"}`}}, "", ""},
		{"trunk with an id refused", []op{{"merge", ifc("vnf-trunk") + "/segmentation-id", `5`}},
			ifc("vnf-trunk") + "/segmentation-id", "trunk takes no segmentation id"},
		{"vlan without an id refused", []op{{"merge", ifc("v"), `{"type":"vlan","parent":"vnf-trunk"}`}},
			ifc("v") + "/segmentation-id", "vlan needs a segmentation id (1..4094)"},
		{"vxlan without an id refused", []op{{"merge", ifc("v"), `{"type":"vxlan","parent":"vnf-trunk"}`}},
			ifc("v") + "/segmentation-id", "vxlan needs a segmentation id (1..16777215)"},
		{"deleting the id of a vlan refused", []op{{"delete", ifc("vnf-vlan200") + "/segmentation-id", ""}},
			ifc("vnf-vlan200") + "/segmentation-id", "vlan needs a segmentation id"},
		{"vlan turned untagged keeping its id refused", []op{{"merge", ifc("vnf-vlan200") + "/type", `"untagged"`}},
			ifc("vnf-vlan200") + "/segmentation-id", "untagged takes no segmentation id"},
		{"vlan turned vxlan keeps a valid id", []op{{"merge", ifc("vnf-vlan200") + "/type", `"vxlan"`}}, "", ""},
		{"vlan turned mpls with a too small id refused", []op{{"merge", ifc("vnf-vlan200"), `{"type":"mpls","segmentation-id":15}`}},
			ifc("vnf-vlan200") + "/segmentation-id", "15 is out of range 16..1048575 for mpls"},
	})
}

func TestInterfaceHierarchy(t *testing.T) {
	run(t, "service-binding.json", []rcase{
		{"parent of a parent", []op{{"merge", ifc("q"), `{"type":"vlan","parent":"vnf-vlan100","segmentation-id":5}`}}, "", ""},
		{"two-interface cycle refused", []op{{"merge", ifc("vnf-trunk") + "/parent", `"vnf-vlan100"`}},
			ifc("vnf-trunk") + "/parent", "parent interfaces form a cycle through vnf-trunk"},
		{"own parent refused", []op{{"merge", ifc("x"), `{"type":"trunk","parent":"x"}`}},
			ifc("x") + "/parent", "parent interfaces form a cycle through x"},
		{"three-interface cycle created at once refused", []op{
			{"merge", ifc("a"), `{"type":"trunk","parent":"b"}`},
			{"merge", ifc("b"), `{"type":"trunk","parent":"c"}`},
			{"merge", ifc("c"), `{"type":"trunk","parent":"a"}`}},
			ifc("a") + "/parent", "parent interfaces form a cycle through a"},
		{"joining an existing cycle-free chain", []op{
			{"merge", ifc("a"), `{"type":"trunk","port":"spare"}`},
			{"merge", ifc("b"), `{"type":"trunk","parent":"a"}`},
			{"merge", ifc("c"), `{"type":"vlan","parent":"b","segmentation-id":9}`}}, "", ""},
		{"missing parent is the leafref's to report", []op{{"merge", ifc("x"), `{"type":"trunk","parent":"ghost"}`}},
			ifc("x") + "/parent", "ghost does not exist"},
		{"switching the attachment from parent to port", []op{{"merge", ifc("vnf-vlan100") + "/port", `"spare"`}}, "", ""},
	})
}

const blueVPN = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]"

func binding(vpn, ifc string) string { return vpn + "/bindings/binding[interface=" + ifc + "]" }

func TestVPNPolicy(t *testing.T) {
	run(t, "hub-and-spoke.json", []rcase{
		{"hub-and-spoke needs the spoke route target", []op{{"delete", blueVPN + "/hub-and-spoke/spoke-route-target", ""}},
			blueVPN + "/hub-and-spoke/spoke-route-target", "a hub-and-spoke VPN needs spoke-route-target"},
		{"hub-and-spoke needs the hub route target", []op{{"delete", blueVPN + "/hub-and-spoke/hub-route-target", ""}},
			blueVPN + "/hub-and-spoke/hub-route-target", "a hub-and-spoke VPN needs hub-route-target"},
		{"hub-and-spoke needs both route targets", []op{{"delete", blueVPN + "/hub-and-spoke", ""}},
			blueVPN + "/hub-and-spoke/hub-route-target", "needs hub-route-target"},
		{"every binding needs a role", []op{{"delete", binding(blueVPN, "vnf1") + "/role", ""}},
			binding(blueVPN, "vnf1") + "/role", "a binding of a hub-and-spoke VPN needs a role (hub or spoke)"},
		{"a new binding needs a role", []op{
			{"merge", "/tenants/tenant[name=blue]/interfaces/interface[name=n]", `{"type":"untagged","port":"vnf1-nic0"}`},
			{"merge", binding(blueVPN, "n"), `{"ip-address":["10.1.1.99"]}`}},
			binding(blueVPN, "n") + "/role", "needs a role"},
		{"a new binding with a role", []op{
			{"merge", "/tenants/tenant[name=blue]/interfaces/interface[name=n]", `{"type":"untagged","port":"vnf1-nic0"}`},
			{"merge", binding(blueVPN, "n"), `{"role":"spoke","ip-address":["10.1.1.99"]}`}}, "", ""},
		{"any-to-any refuses roles", []op{{"merge", blueVPN + "/vrf-policy", `"any-to-any"`}},
			binding(blueVPN, "vfw") + "/role", "roles are only for hub-and-spoke VPNs"},
		{"any-to-any after removing every role", []op{
			{"merge", blueVPN + "/vrf-policy", `"any-to-any"`},
			{"delete", binding(blueVPN, "vfw") + "/role", ""},
			{"delete", binding(blueVPN, "vnf1") + "/role", ""},
			{"delete", binding(blueVPN, "vnf2") + "/role", ""},
			{"delete", binding(blueVPN, "vnf3") + "/role", ""}}, "", ""},
		{"default policy is any-to-any", []op{{"delete", blueVPN + "/vrf-policy", ""}},
			binding(blueVPN, "vfw") + "/role", "roles are only for hub-and-spoke VPNs"},
	})
	const data = acme + "/vpns/vpn[name=data]"
	run(t, "service-binding.json", []rcase{
		{"role on an any-to-any binding refused", []op{{"merge", binding(data, "vnf-vlan200") + "/role", `"hub"`}},
			binding(data, "vnf-vlan200") + "/role", "roles are only for hub-and-spoke VPNs"},
		{"switching to hub-and-spoke without route targets refused", []op{{"merge", data + "/vrf-policy", `"hub-and-spoke"`}},
			data + "/hub-and-spoke/hub-route-target", "needs hub-route-target"},
		{"switching to hub-and-spoke without roles refused", []op{
			{"merge", data, `{"vrf-policy":"hub-and-spoke","hub-and-spoke":{"hub-route-target":"64512:1","spoke-route-target":"64512:2"}}`},
			{"delete", data + "/route-target[value=64512:300]", ""}},
			binding(data, "vnf-vlan200") + "/role", "needs a role"},
		{"switching to hub-and-spoke keeping the route-target entries refused", []op{
			{"merge", "/route-targets", `{"route-target":[{"value":"64512:1","owner":"acme"},{"value":"64512:2","owner":"acme"}]}`},
			{"merge", data, `{"vrf-policy":"hub-and-spoke","hub-and-spoke":{"hub-route-target":"64512:1","spoke-route-target":"64512:2"}}`},
			{"merge", binding(data, "vnf-vlan200") + "/role", `"hub"`}},
			data + "/route-target[value=64512:300]", "remove its route-target entries"},
		{"switching to hub-and-spoke with everything", []op{
			{"merge", "/route-targets", `{"route-target":[{"value":"64512:1","owner":"acme"},{"value":"64512:2","owner":"acme"}]}`},
			{"merge", data, `{"vrf-policy":"hub-and-spoke","hub-and-spoke":{"hub-route-target":"64512:1","spoke-route-target":"64512:2"}}`},
			{"delete", data + "/route-target[value=64512:300]", ""},
			{"merge", binding(data, "vnf-vlan200") + "/role", `"hub"`}}, "", ""},
	})
	run(t, "hub-and-spoke.json", []rcase{
		{"a route-target entry on a hub-and-spoke VPN refused", []op{
			{"merge", "/route-targets", `{"route-target":[{"value":"64512:9","owner":"blue"}]}`},
			{"merge", blueVPN + "/route-target[value=64512:9]", `{"direction":"import"}`}},
			blueVPN + "/route-target[value=64512:9]", "a hub-and-spoke VPN takes its route targets from hub-and-spoke"},
	})
}

func TestVPNAddresses(t *testing.T) {
	const data = acme + "/vpns/vpn[name=data]"
	run(t, "service-binding.json", []rcase{
		{"address in a subnet", []op{{"merge", binding(data, "vnf-vxlan5001"), `{"ip-address":["10.20.0.6"]}`}}, "", ""},
		{"duplicate address refused", []op{{"merge", binding(data, "vnf-vxlan5001"), `{"ip-address":["10.20.0.5"]}`}},
			binding(data, "vnf-vxlan5001") + "/ip-address", "10.20.0.5 is already used by binding vnf-vlan200; enable anycast on the VPN to share it"},
		{"duplicate address with anycast enabled", []op{
			{"merge", binding(data, "vnf-vxlan5001"), `{"ip-address":["10.20.0.5"]}`},
			{"merge", data + "/anycast/enabled", `true`}}, "", ""},
		{"duplicate IPv6 address in another spelling refused", []op{
			{"merge", data + "/subnet[prefix=2001:db8::/64]", `{}`},
			{"merge", binding(data, "vnf-vlan200") + "/ip-address", `["10.20.0.5","2001:db8::1"]`},
			{"merge", binding(data, "vnf-vxlan5001"), `{"ip-address":["2001:db8:0:0::1"]}`}},
			binding(data, "vnf-vxlan5001") + "/ip-address", "2001:db8::1 is already used by binding vnf-vlan200"},
		{"address outside the subnets refused", []op{{"merge", binding(data, "vnf-vlan200") + "/ip-address", `["10.99.0.1"]`}},
			binding(data, "vnf-vlan200") + "/ip-address", "10.99.0.1 is in none of the VPN's subnets"},
		{"second address outside the subnets refused", []op{{"merge", binding(data, "vnf-vlan200") + "/ip-address", `["10.20.0.5","10.20.1.5"]`}},
			binding(data, "vnf-vlan200") + "/ip-address", "10.20.1.5 is in none of the VPN's subnets"},
		{"removing the subnet of an address refused", []op{
			{"merge", data + "/subnet[prefix=10.30.0.0/24]", `{}`},
			{"delete", data + "/subnet[prefix=10.20.0.0/24]", ""}},
			binding(data, "vnf-vlan200") + "/ip-address", "10.20.0.5 is in none of the VPN's subnets"},
		{"moving to another subnet", []op{
			{"merge", data + "/subnet[prefix=10.30.0.0/24]", `{}`},
			{"delete", data + "/subnet[prefix=10.20.0.0/24]", ""},
			{"merge", binding(data, "vnf-vlan200") + "/ip-address", `["10.30.0.5"]`}}, "", ""},
		{"a VPN without subnets takes any address", []op{
			{"merge", acme + "/vpns/vpn[name=open]", `{"bindings":{"binding":[{"interface":"vnf-vxlan5001","ip-address":["192.0.2.55"]}]}}`}}, "", ""},
		{"an IPv4-mapped spelling of a used address refused", []op{
			{"merge", acme + "/vpns/vpn[name=open]", `{"bindings":{"binding":[{"interface":"vnf-vxlan5001","ip-address":["192.0.2.55"]},{"interface":"vnf-trunk","ip-address":["::ffff:192.0.2.55"]}]}}`}},
			binding(acme+"/vpns/vpn[name=open]", "vnf-vxlan5001") + "/ip-address", "192.0.2.55 is already used by binding vnf-trunk"},
		{"one binding with two spellings of its address", []op{
			{"merge", acme + "/vpns/vpn[name=open]", `{"bindings":{"binding":[{"interface":"vnf-vxlan5001","ip-address":["192.0.2.55","::ffff:192.0.2.55"]}]}}`}}, "", ""},
		{"the same address in two VPNs", []op{
			{"merge", acme + "/vpns/vpn[name=other]", `{"subnet":[{"prefix":"10.20.0.0/24"}],"bindings":{"binding":[{"interface":"vnf-vxlan5001","ip-address":["10.20.0.5"]}]}}`}}, "", ""},
	})
	run(t, "ecmp.json", []rcase{
		{"disabling anycast with shared addresses refused", []op{{"merge", blueVPN + "/anycast/enabled", `false`}},
			binding(blueVPN, "vnf1-2") + "/ip-address", "10.1.1.5 is already used by binding vnf1-1"},
		{"fail-over mode", []op{{"merge", blueVPN + "/anycast/mode", `"fail-over"`}}, "", ""},
	})
}

// TestVPNStaticRoutes: two static routes for one prefix, or one next hop
// twice in a route, in different spellings, are refused: the route
// computation could only use one of them.
func TestVPNStaticRoutes(t *testing.T) {
	const data = acme + "/vpns/vpn[name=data]"
	route := func(p string) string { return data + "/static-routes/route[prefix=" + p + "]" }
	run(t, "service-binding.json", []rcase{
		{"two IPv6 routes", []op{
			{"merge", route("2001:db8::/32"), `{"next-hop":[{"address":"10.20.0.5"}]}`},
			{"merge", route("2001:db9::/32"), `{"next-hop":[{"address":"10.20.0.5"}]}`}}, "", ""},
		{"one IPv6 prefix in two spellings refused", []op{
			{"merge", route("2001:db8::/32"), `{"next-hop":[{"address":"10.20.0.5"}]}`},
			{"merge", route("2001:DB8::/32"), `{"next-hop":[{"address":"10.20.0.5"}]}`}},
			route("2001:db8::/32") + "/prefix", "2001:db8::/32 is the prefix of static route 2001:DB8::/32 too"},
		{"one next hop in two spellings refused", []op{
			{"merge", route("0.0.0.0/0"), `{"next-hop":[{"address":"10.20.0.5"},{"address":"::ffff:10.20.0.5"}]}`}},
			route("0.0.0.0/0") + "/next-hop[address=::ffff:10.20.0.5]/address", "::ffff:10.20.0.5 is next hop 10.20.0.5 of the route too"},
		{"two next hops", []op{
			{"merge", route("0.0.0.0/0"), `{"next-hop":[{"address":"10.20.0.5"},{"address":"10.20.0.6"}]}`}}, "", ""},
	})
}

// TestSubnetsOnce: one subnet is listed once, however it is written.
func TestSubnetsOnce(t *testing.T) {
	subnet := func(p string) string { return acme + "/vpns/vpn[name=data]/subnet[prefix=" + p + "]" }
	run(t, "service-binding.json", []rcase{
		{"two IPv6 subnets", []op{{"merge", subnet("2001:db8::/64"), `{}`}, {"merge", subnet("2001:db8:1::/64"), `{}`}}, "", ""},
		{"one IPv6 subnet in two spellings refused", []op{{"merge", subnet("2001:db8::/64"), `{}`}, {"merge", subnet("2001:DB8:0::/64"), `{}`}},
			subnet("2001:db8::/64") + "/prefix", "2001:db8::/64 is subnet 2001:DB8:0::/64 too, written another way"},
		{"host bits still refused", []op{{"merge", subnet("10.9.9.9/24"), `{}`}}, subnet("10.9.9.9/24") + "/prefix", "has host bits set"},
	})
}

// TestHostAddressesUnique: two hosts never share an underlay address.
func TestHostAddressesUnique(t *testing.T) {
	const a, b = "/hosts/host[name=host-a]", "/hosts/host[name=host-b]"
	run(t, "service-binding.json", []rcase{
		{"another address", []op{{"merge", b + "/address", `"192.0.2.12"`}}, "", ""},
		{"one address twice refused", []op{{"merge", b + "/address", `"::ffff:192.0.2.1"`}},
			b + "/address", "::ffff:192.0.2.1 is the underlay address of host host-a too"},
		{"addresses swapped in one Set", []op{
			{"merge", a + "/address", `"192.0.2.2"`},
			{"merge", b + "/address", `"192.0.2.1"`}}, "", ""},
	})
}

// TestBGPNeighborsOnce: one peer is configured once, however its
// address is written.
func TestBGPNeighborsOnce(t *testing.T) {
	nb := func(a string) string { return "/bgp/neighbors/neighbor[address=" + a + "]" }
	bgp := op{"merge", "/bgp", `{"local-as":64512,"router-id":"192.0.2.254"}`}
	run(t, "service-binding.json", []rcase{
		{"two peers", []op{bgp,
			{"merge", nb("2001:db8::2"), `{"peer-as":64513}`},
			{"merge", nb("2001:db8::3"), `{"peer-as":64513}`}}, "", ""},
		{"one IPv6 peer in two spellings refused", []op{bgp,
			{"merge", nb("2001:db8::2"), `{"peer-as":64513}`},
			{"merge", nb("2001:DB8::2"), `{"peer-as":64513}`}},
			"/bgp/neighbors/neighbor[address=2001:db8::2]/address", "2001:db8::2 is neighbor 2001:DB8::2 too, written another way"},
		{"one IPv4 peer, once IPv4-mapped, refused", []op{bgp,
			{"merge", nb("192.0.2.1"), `{"peer-as":64513}`},
			{"merge", nb("::ffff:192.0.2.1"), `{"peer-as":64513}`}},
			"/bgp/neighbors/neighbor[address=::ffff:192.0.2.1]/address", "::ffff:192.0.2.1 is neighbor 192.0.2.1 too"},
	})
}

// TestRouteDistinguisherOwner: an RD is configured on one VPN only,
// across tenants; the refusal names the VPN the transaction adds it to,
// and the VPN holding it only when it is the same tenant's.
func TestRouteDistinguisherOwner(t *testing.T) {
	const data = acme + "/vpns/vpn[name=data]"
	base := edit(t, loadScenario(t, "service-binding.json"), op{"merge", data + "/route-distinguisher", `["64512:7"]`})
	runOn(t, base, []rcase{
		{"another RD on another VPN", []op{{"merge", acme + "/vpns/vpn[name=other]/route-distinguisher", `["64512:8"]`}}, "", ""},
		{"the same RD on another VPN refused", []op{{"merge", acme + "/vpns/vpn[name=other]/route-distinguisher", `["64512:8","64512:7"]`}},
			acme + "/vpns/vpn[name=other]/route-distinguisher", "route distinguisher 64512:7 is already configured on VPN data;"},
		{"the same RD on another tenant's VPN refused", []op{
			{"merge", "/tenants/tenant[name=zeta]/vpns/vpn[name=data]/route-distinguisher", `["64512:7"]`}},
			"/tenants/tenant[name=zeta]/vpns/vpn[name=data]/route-distinguisher", "already configured on a VPN of another tenant;"},
		{"moving an RD from one VPN to another", []op{
			{"delete", data + "/route-distinguisher", ""},
			{"merge", acme + "/vpns/vpn[name=other]/route-distinguisher", `["64512:7"]`}}, "", ""},
		{"two new VPNs with one RD refused", []op{
			{"merge", acme + "/vpns/vpn[name=a]/route-distinguisher", `["64512:9"]`},
			{"merge", acme + "/vpns/vpn[name=b]/route-distinguisher", `["64512:9"]`}},
			acme + "/vpns/vpn[name=b]/route-distinguisher", "route distinguisher 64512:9 is already configured on VPN a;"},
	})
}

func TestOneForwardingService(t *testing.T) {
	const data, mgmt = acme + "/vpns/vpn[name=data]", acme + "/l2-networks/l2-network[name=mgmt]"
	run(t, "service-binding.json", []rcase{
		{"an interface in a second VPN refused", []op{
			{"merge", acme + "/vpns/vpn[name=other]", `{"bindings":{"binding":[{"interface":"vnf-vlan200","ip-address":["10.20.0.5"]}]}}`}},
			binding(acme+"/vpns/vpn[name=other]", "vnf-vlan200") + "/interface", "interface vnf-vlan200 is already bound to VPN data"},
		{"an L3VPN's interface in an L2 network refused", []op{
			{"merge", mgmt + "/bindings/binding[interface=vnf-vlan200]", `{}`}},
			mgmt + "/bindings/binding[interface=vnf-vlan200]/interface", "interface vnf-vlan200 is already bound to VPN data; an interface carries one forwarding service"},
		{"an L2 network's interface in a VPN refused", []op{
			{"merge", binding(data, "vnf-vlan100"), `{"ip-address":["10.20.0.9"]}`}},
			binding(data, "vnf-vlan100") + "/interface", "interface vnf-vlan100 is already bound to L2 network mgmt"},
		{"moving a binding between VPNs in one Set", []op{
			{"delete", binding(data, "vnf-vlan200"), ""},
			{"merge", acme + "/vpns/vpn[name=other]", `{"bindings":{"binding":[{"interface":"vnf-vlan200","ip-address":["10.20.0.5"]}]}}`}}, "", ""},
		{"another sub-interface of the same port", []op{
			{"merge", acme + "/vpns/vpn[name=other]", `{"bindings":{"binding":[{"interface":"vnf-vxlan5001","ip-address":["10.20.0.6"]}]}}`}}, "", ""},
	})
}

func TestProviderSegmentation(t *testing.T) {
	const mgmt = acme + "/l2-networks/l2-network[name=mgmt]"
	run(t, "service-binding.json", []rcase{
		{"vlan 4094", []op{{"merge", mgmt + "/provider/segmentation-id", `4094`}}, "", ""},
		{"vlan 4095 refused", []op{{"merge", mgmt + "/provider/segmentation-id", `4095`}},
			mgmt + "/provider/segmentation-id", "4095 is out of range 1..4094 for vlan"},
		{"vxlan 16777215", []op{{"merge", mgmt + "/provider", `{"network-type":"vxlan","segmentation-id":16777215}`}}, "", ""},
		{"vxlan 16777216 refused", []op{{"merge", mgmt + "/provider", `{"network-type":"vxlan","segmentation-id":16777216}`}},
			mgmt + "/provider/segmentation-id", "16777216 is out of range 1..16777215 for vxlan"},
		{"flat with an id refused", []op{{"merge", mgmt + "/provider/network-type", `"flat"`}},
			mgmt + "/provider/segmentation-id", "flat takes no segmentation id"},
		{"flat without an id", []op{{"replace", mgmt + "/provider", `{"physical-network":"physnet1","network-type":"flat"}`}}, "", ""},
		{"vlan without an id refused", []op{{"delete", mgmt + "/provider/segmentation-id", ""}},
			mgmt + "/provider/segmentation-id", "vlan needs a segmentation id (1..4094)"},
		{"an id without a network-type refused", []op{{"delete", mgmt + "/provider/network-type", ""}},
			mgmt + "/provider/segmentation-id", "a segmentation id needs a network-type"},
		{"no provider attributes", []op{{"delete", mgmt + "/provider", ""}}, "", ""},
		{"new network with a bad id refused", []op{{"merge", acme + "/l2-networks/l2-network[name=n2]", `{"provider":{"network-type":"vlan","segmentation-id":5000}}`}},
			acme + "/l2-networks/l2-network[name=n2]/provider/segmentation-id", "5000 is out of range 1..4094 for vlan"},
	})
}

func TestConnectionEndpoints(t *testing.T) {
	const c = "/connections/connection[name=dc-b-to-dc-d]"
	run(t, "georedundancy.json", []rcase{
		{"same site at both ends refused", []op{{"merge", c + "/remote/site", `"dc-b"`}},
			c + "/remote/site", "local and remote endpoints are both in site dc-b"},
		{"ends swapped", []op{{"merge", c, `{"local":{"site":"dc-d"},"remote":{"site":"dc-b"}}`}}, "", ""},
		{"isolation none with an id refused", []op{{"merge", c + "/isolation", `"none"`}},
			c + "/segmentation-id", "none takes no segmentation id"},
		{"default isolation with an id refused", []op{{"delete", c + "/isolation", ""}},
			c + "/segmentation-id", "none takes no segmentation id"},
		{"isolation none without an id", []op{{"delete", c + "/isolation", ""}, {"delete", c + "/segmentation-id", ""}}, "", ""},
		{"vlan 9001 refused", []op{{"merge", c + "/isolation", `"vlan"`}},
			c + "/segmentation-id", "9001 is out of range 1..4094 for vlan"},
		{"mpls 15 refused", []op{{"merge", c, `{"isolation":"mpls","segmentation-id":15}`}},
			c + "/segmentation-id", "15 is out of range 16..1048575 for mpls"},
		{"mpls 16", []op{{"merge", c, `{"isolation":"mpls","segmentation-id":16}`}}, "", ""},
		{"vxlan without an id refused", []op{{"delete", c + "/segmentation-id", ""}},
			c + "/segmentation-id", "vxlan needs a segmentation id"},
		{"new connection inside one site refused", []op{{"merge", "/connections/connection[name=loop]",
			`{"local":{"site":"dc-d","address":"198.51.100.9"},"remote":{"site":"dc-d","address":"198.51.100.10"}}`}},
			"/connections/connection[name=loop]/remote/site", "both in site dc-d"},
		{"new connection with defaults", []op{{"merge", "/connections/connection[name=c2]",
			`{"local":{"site":"dc-d","address":"198.51.100.9"},"remote":{"site":"dc-b","address":"198.51.100.10"}}`}}, "", ""},
	})
}

// TestScenariosValidate checks every scenario file is valid as a whole,
// both as one transaction on an empty datastore and after a Reset.
func TestScenariosValidate(t *testing.T) {
	s := nrsch(t)
	var names []string
	for n := range scenarios(t) {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			root := loadScenario(t, name)
			v, err := validate.New(s, rules.All())
			if err != nil {
				t.Fatal(err)
			}
			empty := tree.NewRoot(s)
			d, err := v.Check(changeset.Compute(empty, root), nil)
			if err != nil {
				t.Fatalf("scenario refused: %v", err)
			}
			v.Commit(d)
			// Deleting everything is valid too, and releases every reference.
			if _, err := v.Check(changeset.Compute(root, tree.NewRoot(s)), nil); err != nil {
				t.Fatalf("deleting the scenario: %v", err)
			}
			v2 := validator(t, root)
			if _, err := v2.Check(changeset.Compute(root, edit(t, root)), nil); err != nil {
				t.Fatalf("after Reset: %v", err)
			}
		})
	}
}

// TestRulesAreIncremental loads a tree that breaks a rule without
// validation (as a store might hold from an older release): changes
// elsewhere are still accepted, a change to the broken object is not.
func TestRulesAreIncremental(t *testing.T) {
	base := edit(t, loadScenario(t, "service-binding.json"), op{"merge", ifc("vnf-vlan100") + "/segmentation-id", `4095`})
	v := validator(t, base)
	if _, err := v.Check(changeset.Compute(base, edit(t, base, op{"merge", ifc("vnf-vlan200") + "/description", `"x"`})), nil); err != nil {
		t.Fatalf("unrelated change refused: %v", err)
	}
	if _, err := v.Check(changeset.Compute(base, edit(t, base, op{"merge", acme + "/ports/port[name=spare]/mtu", `9000`})), nil); err != nil {
		t.Fatalf("unrelated change refused: %v", err)
	}
	_, err := v.Check(changeset.Compute(base, edit(t, base, op{"merge", ifc("vnf-vlan100") + "/description", `"x"`})), nil)
	var te *tree.Error
	if !errors.As(err, &te) || te.Path != ifc("vnf-vlan100")+"/segmentation-id" {
		t.Fatalf("change to the broken interface: %v", err)
	}
}

// TestReferentialIntegrity covers the leafrefs of the real modules.
func TestReferentialIntegrity(t *testing.T) {
	run(t, "service-binding.json", []rcase{
		{"deleting a bound interface refused", []op{{"delete", ifc("vnf-vlan200"), ""}},
			ifc("vnf-vlan200"), "still referenced"},
		{"deleting a parent interface refused", []op{{"delete", ifc("vnf-trunk"), ""}},
			ifc("vnf-trunk"), "still referenced"},
		{"deleting a host in use refused", []op{{"delete", "/hosts/host[name=host-b]", ""}},
			"/hosts/host[name=host-b]", "still referenced"},
		{"deleting an unused host", []op{{"delete", "/hosts/host[name=host-a]", ""}}, "", ""},
		{"deleting the tenant with everything it references", []op{{"delete", acme, ""}, {"delete", "/route-targets/route-target[value=64512:300]", ""}}, "", ""},
		{"deleting a tenant that owns a route target refused", []op{{"delete", acme, ""}},
			acme, "still referenced 1 time(s) from /route-targets/route-target/grant/tenant, /route-targets/route-target/owner"},
		{"binding a missing interface refused", []op{{"merge", binding(acme+"/vpns/vpn[name=data]", "nope"), `{"ip-address":["10.20.0.9"]}`}},
			binding(acme+"/vpns/vpn[name=data]", "nope") + "/interface", "nope does not exist"},
		{"port on a missing host refused", []op{{"merge", acme + "/ports/port[name=spare]/host", `"host-z"`}},
			acme + "/ports/port[name=spare]/host", "host-z does not exist"},
		{"interface unbound then deleted", []op{
			{"delete", binding(acme+"/vpns/vpn[name=data]", "vnf-vlan200"), ""},
			{"delete", ifc("vnf-vlan200"), ""}}, "", ""},
	})
	// The same checks, counted across committed transactions.
	base := loadScenario(t, "service-binding.json")
	v := validator(t, base)
	step := func(root *tree.Node, ops ...op) (*tree.Node, error) {
		cand := edit(t, root, ops...)
		d, err := v.Check(changeset.Compute(root, cand), nil)
		if err != nil {
			return root, err
		}
		v.Commit(d)
		return cand, nil
	}
	root, err := step(base, op{"merge", binding(acme+"/l2-networks/l2-network[name=mgmt]", "vnf-vxlan5001"), `{}`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := step(root, op{"delete", ifc("vnf-vxlan5001"), ""}); err == nil {
		t.Fatal("deleting a just-bound interface accepted")
	}
	if root, err = step(root, op{"delete", binding(acme+"/l2-networks/l2-network[name=mgmt]", "vnf-vxlan5001"), ""}); err != nil {
		t.Fatal(err)
	}
	if _, err = step(root, op{"delete", ifc("vnf-vxlan5001"), ""}); err != nil {
		t.Fatalf("deleting an unbound interface: %v", err)
	}
}

func ExampleAll() {
	for _, r := range rules.All() {
		fmt.Println(r.Name, r.Path)
	}
	// Output:
	// interface-segmentation /tenants/tenant/interfaces/interface
	// interface-hierarchy /tenants/tenant/interfaces/interface
	// vpn-policy /tenants/tenant/vpns/vpn
	// vpn-addresses /tenants/tenant/vpns/vpn
	// vpn-prefixes /tenants/tenant/vpns/vpn
	// vpn-static-routes /tenants/tenant/vpns/vpn
	// vpn-route-targets /tenants/tenant/vpns/vpn
	// route-distinguisher-owner /tenants
	// route-target-ownership /route-targets/route-target
	// provider-segmentation /tenants/tenant/l2-networks/l2-network
	// connection-endpoints /connections/connection
	// bgp-neighbors-once /bgp/neighbors
	// host-addresses-unique /hosts
	// one-forwarding-service /tenants/tenant
}
