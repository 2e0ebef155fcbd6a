package daemon_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
)

// rdList is a JSON array of n distinct route distinguishers.
func rdList(n int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%d:%d"`, 64512+i/65536, i%65536)
	}
	b.WriteByte(']')
	return b.String()
}

// BenchmarkSetLeafList: one Set of a VPN's route-distinguisher leaf-list
// of n values, what a tenant-admin may send to its own VPN. The cost must
// grow linearly with n (it was quadratic: 52 s of CPU for 100k values);
// past the model's max-elements the Set is refused, at the same linear
// cost. Reports ms per Set and ns per value.
func BenchmarkSetLeafList(b *testing.B) {
	for _, n := range []int{20_000, 100_000} {
		b.Run(fmt.Sprintf("values=%d", n), func(b *testing.B) {
			ts := start(b, "")
			ts.setRoot(b, scenario(b, "any-to-any"))
			req := &gpb.SetRequest{Update: []*gpb.Update{{
				Path: path(b, "/tenants/tenant[name=blue]/vpns/vpn[name=blue]/route-distinguisher"),
				Val:  jsonIETF(rdList(n)),
			}}}
			b.ResetTimer()
			t0 := time.Now()
			for i := 0; i < b.N; i++ {
				// Log the outcome once: accepted, or refused past max-elements.
				if _, err := ts.client.Set(ctx(b), req); i == 0 {
					b.Logf("%d values: %v", n, err)
				}
			}
			per := time.Since(t0) / time.Duration(b.N)
			b.ReportMetric(float64(per)/1e6, "ms/set")
			b.ReportMetric(float64(per)/float64(n), "ns/value")
		})
	}
}
