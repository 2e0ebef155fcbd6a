package daemon_test

import (
	"net/netip"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/linuxfwd/lab"
	"github.com/netready/netready/southbound/routing"
)

// TestRuleRefusesIgnoredIntent: configurations the route computation
// could only ignore or reinterpret (it used to warn, and nothing read
// the warning) are refused through gNMI with FailedPrecondition, the path
// at fault and what to do, and change nothing.
func TestRuleRefusesIgnoredIntent(t *testing.T) {
	const blue = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]"
	const red = "/tenants/tenant[name=red]/vpns/vpn[name=red]"
	cases := []struct {
		name, scenario string
		ups            []*gpb.Update
		deletes        []string
		at, msg        string
	}{
		{name: "route-target entry on a hub-and-spoke VPN", scenario: "hub-and-spoke",
			ups: []*gpb.Update{
				upd(t, "/route-targets/route-target[value=64512:9]", `{"owner":"blue"}`),
				upd(t, blue+"/route-target[value=64512:9]", `{"direction":"both"}`)},
			at: blue + "/route-target[value=64512:9]", msg: "remove its route-target entries"},
		{name: "IPv4-mapped spelling of another binding's address", scenario: "any-to-any",
			deletes: []string{blue + "/subnet"},
			ups:     []*gpb.Update{upd(t, blue+"/bindings/binding[interface=g3]/ip-address", `["::ffff:10.1.1.5"]`)},
			at:      blue + "/bindings/binding[interface=g3]/ip-address", msg: "10.1.1.5 is already used by binding g1; enable anycast"},
		{name: "one static-route prefix in two spellings", scenario: "any-to-any",
			ups: []*gpb.Update{
				upd(t, blue+"/static-routes/route[prefix=2001:db8::/32]", `{"next-hop":[{"address":"10.1.1.5"}]}`),
				upd(t, blue+"/static-routes/route[prefix=2001:DB8::/32]", `{"next-hop":[{"address":"10.1.1.6"}]}`)},
			at: blue + "/static-routes/route[prefix=2001:db8::/32]/prefix", msg: "keep one of the two routes"},
		{name: "one next hop in two spellings", scenario: "any-to-any",
			ups: []*gpb.Update{upd(t, blue+"/static-routes/route[prefix=0.0.0.0/0]", `{"next-hop":[{"address":"10.1.1.5"},{"address":"::ffff:10.1.1.5"}]}`)},
			at:  blue + "/static-routes/route[prefix=0.0.0.0/0]/next-hop[address=::ffff:10.1.1.5]/address", msg: "keep one of the two"},
		{name: "one route distinguisher on two VPNs of two tenants", scenario: "any-to-any",
			ups: []*gpb.Update{
				upd(t, blue+"/route-distinguisher", `["64512:7"]`),
				upd(t, red+"/route-distinguisher", `["64512:7"]`)},
			at: red + "/route-distinguisher", msg: "route distinguisher 64512:7 is already configured on a VPN of another tenant;"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := start(t, "")
			ts.setRoot(t, scenario(t, c.scenario))
			before := ts.config(t)
			req := &gpb.SetRequest{Update: c.ups}
			for _, d := range c.deletes {
				req.Delete = append(req.Delete, path(t, d))
			}
			_, err := ts.client.Set(ctx(t), req)
			wantCode(t, err, codes.FailedPrecondition, c.at)
			wantCode(t, err, codes.FailedPrecondition, c.msg)
			if after := ts.config(t); !equalJSON(before, after) {
				t.Fatal("a refused Set changed the configuration")
			}
		})
	}
}

// TestRealizeVPNStatusReasons: valid intent the network cannot fully hold
// shows in the VPN's status/reason, with oper-status degraded, and
// follows changes to other VPNs. VPN ext (tenant blue, host-a) imports
// from blue and from red, which both have 10.1.1.5 (host-a) and 10.1.1.6
// (host-b): its VRF routes each to blue only. Taking red's g5 down (a
// Set that touches red only) clears the 10.1.1.5 reason; red without
// route targets, spanning two hosts, says its members do not reach each
// other.
func TestRealizeVPNStatusReasons(t *testing.T) {
	r := startRealized(t, nil)
	r.setRoot(t, r.labScenario(t, "any-to-any"))
	const (
		blue = "/tenants/tenant[name=blue]"
		ext  = blue + "/vpns/vpn[name=ext]"
		red  = "/tenants/tenant[name=red]/vpns/vpn[name=red]"
	)
	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{
		upd(t, "/route-targets/route-target[value=64512:300]", `{"owner":"blue"}`),
		upd(t, "/route-targets/route-target[value=64512:200]/grant[tenant=blue]", `{"direction":"import"}`),
		upd(t, blue+"/ports/port[name=e1-nic0]", `{"instance":"e1","mac-address":"52:54:00:00:01:09","host":"host-a"}`),
		upd(t, blue+"/interfaces/interface[name=e1]", `{"type":"untagged","port":"e1-nic0"}`),
		upd(t, ext, `{"route-target":[{"value":"64512:100","direction":"import"},{"value":"64512:200","direction":"import"},{"value":"64512:300"}],
			"bindings":{"binding":[{"interface":"e1","ip-address":["10.9.0.1"]}]}}`),
	}})
	conflict := func(p string) string {
		return "VRF blue/ext on host-a: " + p + " is imported from VPNs blue/blue and red/red; blue/blue is used"
	}
	reasons := func(vpn string) []string {
		v, err := r.get(t, vpn+"/status/reason", gpb.GetRequest_STATE)
		if status.Code(err) == codes.NotFound {
			return nil
		}
		if err != nil {
			t.Fatalf("get %s reasons: %v", vpn, err)
		}
		var out []string
		for _, s := range v.([]any) {
			out = append(out, s.(string))
		}
		return out
	}
	if got, want := reasons(ext), []string{conflict("10.1.1.5/32"), conflict("10.1.1.6/32")}; !equalJSON(got, want) {
		t.Fatalf("ext reasons %q, want %q", got, want)
	}
	if got := r.leaf(t, ext+"/status/oper-status"); got != "degraded" {
		t.Errorf("ext oper-status %v, want degraded", got)
	}
	if got := reasons(red); got != nil {
		t.Errorf("red reasons %q, want none", got)
	}

	r.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, red+"/bindings/binding[interface=g5]/admin-state", `"down"`)}})
	if got, want := reasons(ext), []string{conflict("10.1.1.6/32")}; !equalJSON(got, want) {
		t.Fatalf("ext reasons after red's g5 went down %q, want %q", got, want)
	}

	r.mustSet(t, &gpb.SetRequest{
		Delete: []*gpb.Path{path(t, red+"/route-target")},
		Update: []*gpb.Update{upd(t, red+"/bindings/binding[interface=g5]/admin-state", `"up"`)},
	})
	want := "VPN red/red spans several hosts but has no import or no export route target: its members on different hosts do not reach each other"
	if got := reasons(red); !equalJSON(got, []string{want}) {
		t.Fatalf("red reasons %q, want %q", got, want)
	}
	if got := r.leaf(t, red+"/status/oper-status"); got != "degraded" {
		t.Errorf("red oper-status %v, want degraded", got)
	}
	if got := reasons(ext); got != nil {
		t.Errorf("ext reasons %q once red exports nothing, want none", got)
	}
	if got := r.leaf(t, ext+"/status/oper-status"); got != "up" {
		t.Errorf("ext oper-status %v, want up", got)
	}
}

// TestRealizeLabelsExhaustedRefused: a server whose label range (from
// --label-min) holds fewer labels than the VRFs and bindings need refuses
// the Set with ResourceExhausted, naming what would have had no label,
// instead of realizing it without labels (the computation used to warn,
// and nothing read the warning); nothing is committed.
func TestRealizeLabelsExhaustedRefused(t *testing.T) {
	l := lab.New(t, lab.RandomPrefix(), map[string]netip.Addr{"host-a": hostA, "host-b": hostB})
	ts := startWith(t, daemon.Config{Drivers: daemon.Drivers(), LabelMin: routing.DefaultMaxLabel - 3})
	r := &realized{testServer: ts, lab: l, vendorB: linuxfwd.Kind}
	before := r.config(t)
	_, err := r.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{{Path: &gpb.Path{}, Val: jsonIETF(string(r.labScenario(t, "any-to-any")))}}})
	wantCode(t, err, codes.ResourceExhausted, "label range exhausted: ")
	wantCode(t, err, codes.ResourceExhausted, "/tenants/tenant[name=")
	if after := r.config(t); !equalJSON(before, after) {
		t.Fatal("a refused Set changed the configuration")
	}
}
