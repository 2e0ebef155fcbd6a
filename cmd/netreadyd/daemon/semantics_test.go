package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/ygot/ygot"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func updatePaths(t *testing.T, n *gpb.Notification) []string {
	t.Helper()
	var out []string
	for _, u := range n.GetUpdate() {
		s, err := ygot.PathToString(&gpb.Path{Elem: append(append([]*gpb.PathElem(nil), n.GetPrefix().GetElem()...), u.GetPath().GetElem()...)})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func TestGetWildcards(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	cases := []struct {
		path string
		want []string
	}{
		{"/tenants/tenant[name=*]/vpns/vpn", []string{"/tenants/tenant[name=blue]/vpns/vpn[name=blue]", "/tenants/tenant[name=red]/vpns/vpn[name=red]"}},
		{"/tenants/tenant/vpns/vpn[name=red]", []string{"/tenants/tenant[name=red]/vpns/vpn[name=red]"}},
		{"/tenants/*/vpns/vpn/name", []string{"/tenants/tenant[name=blue]/vpns/vpn[name=blue]/name", "/tenants/tenant[name=red]/vpns/vpn[name=red]/name"}},
		{"/hosts/.../backend", []string{"/hosts/host[name=host-a]/backend", "/hosts/host[name=host-b]/backend"}},
		{"/netready-infrastructure:hosts/host[name=host-b]/backend", []string{"/hosts/host[name=host-b]/backend"}},
	}
	for _, c := range cases {
		resp, err := ts.client.Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, c.path)}, Encoding: gpb.Encoding_JSON_IETF})
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if got := updatePaths(t, resp.GetNotification()[0]); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.path, got, c.want)
		}
	}
}

func TestGetDataTypesAndEncodings(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	port := "/tenants/tenant[name=blue]/ports/port[name=g1-nic0]"

	st, err := ts.get(t, port, gpb.GetRequest_STATE)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "g1-nic0", "status": map[string]any{"oper-status": "unknown", "sync-state": "pending"}}
	if !equalJSON(st, want) {
		t.Errorf("STATE: got %v, want %v", st, want)
	}
	cfg, err := ts.get(t, port, gpb.GetRequest_CONFIG)
	if err != nil {
		t.Fatal(err)
	}
	if _, has := cfg.(map[string]any)["status"]; has {
		t.Errorf("CONFIG returned state: %v", cfg)
	}

	// JSON_IETF qualifies augmented members; JSON does not.
	resp, err := ts.client.Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, "/tenants/tenant[name=red]")}, Encoding: gpb.Encoding_JSON_IETF, Type: gpb.GetRequest_CONFIG})
	if err != nil {
		t.Fatal(err)
	}
	var ietf map[string]any
	json.Unmarshal(resp.GetNotification()[0].GetUpdate()[0].GetVal().GetJsonIetfVal(), &ietf)
	if _, ok := ietf["netready-l3vpn:vpns"]; !ok {
		t.Errorf("JSON_IETF member for the augmented vpns not qualified: %v", ietf)
	}
	resp, err = ts.client.Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, "/tenants/tenant[name=red]")}, Encoding: gpb.Encoding_JSON, Type: gpb.GetRequest_CONFIG})
	if err != nil {
		t.Fatal(err)
	}
	var plain map[string]any
	json.Unmarshal(resp.GetNotification()[0].GetUpdate()[0].GetVal().GetJsonVal(), &plain)
	if _, ok := plain["vpns"]; !ok {
		t.Errorf("JSON member vpns missing: %v", plain)
	}

	// PROTO: one scalar per leaf.
	resp, err = ts.client.Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, port)}, Encoding: gpb.Encoding_PROTO, Type: gpb.GetRequest_CONFIG})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, u := range resp.GetNotification()[0].GetUpdate() {
		p, _ := ygot.PathToString(u.GetPath())
		got[p] = fmt.Sprint(u.GetVal().GetValue())
	}
	if got[port+"/mtu"] != "&{1500}" || got[port+"/host"] != `&{host-a}` {
		t.Errorf("PROTO updates: %v", got)
	}
}

func TestGetPrefixAndTarget(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	prefix := path(t, "/tenants/tenant[name=blue]")
	prefix.Target = "dc1"
	resp, err := ts.client.Get(ctx(t), &gpb.GetRequest{Prefix: prefix, Path: []*gpb.Path{path(t, "/ports/port[name=g2-nic0]/mtu"), path(t, "/description")}, Encoding: gpb.Encoding_JSON_IETF})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetNotification()) != 2 {
		t.Fatalf("want one notification per path, got %d", len(resp.GetNotification()))
	}
	n := resp.GetNotification()[0]
	if n.GetPrefix().GetTarget() != "dc1" || n.GetTimestamp() == 0 {
		t.Errorf("prefix/target not echoed or no timestamp: %v", n)
	}
	if p, _ := ygot.PathToString(n.GetUpdate()[0].GetPath()); p != "/ports/port[name=g2-nic0]/mtu" {
		t.Errorf("update path %s is not relative to the prefix", p)
	}
}

// TestSetOrderAndReplace checks the Set rules of the specification: deletes,
// then replaces, then updates, in one transaction; replace removes what its
// payload leaves out.
func TestSetOrderAndReplace(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	red := "/tenants/tenant[name=red]"
	_, err := ts.client.Set(ctx(t), &gpb.SetRequest{
		// Listed update-first on purpose: the server still deletes first.
		Update:  []*gpb.Update{upd(t, red+"/description", `"recreated"`)},
		Replace: []*gpb.Update{upd(t, red+"/ports", `{"port": [{"name": "g5-nic0", "host": "host-a", "mtu": 9000}, {"name": "g6-nic0", "host": "host-b"}]}`)},
		Delete:  []*gpb.Path{path(t, red+"/description")},
	})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := ts.get(t, red+"/description", gpb.GetRequest_CONFIG)
	if d != "recreated" {
		t.Errorf("description %v: update did not run after delete", d)
	}
	ports, _ := ts.get(t, red+"/ports/port[name=g5-nic0]", gpb.GetRequest_CONFIG)
	p := ports.(map[string]any)
	if p["mtu"] != float64(9000) {
		t.Errorf("replace did not set mtu: %v", p)
	}
	if _, kept := p["mac-address"]; kept {
		t.Errorf("replace kept a leaf its payload left out: %v", p)
	}
	// A leaf deleted falls back to its default.
	if _, err := ts.client.Set(ctx(t), &gpb.SetRequest{Delete: []*gpb.Path{path(t, red+"/ports/port[name=g5-nic0]/mtu")}}); err != nil {
		t.Fatal(err)
	}
	if mtu, _ := ts.get(t, red+"/ports/port[name=g5-nic0]/mtu", gpb.GetRequest_CONFIG); mtu != float64(1500) {
		t.Errorf("deleted mtu reads %v, want the default 1500", mtu)
	}
	// Deleting with a wildcard removes every match.
	if _, err := ts.client.Set(ctx(t), &gpb.SetRequest{Delete: []*gpb.Path{path(t, "/tenants/tenant[name=*]/vpns/vpn[name=*]/bindings/binding[interface=*]/preference")}}); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentSets runs many clients at once; every Set must land, with
// distinct, gap-free commit order, and the result must be as if serial.
func TestConcurrentSets(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	const clients, each = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				p := fmt.Sprintf("/tenants/tenant[name=blue]/ports/port[name=c%d-p%d]", c, i)
				_, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{
					upd(t, p, `{"host": "host-a"}`),
					upd(t, "/tenants/tenant[name=blue]/description", fmt.Sprintf(`"last writer c%d"`, c)),
				}})
				errs <- err
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	v, err := ts.get(t, "/tenants/tenant[name=blue]/ports", gpb.GetRequest_CONFIG)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(v.(map[string]any)["port"].([]any)); n != 4+clients*each {
		t.Fatalf("%d ports, want %d", n, 4+clients*each)
	}
	// Every acknowledged Set is one commit: survive a restart with all of them.
	ts = ts.restart(t)
	v, _ = ts.get(t, "/tenants/tenant[name=blue]/ports", gpb.GetRequest_CONFIG)
	if n := len(v.(map[string]any)["port"].([]any)); n != 4+clients*each {
		t.Fatalf("after restart %d ports, want %d", n, 4+clients*each)
	}
}

// TestPlaintextRefused: a client that does not speak TLS gets no service;
// there is no silent plaintext fallback.
func TestPlaintextRefused(t *testing.T) {
	ts := start(t, "")
	conn, err := grpc.NewClient(ts.d.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := gpb.NewGNMIClient(conn).Capabilities(c, &gpb.CapabilityRequest{}); err == nil {
		t.Fatal("a plaintext client was served")
	}
}
