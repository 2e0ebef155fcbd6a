package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/cmd/netreadyd/daemon"
)

// BenchmarkSetOneLeafDropped compares a durable one-leaf Set on a module
// dropped into the models dir (a port of a firewall rule: a union leaf
// under a must) with the same Set on a compiled module (the mtu of a
// tenant port). Target: dropped within 2x of compiled.
func BenchmarkSetOneLeafDropped(b *testing.B) {
	dir := b.TempDir()
	src, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "models", "example-firewall.yang"))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "models"), 0o750); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "models", "example-firewall.yang"), src, 0o640); err != nil {
		b.Fatal(err)
	}
	ts := startWith(b, daemon.Config{DataDir: dir})
	ts.setRoot(b, scenario(b, "any-to-any"))
	ts.mustSet(b, &gpb.SetRequest{Update: []*gpb.Update{update(b, "/firewall/policy[name=web]", firewallPolicy)}})
	for _, c := range []struct {
		name, path string
		base       uint64
	}{
		{"compiled", "/tenants/tenant[name=blue]/ports/port[name=g1-nic0]/mtu", 1500},
		{"dropped", "/firewall/policy[name=web]/rule[seq=10]/port", 1000},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := path(b, c.path)
			lat := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				req := &gpb.SetRequest{Update: []*gpb.Update{{Path: p, Val: jsonIETF(fmt.Sprint(c.base + uint64(i%1000)))}}}
				t0 := time.Now()
				if _, err := ts.client.Set(ctx(b), req); err != nil {
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
