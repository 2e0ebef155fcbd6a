package daemon_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/southbound/linuxfwd/lab"
)

// BenchmarkRealizeOneBinding measures a Set that adds one bound interface
// (port, interface, binding) to the any-to-any scenario, from the request
// to its acknowledgement, which comes once both hosts' forwarders hold it.
func BenchmarkRealizeOneBinding(b *testing.B) {
	l := lab.New(b, lab.RandomPrefix(), map[string]netip.Addr{"host-a": hostA, "host-b": hostB})
	r := &realized{testServer: startWith(b, daemon.Config{Drivers: daemon.Drivers()}), lab: l}
	r.setRoot(b, r.labScenario(b, "any-to-any"))
	const tenant = "/tenants/tenant[name=blue]"
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("x%d", i)
		add := &gpb.SetRequest{Update: []*gpb.Update{
			{Path: path(b, tenant+"/ports/port[name="+name+"]"), Val: jsonIETF(`{"host": "host-a"}`)},
			{Path: path(b, tenant+"/interfaces/interface[name="+name+"]"), Val: jsonIETF(`{"type": "untagged", "port": "` + name + `"}`)},
			{Path: path(b, tenant+"/vpns/vpn[name=blue]/bindings/binding[interface="+name+"]"), Val: jsonIETF(fmt.Sprintf(`{"ip-address": ["10.1.1.%d"]}`, 100+i%100))},
		}}
		start := time.Now()
		if _, err := r.client.Set(ctx(b), add); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		del := &gpb.SetRequest{Delete: []*gpb.Path{
			path(b, tenant+"/vpns/vpn[name=blue]/bindings/binding[interface="+name+"]"),
			path(b, tenant+"/interfaces/interface[name="+name+"]"),
			path(b, tenant+"/ports/port[name="+name+"]"),
		}}
		if _, err := r.client.Set(ctx(b), del); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/set")
}

// BenchmarkRealize1000Bindings measures one Set of 1,000 bindings (10
// any-to-any VPNs of 100) over 4 hosts served by 2 backends, from the
// request to its acknowledgement, every forwarder programmed.
func BenchmarkRealize1000Bindings(b *testing.B) {
	hosts := map[string]netip.Addr{}
	for i := range 4 {
		hosts[fmt.Sprintf("h%d", i)] = netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
	}
	l := lab.New(b, lab.RandomPrefix(), hosts)
	r := &realized{testServer: startWith(b, daemon.Config{Drivers: daemon.Drivers()}), lab: l}
	infra := map[string]any{
		"netready-infrastructure:backends": map[string]any{"backend": []any{
			map[string]any{"name": "vendor-a", "driver": "linux-vforwarder", "option": []any{map[string]any{"name": "netns-prefix", "value": l.Prefix()}}},
			map[string]any{"name": "vendor-b", "driver": "linux-vforwarder", "option": []any{map[string]any{"name": "netns-prefix", "value": l.Prefix()}}},
		}},
		"netready-infrastructure:hosts": map[string]any{"host": []any{
			map[string]any{"name": "h0", "backend": "vendor-a", "address": "192.0.2.1"},
			map[string]any{"name": "h1", "backend": "vendor-a", "address": "192.0.2.2"},
			map[string]any{"name": "h2", "backend": "vendor-b", "address": "192.0.2.3"},
			map[string]any{"name": "h3", "backend": "vendor-b", "address": "192.0.2.4"},
		}},
	}
	r.setRoot(b, mustJSON(b, infra))
	tenant := thousandBindings()
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		r.setRoot(b, mustJSON(b, tenant))
		total += time.Since(start)
		b.StopTimer()
		if _, err := r.client.Set(ctx(b), &gpb.SetRequest{Delete: []*gpb.Path{path(b, "/tenants/tenant[name=t]"), path(b, "/route-targets")}}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/set")
}

// thousandBindings is tenant t with 10 VPNs of 100 bindings, each on its
// own port, spread over hosts h0..h3.
func thousandBindings() map[string]any { return manyBindings(10, 100) }

func mustJSON(b testing.TB, v any) []byte {
	out, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkSetOneLeafRealizing is BenchmarkSetOneLeaf with realization on
// (backends admin down, so the cost measured is the server's, not a
// forwarder's): "mtu" changes a leaf realization does not read, which the
// filter lets through untouched; "binding" takes a binding down and up
// again, which recomputes the forwarding state of all 30,000 bindings.
func BenchmarkSetOneLeafRealizing(b *testing.B) {
	ts := startWith(b, daemon.Config{Drivers: daemon.Drivers()})
	var doc map[string]any
	if err := json.Unmarshal(scenario(b, "any-to-any"), &doc); err != nil {
		b.Fatal(err)
	}
	for _, be := range doc["netready-infrastructure:backends"].(map[string]any)["backend"].([]any) {
		be.(map[string]any)["admin-state"] = "down"
	}
	ts.setRoot(b, mustJSON(b, doc))
	for t := 0; t*10_000*3 < benchObjects; t++ {
		ts.setTenant(b, fmt.Sprintf("load%d", t), 10_000)
	}
	for _, c := range []struct {
		name string
		req  func(i int) *gpb.SetRequest
	}{
		{"mtu", func(i int) *gpb.SetRequest {
			return &gpb.SetRequest{Update: []*gpb.Update{{
				Path: path(b, fmt.Sprintf("/tenants/tenant[name=load0]/ports/port[name=p%d]/mtu", i%1000)),
				Val:  &gpb.TypedValue{Value: &gpb.TypedValue_UintVal{UintVal: uint64(1500 + i%1000)}},
			}}}
		}},
		{"binding", func(i int) *gpb.SetRequest {
			state := [2]string{`"down"`, `"up"`}[i%2]
			return &gpb.SetRequest{Update: []*gpb.Update{{
				Path: path(b, "/tenants/tenant[name=load0]/vpns/vpn[name=v]/bindings/binding[interface=i1]/admin-state"),
				Val:  jsonIETF(state),
			}}}
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := 0; b.Loop(); i++ {
				t0 := time.Now()
				if _, err := ts.client.Set(ctx(b), c.req(i)); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			p50, p99 := percentiles(lat)
			b.ReportMetric(p50, "p50-ms")
			b.ReportMetric(p99, "p99-ms")
		})
	}
}
