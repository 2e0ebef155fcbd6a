package daemon_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
)

// subscribeErr opens a Subscribe with list and returns the error it ends
// with (nil if it delivers its sync response first).
func (ts *testServer) subscribeErr(t *testing.T, list *gpb.SubscriptionList) error {
	t.Helper()
	s, err := ts.client.Subscribe(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(&gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Subscribe{Subscribe: list}}); err != nil {
		t.Fatal(err)
	}
	for {
		r, err := s.Recv()
		if err != nil || r.GetSyncResponse() {
			return err
		}
	}
}

// TestSubscribeModesOutsideTheEnum: mode values no gNMI version defines
// are malformed requests, not STREAM (the list) or ignored (a
// subscription's mode, which ONCE and POLL do not use).
func TestSubscribeModesOutsideTheEnum(t *testing.T) {
	ts := start(t, "")
	list := streamList(gpb.SubscriptionMode_ON_CHANGE, "/hosts")
	list.Mode = 99
	wantCode(t, ts.subscribeErr(t, list), codes.InvalidArgument, "subscribe: unknown subscription list mode 99")

	list = streamList(gpb.SubscriptionMode(7), "/hosts")
	list.Mode = gpb.SubscriptionList_ONCE
	wantCode(t, ts.subscribeErr(t, list), codes.InvalidArgument, "subscribe: /hosts: unknown subscription mode 7")

	list = streamList(gpb.SubscriptionMode_ON_CHANGE, "/hosts")
	list.Mode = gpb.SubscriptionList_ONCE
	if err := ts.subscribeErr(t, list); err != nil {
		t.Fatalf("ONCE with a defined mode: %v", err)
	}
}

// TestOversizedPathsRefused: paths over the size bounds are refused with
// InvalidArgument by Get, Set and Subscribe, with a message that names
// the path but does not echo the 8 MiB key, and a Set changes nothing.
func TestOversizedPathsRefused(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	before := ts.config(t)
	huge := strings.Repeat("k", 8<<20)
	bigKey := &gpb.Path{Elem: []*gpb.PathElem{{Name: "tenants"}, {Name: "tenant", Key: map[string]string{"name": huge}}, {Name: "description"}}}
	deep := &gpb.Path{}
	for i := 0; i < 65; i++ {
		deep.Elem = append(deep.Elem, &gpb.PathElem{Name: "tenants"})
	}
	longName := &gpb.Path{Elem: []*gpb.PathElem{{Name: "hosts"}, {Name: strings.Repeat("n", 300)}}}
	for _, c := range []struct {
		name string
		p    *gpb.Path
		msg  string
	}{
		{"8 MiB key value", bigKey, "/tenants/tenant[name=kkkk"},
		{"65 elements", deep, "path has 65 elements"},
		{"300-byte name", longName, "element name is 300 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			check := func(op string, err error) {
				t.Helper()
				wantCode(t, err, codes.InvalidArgument, op+": ")
				wantCode(t, err, codes.InvalidArgument, c.msg)
				if m := status.Convert(err).Message(); len(m) > 4096 {
					t.Fatalf("%s: message of %d bytes", op, len(m))
				}
			}
			_, err := ts.client.Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{c.p}, Encoding: gpb.Encoding_JSON_IETF})
			check("get", err)
			// The bad path comes last: it is refused before the good ones are worked on.
			_, err = ts.client.Set(ctx(t), &gpb.SetRequest{
				Delete: []*gpb.Path{path(t, "/tenants/tenant[name=red]")},
				Update: []*gpb.Update{upd(t, "/tenants/tenant[name=blue]/description", `"x"`), {Path: c.p, Val: jsonIETF(`"x"`)}}})
			check("set", err)
			_, err = ts.client.Set(ctx(t), &gpb.SetRequest{Prefix: c.p, Delete: []*gpb.Path{{}}})
			check("set", err)
			list := streamList(gpb.SubscriptionMode_ON_CHANGE, "/hosts")
			list.Subscription = append(list.Subscription, &gpb.Subscription{Path: c.p})
			check("subscribe", ts.subscribeErr(t, list))
			if after := ts.config(t); !equalJSON(before, after) {
				t.Fatal("a refused Set changed the configuration")
			}
		})
	}
}

func jsonVal(s string) *gpb.TypedValue {
	return &gpb.TypedValue{Value: &gpb.TypedValue_JsonVal{JsonVal: []byte(s)}}
}

// TestStrictPayloadsRefused: payloads encoding/json would have taken with
// a different meaning (U+FFFD for invalid UTF-8, the last of duplicate
// members, a string for a boolean) and RFC 7951 violations in JSON_IETF
// are InvalidArgument naming the path, and change nothing; plain JSON
// stays lenient about numbers and top-level names.
func TestStrictPayloadsRefused(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	before := ts.config(t)
	const blue = "/tenants/tenant[name=blue]"
	const vpn = blue + "/vpns/vpn[name=blue]"
	for _, c := range []struct {
		name string
		p    string
		val  *gpb.TypedValue
		msg  string
	}{
		{"invalid UTF-8 in a string", blue, jsonIETF("{\"description\":\"caf\xe9\"}"),
			"set: " + blue + ": invalid JSON: at /description: invalid UTF-8 in a string"},
		{"invalid UTF-8 in a JSON scalar", blue + "/description", jsonVal("\"\xff\""), "set: " + blue + "/description: invalid JSON: invalid UTF-8"},
		{"lone surrogate", blue + "/description", jsonIETF(`"\ud800"`), "lone UTF-16 surrogate"},
		{"duplicate members", blue, jsonIETF(`{"description":"a","description":"b"}`),
			"set: " + blue + ": invalid JSON: at /description: member given more than once"},
		{"duplicate members in plain JSON", vpn, jsonVal(`{"anycast":{"enabled":true,"enabled":false}}`), "at /anycast/enabled: member given more than once"},
		{"a string for a boolean", vpn + "/anycast/enabled", jsonIETF(`"true"`), "set: " + vpn + "/anycast/enabled: \"true\" is a JSON string; a boolean takes JSON true or false"},
		{"a string for a boolean in plain JSON", vpn + "/anycast", jsonVal(`{"enabled":"true"}`), vpn + "/anycast/enabled: \"true\" is a JSON string"},
		{"uint64 as a JSON number", "/backends/backend[name=vendor-a]/reconcile-request", jsonIETF(`7`),
			"set: /backends/backend[name=vendor-a]/reconcile-request: \"7\" is a JSON number; uint64 takes a JSON string in JSON_IETF"},
		{"unqualified top-level member", "/", jsonIETF(`{"hosts":{"host":[{"name":"host-z","backend":"vendor-a"}]}}`),
			`set: /hosts: a top-level member takes its module's name in JSON_IETF (RFC 7951 section 4): "netready-infrastructure:hosts"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{{Path: path(t, c.p), Val: c.val}}})
			wantCode(t, err, codes.InvalidArgument, c.msg)
			if after := ts.config(t); !equalJSON(before, after) {
				t.Fatal("a refused Set changed the configuration")
			}
		})
	}

	// Plain JSON takes numbers either way and unqualified top-level names.
	for _, u := range []*gpb.Update{
		{Path: path(t, "/backends/backend[name=vendor-a]/reconcile-request"), Val: jsonVal(`7`)},
		{Path: path(t, "/backends/backend[name=vendor-b]/reconcile-request"), Val: jsonVal(`"8"`)},
		{Path: &gpb.Path{}, Val: jsonVal(`{"hosts":{"host":[{"name":"host-z","backend":"vendor-a"}]}}`)},
	} {
		if _, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{u}}); err != nil {
			t.Fatalf("plain JSON %s: %v", u.GetVal().GetJsonVal(), err)
		}
	}
}

// TestLeafListMaxElements: the route-distinguisher and ip-address
// leaf-lists are bounded by the model; one value more is
// FailedPrecondition naming the leaf-list, and the bound itself is taken.
func TestLeafListMaxElements(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	const vpn = "/tenants/tenant[name=blue]/vpns/vpn[name=blue]"
	set := func(p, js string) error {
		_, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, p, js)}})
		return err
	}
	if err := set(vpn+"/route-distinguisher", rdList(1024)); err != nil {
		t.Fatalf("1024 route distinguishers: %v", err)
	}
	wantCode(t, set(vpn+"/route-distinguisher", rdList(1025)), codes.FailedPrecondition, vpn+"/route-distinguisher")
	addrs := make([]string, 257)
	for i := range addrs {
		addrs[i] = fmt.Sprintf(`"10.3.7.%d"`, 1+i%254) // in a subnet of the VPN
		if i >= 254 {
			addrs[i] = fmt.Sprintf(`"10.1.1.%d"`, 240+i-254)
		}
	}
	wantCode(t, set(vpn+"/bindings/binding[interface=g3]/ip-address", "["+strings.Join(addrs, ",")+"]"),
		codes.FailedPrecondition, vpn+"/bindings/binding[interface=g3]/ip-address")
}

// rawCodec sends bytes as they are: a client that does not validate
// UTF-8, as the Go protobuf library does before sending.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error)   { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(b []byte, v any) error { *(v.(*[]byte)) = b; return nil }
func (rawCodec) Name() string                    { return "proto" }

// TestInvalidUTF8InProtoStringRefused: invalid UTF-8 in a proto string
// (string_val here) never reaches the store: the server's protobuf
// decoding refuses the message, which grpc-go reports as Internal.
func TestInvalidUTF8InProtoStringRefused(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	before := ts.config(t)
	req := &gpb.SetRequest{Update: []*gpb.Update{{Path: path(t, "/tenants/tenant[name=blue]/description"),
		Val: &gpb.TypedValue{Value: &gpb.TypedValue_StringVal{StringVal: "caf\u00e9~"}}}}}
	buf, err := encoding.GetCodecV2("proto").Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	b := buf.Materialize()
	i := bytes.Index(b, []byte("caf\u00e9~"))
	b[i+3], b[i+4] = 0xff, 0xff // é (2 bytes) becomes invalid UTF-8, same length
	var resp []byte
	err = ts.conn.Invoke(ctx(t), "/gnmi.gNMI/Set", &b, &resp, grpc.ForceCodec(rawCodec{}))
	wantCode(t, err, codes.Internal, "invalid UTF-8")
	if after := ts.config(t); !equalJSON(before, after) {
		t.Fatal("a refused Set changed the configuration")
	}
}
