package daemon_test

// Acceptance tests of the gNMI Depth extension (gnmi-depth.md) on Get and
// Subscribe, over gNMI/TLS.

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmi/proto/gnmi_ext"
	"google.golang.org/grpc/codes"
)

func depthExt(level uint32) *gnmi_ext.Extension {
	return &gnmi_ext.Extension{Ext: &gnmi_ext.Extension_Depth{Depth: &gnmi_ext.Depth{Level: level}}}
}

// getDepth is Get CONFIG of p as JSON_IETF with the Depth extension: the
// value of its one update.
func (ts *testServer) getDepth(t *testing.T, p string, level uint32) any {
	t.Helper()
	vals := ts.getDepthAll(t, p, level)
	if len(vals) != 1 {
		t.Fatalf("get %s depth %d: %d updates, want 1", p, level, len(vals))
	}
	return vals[0]
}

// getDepthAll is getDepth for a path that may match several nodes.
func (ts *testServer) getDepthAll(t *testing.T, p string, level uint32) []any {
	t.Helper()
	resp, err := ts.client.Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, p)}, Encoding: gpb.Encoding_JSON_IETF,
		Type: gpb.GetRequest_CONFIG, Extension: []*gnmi_ext.Extension{depthExt(level)}})
	if err != nil {
		t.Fatalf("get %s depth %d: %v", p, level, err)
	}
	var out []any
	for _, u := range resp.GetNotification()[0].GetUpdate() {
		var v any
		if err := json.Unmarshal(u.GetVal().GetJsonIetfVal(), &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// cut is the reference's definition applied to decoded JSON: levels
// levels of v, the last with its leaves and leaf-lists only; a list's
// entries are at the list's level; a container left empty is no data.
func cut(v any, levels int) any {
	switch x := v.(type) {
	case []any:
		out := []any{}
		for _, e := range x {
			out = append(out, cut(e, levels))
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, m := range x {
			if !isDir(m) {
				out[k] = m
			} else if levels > 1 {
				if c := cut(m, levels-1); !isEmptyObject(c) {
					out[k] = c
				}
			}
		}
		return out
	}
	return v
}

// isDir reports a container (object) or list (array of objects).
func isDir(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return true
	case []any:
		return len(x) > 0 && isDir(x[0])
	}
	return false
}

func isEmptyObject(v any) bool { m, ok := v.(map[string]any); return ok && len(m) == 0 }

func TestDepthGet(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	const tenant = "/tenants/tenant[name=blue]"
	// gnmi-depth.md 4.1: depth 1 on a container gives its leaves only.
	want1 := map[string]any{"name": "blue", "description": "Tenant 1 (L3VPN Blue, any-to-any)"}
	if got := ts.getDepth(t, tenant, 1); !reflect.DeepEqual(got, want1) {
		t.Fatalf("depth 1 of %s: %v, want %v", tenant, got, want1)
	}
	for _, p := range []string{tenant, tenant + "/vpns", "/tenants", "/"} {
		full, err := ts.get(t, p, gpb.GetRequest_CONFIG)
		if err != nil {
			t.Fatal(err)
		}
		for level := 1; level <= 4; level++ {
			want := cut(full, level)
			if isEmptyObject(want) && p != "/" {
				// Nothing within the depth: the path matched, no data.
				if got := ts.getDepthAll(t, p, uint32(level)); len(got) != 0 {
					t.Errorf("depth %d of %s: %v, want no update", level, p, got)
				}
				continue
			}
			if got := ts.getDepth(t, p, uint32(level)); !reflect.DeepEqual(got, want) {
				t.Errorf("depth %d of %s:\n got %v\nwant %v", level, p, got, want)
			}
		}
		// 3.1.1: depth 0 is no limit.
		if got := ts.getDepth(t, p, 0); !reflect.DeepEqual(got, full) {
			t.Errorf("depth 0 of %s differs from no extension", p)
		}
	}
	// 4.2: a path naming a list gives every entry with its leaves (here
	// one update per entry).
	ports := ts.getDepthAll(t, tenant+"/ports/port", 1)
	if len(ports) != 4 {
		t.Fatalf("depth 1 of the port list: %v", ports)
	}
	for _, p := range ports {
		if e := p.(map[string]any); e["mtu"] == nil || !reflect.DeepEqual(e, cut(e, 1)) {
			t.Fatalf("depth 1 of the port list: entry %v", e)
		}
	}

	// PROTO, leaf by leaf, cuts the same way.
	resp, err := ts.client.Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, tenant)}, Encoding: gpb.Encoding_PROTO,
		Type: gpb.GetRequest_CONFIG, Extension: []*gnmi_ext.Extension{depthExt(1)}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range resp.GetNotification()[0].GetUpdate() {
		got = append(got, joined(t, resp.GetNotification()[0].GetPrefix(), u.GetPath())+"="+u.GetVal().GetStringVal())
	}
	slices.Sort(got)
	if want := []string{tenant + "/description=Tenant 1 (L3VPN Blue, any-to-any)", tenant + "/name=blue"}; !slices.Equal(got, want) {
		t.Fatalf("PROTO depth 1: %v, want %v", got, want)
	}

	// 3.3: Set takes no Depth.
	_, err = ts.client.Set(ctx(t), &gpb.SetRequest{Delete: []*gpb.Path{path(t, tenant)}, Extension: []*gnmi_ext.Extension{depthExt(1)}})
	wantCode(t, err, codes.Unimplemented, "extension")
}

func TestDepthSubscribe(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	const tenant = "/tenants/tenant[name=blue]"
	list := streamList(gpb.SubscriptionMode_ON_CHANGE, tenant)
	sc := ts.subscribeExt(t, list, depthExt(1))
	dump := flat(t, sc.untilSync(t)...)
	slices.Sort(dump)
	want := []string{tenant + `/description="Tenant 1 (L3VPN Blue, any-to-any)"`, tenant + `/name="blue"`}
	if !slices.Equal(dump, want) {
		t.Fatalf("depth 1 dump: %v, want %v", dump, want)
	}
	// A change two levels down is beyond the depth; one at level 1 is not.
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{{Path: path(t, tenant+"/ports/port[name=g1-nic0]/mtu"), Val: jsonIETF("9000")}}})
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{{Path: path(t, tenant+"/description"), Val: jsonIETF(`"new"`)}}})
	if got := flat(t, sc.notification(t)); !slices.Equal(got, []string{tenant + `/description="new"`}) {
		t.Fatalf("depth 1 stream: %v", got)
	}

	// The ports container is level 2, its entries level 3: depth 2 does
	// not reach their leaves, depth 3 does (and not the bindings', at 5).
	sc = ts.subscribeExt(t, streamList(gpb.SubscriptionMode_ON_CHANGE, tenant), depthExt(2))
	if dump := flat(t, sc.untilSync(t)...); len(dump) != 2 {
		t.Fatalf("depth 2 dump: %v", dump)
	}
	sc = ts.subscribeExt(t, streamList(gpb.SubscriptionMode_ON_CHANGE, tenant), depthExt(3))
	if dump := flat(t, sc.untilSync(t)...); !has(dump, tenant+`/ports/port[name=g1-nic0]/mtu=9000`) || has(dump, tenant+`/vpns/vpn[name=blue]/bindings/binding[interface=g1]/preference=100`) {
		t.Fatalf("depth 2 dump: %v", dump)
	}
}

func TestUnsupportedExtensionsAreUnimplemented(t *testing.T) {
	ts := start(t, "")
	arb := &gnmi_ext.Extension{Ext: &gnmi_ext.Extension_MasterArbitration{MasterArbitration: &gnmi_ext.MasterArbitration{}}}
	// History is defined for Subscribe only.
	_, err := ts.client.Get(ctx(t), &gpb.GetRequest{Encoding: gpb.Encoding_JSON_IETF, Extension: []*gnmi_ext.Extension{snapshotExt(time.Now())}})
	wantCode(t, err, codes.Unimplemented, "not supported (Depth is)")
	sc := ts.subscribeExt(t, rootList(gpb.SubscriptionList_ONCE), arb)
	wantCode(t, sc.ended(t), codes.Unimplemented, "not supported (History and Depth are)")
}
