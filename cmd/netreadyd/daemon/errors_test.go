package daemon_test

import (
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
)

func upd(t testing.TB, p, js string) *gpb.Update {
	return &gpb.Update{Path: path(t, p), Val: jsonIETF(js)}
}

// TestBadSetsChangeNothing sends one bad Set per class of error: each must
// fail with the right code and a message naming the path at fault, and
// leave the configuration exactly as it was.
func TestBadSetsChangeNothing(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	before := ts.config(t)
	const blue = "/tenants/tenant[name=blue]"
	cases := []struct {
		name string
		req  *gpb.SetRequest
		code codes.Code
		msg  string
	}{
		{"invalid JSON", &gpb.SetRequest{Update: []*gpb.Update{upd(t, blue+"/ports/port[name=g1-nic0]", `{"mtu": 9000`)}},
			codes.InvalidArgument, "invalid JSON"},
		{"unknown path", &gpb.SetRequest{Update: []*gpb.Update{upd(t, blue+"/ports/port[name=g1-nic0]/colour", `"red"`)}},
			codes.NotFound, "/colour"},
		{"unknown member", &gpb.SetRequest{Update: []*gpb.Update{upd(t, blue+"/ports/port[name=g1-nic0]", `{"colour": "red"}`)}},
			codes.NotFound, "port[name=g1-nic0]/colour"},
		{"out of range", &gpb.SetRequest{Update: []*gpb.Update{upd(t, blue+"/ports/port[name=g1-nic0]/mtu", `70000`)}},
			codes.InvalidArgument, "mtu"},
		{"bad pattern", &gpb.SetRequest{Update: []*gpb.Update{upd(t, blue+"/ports/port[name=g1-nic0]/mac-address", `"zz:00:00:00:00:01"`)}},
			codes.InvalidArgument, "mac-address"},
		{"bad enum", &gpb.SetRequest{Update: []*gpb.Update{upd(t, blue+"/ports/port[name=g1-nic0]/admin-state", `"sideways"`)}},
			codes.InvalidArgument, "admin-state"},
		{"wrong JSON kind", &gpb.SetRequest{Update: []*gpb.Update{upd(t, blue+"/ports", `[1,2]`)}},
			codes.InvalidArgument, "/ports"},
		{"bad key in path", &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=no spaces]/description", `"x"`)}},
			codes.InvalidArgument, "name"},
		{"key differs in body", &gpb.SetRequest{Update: []*gpb.Update{upd(t, blue+"/ports/port[name=g1-nic0]", `{"name": "other"}`)}},
			codes.InvalidArgument, "name"},
		{"list without keys mid-path", &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant/description", `"x"`)}},
			codes.InvalidArgument, "tenant"},
		{"wildcard update", &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=*]/description", `"x"`)}},
			codes.InvalidArgument, "wildcard"},
		{"read-only state", &gpb.SetRequest{Update: []*gpb.Update{upd(t, blue+"/ports/port[name=g1-nic0]/status/oper-status", `"up"`)}},
			codes.InvalidArgument, "read-only"},
		{"read-only in payload", &gpb.SetRequest{Update: []*gpb.Update{upd(t, blue+"/ports/port[name=g1-nic0]", `{"status": {"oper-status": "up"}}`)}},
			codes.InvalidArgument, "read-only"},
		{"dangling leafref", &gpb.SetRequest{Update: []*gpb.Update{upd(t, blue+"/ports/port[name=g1-nic0]/host", `"host-z"`)}},
			codes.FailedPrecondition, "port[name=g1-nic0]/host"},
		{"missing mandatory", &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=vendor-c]", `{"description": "no driver"}`)}},
			codes.FailedPrecondition, "backend[name=vendor-c]/driver"},
		{"delete referenced host", &gpb.SetRequest{Delete: []*gpb.Path{path(t, "/hosts/host[name=host-a]")}},
			codes.FailedPrecondition, "host[name=host-a]"},
		{"duplicate IP without anycast", &gpb.SetRequest{Update: []*gpb.Update{upd(t, blue+"/vpns/vpn[name=blue]/bindings/binding[interface=g3]/ip-address", `["10.1.1.5"]`)}},
			codes.FailedPrecondition, "10.1.1.5"},
		{"address outside subnets", &gpb.SetRequest{Update: []*gpb.Update{upd(t, blue+"/vpns/vpn[name=blue]/bindings/binding[interface=g3]/ip-address", `["192.168.9.9"]`)}},
			codes.FailedPrecondition, "subnets"},
		{"segmentation id out of range for type", &gpb.SetRequest{Update: []*gpb.Update{upd(t, blue+"/interfaces/interface[name=g1-v5000]", `{"type": "vlan", "parent": "g1", "segmentation-id": 5000}`)}},
			codes.FailedPrecondition, "segmentation-id"},
		{"prefix with host bits", &gpb.SetRequest{Update: []*gpb.Update{upd(t, blue+"/vpns/vpn[name=blue]/subnet[prefix=10.9.9.9/24]", `{}`)}},
			codes.FailedPrecondition, "did you mean 10.9.9.0/24"},
		{"hub-and-spoke without route targets", &gpb.SetRequest{Update: []*gpb.Update{upd(t, blue+"/vpns/vpn[name=blue]/vrf-policy", `"hub-and-spoke"`)}},
			codes.FailedPrecondition, "route-target"},
		{"one bad op spoils the transaction", &gpb.SetRequest{
			Delete: []*gpb.Path{path(t, "/tenants/tenant[name=red]")},
			Update: []*gpb.Update{upd(t, blue+"/description", `"changed"`), upd(t, blue+"/ports/port[name=g1-nic0]/mtu", `1`)}},
			codes.InvalidArgument, "mtu"},
		{"union_replace", &gpb.SetRequest{UnionReplace: []*gpb.Update{upd(t, blue+"/description", `"x"`)}},
			codes.Unimplemented, "union_replace"},
		{"unknown origin", &gpb.SetRequest{Update: []*gpb.Update{{Path: &gpb.Path{Origin: "openconfig", Elem: path(t, blue+"/description").Elem}, Val: jsonIETF(`"x"`)}}},
			codes.NotFound, "origin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ts.client.Set(ctx(t), c.req)
			wantCode(t, err, c.code, c.msg)
			if after := ts.config(t); !equalJSON(before, after) {
				t.Fatal("a refused Set changed the configuration")
			}
		})
	}
}

func TestDeleteMissingSucceeds(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	resp, err := ts.client.Set(ctx(t), &gpb.SetRequest{Delete: []*gpb.Path{path(t, "/tenants/tenant[name=nobody]")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetResponse()) != 1 || resp.GetResponse()[0].GetOp() != gpb.UpdateResult_DELETE {
		t.Fatalf("response %v", resp)
	}
}

func TestGetErrors(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	_, err := ts.get(t, "/tenants/tenant[name=nobody]", gpb.GetRequest_ALL)
	wantCode(t, err, codes.NotFound, "no data")
	_, err = ts.get(t, "/tenants/tenant[name=blue]/colour", gpb.GetRequest_ALL)
	wantCode(t, err, codes.Unimplemented, "colour")
	_, err = ts.client.Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, "/hosts")}, Encoding: gpb.Encoding_ASCII})
	wantCode(t, err, codes.Unimplemented, "ASCII")
	_, err = ts.client.Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, "/hosts")}, UseModels: []*gpb.ModelData{{Name: "openconfig-interfaces"}}})
	wantCode(t, err, codes.InvalidArgument, "openconfig-interfaces")
}
