package daemon_test

import (
	"fmt"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/server/gnmiserver"
)

// BenchmarkDryRunBinding100k: a dry run of taking one binding down or up
// on a 100k-object configuration realized by two (recording) forwarders.
// The plan computes the whole network from scratch (the incremental
// state belongs to real Sets), so this is what a dry run holds the writer
// for; set-ms is the real Set of the same change, for comparison.
func BenchmarkDryRunBinding100k(b *testing.B) {
	rec := &recorder{}
	ts := startWith(b, daemon.Config{Drivers: rec.registry()})
	ts.setRoot(b, scenario(b, "any-to-any"))
	for t := 0; t*10_000*3 < benchObjects; t++ {
		ts.setTenant(b, fmt.Sprintf("load%d", t), 10_000)
	}
	req := func(i int, dry bool) *gpb.SetRequest {
		r := &gpb.SetRequest{Update: []*gpb.Update{{
			Path: path(b, "/tenants/tenant[name=load0]/vpns/vpn[name=v]/bindings/binding[interface=i1]/admin-state"),
			Val:  jsonIETF([2]string{`"down"`, `"up"`}[i%2]),
		}}}
		if dry {
			r.Prefix = &gpb.Path{Target: gnmiserver.DryRunTarget}
		}
		return r
	}
	var dry, set []time.Duration
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		resp, err := ts.client.Set(ctx(b), req(i, true))
		if err != nil {
			b.Fatal(err)
		}
		dry = append(dry, time.Since(t0))
		if len(resp.GetExtension()) != 1 {
			b.Fatal("no dry-run result")
		}
		t0 = time.Now()
		if _, err := ts.client.Set(ctx(b), req(i, false)); err != nil {
			b.Fatal(err)
		}
		set = append(set, time.Since(t0))
		rec.take()
	}
	p50, _ := percentiles(dry)
	s50, _ := percentiles(set)
	b.ReportMetric(p50, "dry-run-p50-ms")
	b.ReportMetric(s50, "set-p50-ms")
}
