package daemon_test

import (
	"fmt"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmi/proto/gnmi_ext"
)

// BenchmarkSetCommitConfirmed: one-leaf Sets on a 100k-object tree, a
// plain Set and a Set with a Commit request taking turns in the same run
// (the machine's load hits both alike); each commit-confirmed is then
// confirmed, untimed. Target: confirmed p50 <= 1.2x plain p50.
func BenchmarkSetCommitConfirmed(b *testing.B) {
	ts := loaded(b)
	plain := make([]time.Duration, 0, b.N)
	confirmed := make([]time.Duration, 0, b.N)
	set := func(i int, ext []*gnmi_ext.Extension) time.Duration {
		req := &gpb.SetRequest{Update: []*gpb.Update{{
			Path: path(b, fmt.Sprintf("/tenants/tenant[name=load0]/ports/port[name=p%d]/mtu", i%1000)),
			Val:  &gpb.TypedValue{Value: &gpb.TypedValue_UintVal{UintVal: uint64(1500 + i%1000)}},
		}}, Extension: ext}
		t0 := time.Now()
		if _, err := ts.client.Set(ctx(b), req); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("c%d", i)
		plain = append(plain, set(2*i, nil))
		confirmed = append(confirmed, set(2*i+1, commitExt(id, request(time.Hour))))
		b.StopTimer()
		if _, err := ts.client.Set(ctx(b), &gpb.SetRequest{Extension: commitExt(id, &gnmi_ext.CommitConfirm{})}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	p50, _ := percentiles(plain)
	c50, c99 := percentiles(confirmed)
	b.ReportMetric(p50, "plain-p50-ms")
	b.ReportMetric(c50, "confirmed-p50-ms")
	b.ReportMetric(c99, "confirmed-p99-ms")
	b.ReportMetric(c50/p50, "ratio-p50")
}
