package daemon_test

import (
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
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
			at: red + "/route-distinguisher", msg: "route distinguisher 64512:7 is already configured on VPN blue of tenant blue"},
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
