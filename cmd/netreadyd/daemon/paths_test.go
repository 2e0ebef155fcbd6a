package daemon_test

import (
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
)

// TestEscapedKeyPaths: key values holding `]`, `\`, `/` or `=` are stored
// and served as given, and a message names such a path in the escaped
// gNMI string form, so it reads back as the same path (an unescaped
// /probe/item[id=no]such] could be the key "no" followed by junk).
func TestEscapedKeyPaths(t *testing.T) {
	ts := start(t, "")
	dropModel(t, ts, "example-probe.yang")
	ts.reloadModels(t)

	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{
		update(t, `/probe/item[id=x\]/y]`, `{"target":"one"}`),
		update(t, `/probe/item[id=a\\\]\\\\b]`, `{"target":"two"}`),
		update(t, `/probe/item[id=k=v]`, `{"target":"three"}`),
	}})
	v, err := ts.get(t, "/probe", gpb.GetRequest_CONFIG)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"item": []any{
		map[string]any{"id": `a\]\\b`, "target": "two"},
		map[string]any{"id": "k=v", "target": "three"},
		map[string]any{"id": "x]/y", "target": "one"},
	}}
	if !equalJSON(v, want) {
		t.Errorf("/probe = %v, want %v", v, want)
	}

	noSuch := &gpb.Path{Elem: []*gpb.PathElem{{Name: "probe"}, {Name: "item", Key: map[string]string{"id": "no]such"}}}}
	_, err = ts.client.Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{noSuch}, Encoding: gpb.Encoding_JSON_IETF})
	wantCode(t, err, codes.NotFound, `/probe/item[id=no\]such]`)
	_, err = ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{{Path: noSuch, Val: jsonIETF(`{"id":"other"}`)}}})
	wantCode(t, err, codes.InvalidArgument, `/probe/item[id=no\]such]/id`)
}
