package daemon_test

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

// The tests of this file hold the server to the letter of the gNMI
// specification 0.10.0 (section numbers in the test names' comments).

// getRootModels is Get / (JSON_IETF) with use_models.
func (ts *testServer) getRootModels(t *testing.T, models ...string) (map[string]any, error) {
	t.Helper()
	req := &gpb.GetRequest{Path: []*gpb.Path{{}}, Encoding: gpb.Encoding_JSON_IETF}
	for _, m := range models {
		req.UseModels = append(req.UseModels, &gpb.ModelData{Name: m})
	}
	resp, err := ts.client.Get(ctx(t), req)
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if err := json.Unmarshal(resp.GetNotification()[0].GetUpdate()[0].GetVal().GetJsonIetfVal(), &v); err != nil {
		t.Fatal(err)
	}
	return v, nil
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestUseModelsRestrictsGet: §2.6, a target given use_models MUST NOT
// utilize data tree elements defined in modules outside the set, including
// augmentations of the named modules' trees by other modules.
func TestUseModelsRestrictsGet(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "georedundancy"))

	v, err := ts.getRootModels(t, "netready-infrastructure")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(keysOf(v), " "); got != "netready-infrastructure:backends netready-infrastructure:hosts" {
		t.Fatalf("top-level nodes with use_models=[netready-infrastructure]: %s", got)
	}
	js, _ := json.Marshal(v)
	if strings.Contains(string(js), "netready-georedundancy:") {
		t.Fatalf("the georedundancy augmentation of hosts leaked: %s", js)
	}

	// A module that augments another's tree: the path to its nodes (with
	// the list keys) is served, nothing else of the other module.
	ts = start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	v, err = ts.getRootModels(t, "netready-l3vpn")
	if err != nil {
		t.Fatal(err)
	}
	tenants, _ := v["netready-tenants:tenants"].(map[string]any)
	list, _ := tenants["tenant"].([]any)
	if len(list) == 0 {
		t.Fatalf("use_models=[netready-l3vpn]: no tenant entries leading to the VPNs: %v", v)
	}
	for _, e := range list {
		if got := strings.Join(keysOf(e.(map[string]any)), " "); got != "name netready-l3vpn:vpns" && got != "name" {
			t.Fatalf("tenant entry under use_models=[netready-l3vpn] has %s", got)
		}
	}

	_, err = ts.getRootModels(t, "no-such-module")
	wantCode(t, err, codes.InvalidArgument, "no-such-module")
}

// TestUseModelsRestrictsSubscribe: §3.5.1.2, the target MUST only consider
// data elements within the models of use_models.
func TestUseModelsRestrictsSubscribe(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	l := &gpb.SubscriptionList{Mode: gpb.SubscriptionList_ONCE, Encoding: gpb.Encoding_JSON_IETF,
		UseModels:    []*gpb.ModelData{{Name: "netready-infrastructure"}},
		Subscription: []*gpb.Subscription{{Path: &gpb.Path{}}}}
	lines := flat(t, ts.subscribe(t, l).untilSync(t)...)
	if len(lines) == 0 {
		t.Fatal("no data")
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, "/backends/") && !strings.HasPrefix(line, "/hosts/") {
			t.Fatalf("outside netready-infrastructure: %s", line)
		}
	}
}

// TestReplaceRootKeepsState: §3.4.4, replace acts on configuration; the
// server's own state (config false) is not the client's to remove.
func TestReplaceRootKeepsState(t *testing.T) {
	ts := start(t, "")
	before, err := ts.get(t, "/system/state/version", gpb.GetRequest_STATE)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.client.Set(ctx(t), &gpb.SetRequest{Replace: []*gpb.Update{{Path: &gpb.Path{}, Val: jsonIETF(string(scenario(t, "any-to-any")))}}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/system/state/version", "/system/state/boot-time"} {
		if _, err := ts.get(t, p, gpb.GetRequest_STATE); err != nil {
			t.Fatalf("%s after a replace at /: %v", p, err)
		}
	}
	if after, _ := ts.get(t, "/system/state/version", gpb.GetRequest_STATE); !equalJSON(before, after) {
		t.Fatalf("version %v, was %v", after, before)
	}
}

// TestEmptySetIsNoError: §3.4, a SetRequest specifying an empty set of
// paths MUST NOT be treated as an error. Nothing is committed.
func TestEmptySetIsNoError(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	commits := func() any {
		v, err := ts.get(t, "/system/state/last-commit-id", gpb.GetRequest_STATE)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	was := commits()
	resp, err := ts.client.Set(ctx(t), &gpb.SetRequest{Prefix: &gpb.Path{Target: "dev1"}})
	if err != nil {
		t.Fatalf("empty SetRequest: %v", err)
	}
	if resp.GetTimestamp() == 0 || len(resp.GetResponse()) != 0 || resp.GetPrefix().GetTarget() != "dev1" {
		t.Fatalf("response %v", resp)
	}
	if now := commits(); !equalJSON(was, now) {
		t.Fatalf("an empty Set made a commit: %v, was %v", now, was)
	}
}

// TestReplaceListEntryWithEmptyObject: §3.4.4, replacing a keyed list
// element with {} (or a leaf with null) is invalid: INVALID_ARGUMENT.
func TestReplaceListEntryWithEmptyObject(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	before := ts.config(t)
	for _, c := range []struct{ path, val, msg string }{
		{"/hosts/host[name=host-a]", `{}`, "host[name=host-a]"},
		{"/hosts/host[name=host-a]", `null`, "host[name=host-a]"},
		{"/tenants/tenant[name=blue]/description", `null`, "description"},
	} {
		_, err := ts.client.Set(ctx(t), &gpb.SetRequest{Replace: []*gpb.Update{upd(t, c.path, c.val)}})
		wantCode(t, err, codes.InvalidArgument, c.msg)
	}
	if !equalJSON(before, ts.config(t)) {
		t.Fatal("a refused replace changed the configuration")
	}
	// A body without the keys but with content is a replace like any other.
	ts.mustSet(t, &gpb.SetRequest{Replace: []*gpb.Update{upd(t, "/tenants/tenant[name=blue]/ports/port[name=g1-nic0]", `{"host": "host-a", "mtu": 9000}`)}})
}

// TestDeleteListWithoutKeys: per the path conventions a list element
// without keys means every entry; a delete of it removes them all.
func TestDeleteListWithoutKeys(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	ts.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, "/tenants/tenant/vpns/vpn/bindings/binding")}})
	if _, err := ts.get(t, "/tenants/tenant/vpns/vpn/bindings/binding", gpb.GetRequest_CONFIG); status.Code(err) != codes.NotFound {
		t.Fatalf("bindings left after deleting them all: %v", err)
	}
	ts.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, "/tenants/tenant"), path(t, "/route-targets"), path(t, "/hosts/host")}})
	for _, p := range []string{"/tenants/tenant", "/hosts/host"} {
		if _, err := ts.get(t, p, gpb.GetRequest_CONFIG); status.Code(err) != codes.NotFound {
			t.Fatalf("%s left after deleting every entry: %v", p, err)
		}
	}
}

// TestUnknownPathsAreUnimplemented: §3.3.4 and §3.5.2.4, a syntactically
// correct path the server does not implement is UNIMPLEMENTED for Get and
// Subscribe (NOT_FOUND is for a schema path without data); Set keeps
// NotFound (§3.4.7).
func TestUnknownPathsAreUnimplemented(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	for _, p := range []string{"/no-such-container", "/tenants/tenant[name=blue]/colour"} {
		_, err := ts.get(t, p, gpb.GetRequest_ALL)
		wantCode(t, err, codes.Unimplemented, strings.TrimPrefix(p[strings.LastIndex(p, "/"):], "/"))
		for _, mode := range []gpb.SubscriptionList_Mode{gpb.SubscriptionList_ONCE, gpb.SubscriptionList_STREAM} {
			l := streamList(gpb.SubscriptionMode_ON_CHANGE, p)
			l.Mode = mode
			wantCode(t, ts.subscribe(t, l).ended(t), codes.Unimplemented, strings.TrimPrefix(p[strings.LastIndex(p, "/"):], "/"))
		}
		_, err = ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, p, `"x"`)}})
		wantCode(t, err, codes.NotFound, strings.TrimPrefix(p[strings.LastIndex(p, "/"):], "/"))
	}
	// A schema path without data stays NotFound.
	_, err := ts.get(t, "/tenants/tenant[name=nobody]", gpb.GetRequest_ALL)
	wantCode(t, err, codes.NotFound, "no data")
}

// TestASCIIValueUnimplemented: §3.4.7, a payload in an encoding the target
// does not support (ASCII is not advertised) SHOULD be Unimplemented.
func TestASCIIValueUnimplemented(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	ascii := &gpb.TypedValue{Value: &gpb.TypedValue_AsciiVal{AsciiVal: "x"}}
	for _, u := range []*gpb.Update{
		{Path: path(t, "/tenants/tenant[name=blue]/description"), Val: ascii},
		{Path: path(t, "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/bindings/binding[interface=g1]/ip-address"),
			Val: &gpb.TypedValue{Value: &gpb.TypedValue_LeaflistVal{LeaflistVal: &gpb.ScalarArray{Element: []*gpb.TypedValue{ascii}}}}},
	} {
		_, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{u}})
		wantCode(t, err, codes.Unimplemented, "ASCII")
	}
}

// TestTargetDefinedWithSampleInterval: TARGET_DEFINED is ON_CHANGE for
// every NetReady leaf, so a sample_interval is one the target cannot honour
// (§3.5.1.5.2): InvalidArgument rather than silently ignored.
func TestTargetDefinedWithSampleInterval(t *testing.T) {
	ts := start(t, "")
	l := streamList(gpb.SubscriptionMode_TARGET_DEFINED, "/tenants")
	l.Subscription[0].SampleInterval = uint64(10 * time.Second)
	wantCode(t, ts.subscribe(t, l).ended(t), codes.InvalidArgument, "sample_interval")
	// Without one it is served.
	sc := ts.subscribe(t, streamList(gpb.SubscriptionMode_TARGET_DEFINED, "/tenants"))
	sc.untilSync(t)
}

// TestReflection: §3, the target SHOULD register with the gRPC reflection
// service; like every RPC, it needs an authenticated caller.
func TestReflection(t *testing.T) {
	ts := start(t, "")
	list := func(c rpb.ServerReflectionClient) ([]string, error) {
		s, err := c.ServerReflectionInfo(ctx(t))
		if err != nil {
			return nil, err
		}
		if err := s.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}}); err != nil {
			return nil, err
		}
		r, err := s.Recv()
		if err != nil {
			return nil, err
		}
		var names []string
		for _, svc := range r.GetListServicesResponse().GetService() {
			names = append(names, svc.GetName())
		}
		return names, nil
	}
	names, err := list(rpb.NewServerReflectionClient(ts.conn))
	if err != nil {
		t.Fatal(err)
	}
	if !has(names, "gnmi.gNMI") {
		t.Fatalf("services %v", names)
	}
	anon := dialAs(t, ts.d.Addr(), ts.dir, password{"admin", "wrong"})
	defer anon.Close()
	_, err = list(rpb.NewServerReflectionClient(anon))
	wantCode(t, err, codes.Unauthenticated, "")
}

// setResults returns the per-operation results a refused Set carries in
// its status details.
func setResults(t *testing.T, err error) []string {
	t.Helper()
	var out []string
	for _, d := range status.Convert(err).Details() {
		resp, ok := d.(*gpb.SetResponse)
		if !ok {
			continue
		}
		for _, r := range resp.GetResponse() {
			//lint:ignore SA1019 the deprecated message field is what 3.4.7 fills.
			out = append(out, r.GetOp().String()+" "+codes.Code(r.GetMessage().GetCode()).String())
		}
	}
	return out
}

// TestSetErrorResults: §3.4.7, the UpdateResult of the failed operation
// carries its error, every other one Aborted; the RPC status keeps the
// specific code (docs/validation.md).
func TestSetErrorResults(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	const blue = "/tenants/tenant[name=blue]"
	for _, c := range []struct {
		name string
		req  *gpb.SetRequest
		code codes.Code
		want string
	}{
		{"bad value in the request", &gpb.SetRequest{
			Delete:  []*gpb.Path{path(t, "/tenants/tenant[name=red]")},
			Replace: []*gpb.Update{upd(t, blue+"/ports/port[name=g1-nic0]/mtu", `70000`)},
			Update:  []*gpb.Update{upd(t, blue+"/description", `"x"`)}},
			codes.InvalidArgument, "DELETE Aborted,REPLACE InvalidArgument,UPDATE Aborted"},
		{"constraint of the transaction", &gpb.SetRequest{
			Delete: []*gpb.Path{path(t, "/hosts/host[name=host-a]")},
			Update: []*gpb.Update{upd(t, blue+"/description", `"x"`)}},
			codes.FailedPrecondition, "DELETE FailedPrecondition,UPDATE Aborted"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ts.client.Set(ctx(t), c.req)
			wantCode(t, err, c.code, "")
			if got := strings.Join(setResults(t, err), ","); got != c.want {
				t.Fatalf("results %q, want %q", got, c.want)
			}
		})
	}
}
