package schema_test

import (
	"strings"
	"testing"
	"time"

	"github.com/netready/netready/server/schema"
	netreadyyang "github.com/netready/netready/yang"
)

// l3vpnCopy is netready-l3vpn renamed into a module of its own (its own
// name, namespace and prefix; its augment adds bench-vpns beside vpns):
// a dropped-in module the size of the largest service module.
func l3vpnCopy(t testing.TB) schema.Source {
	b, err := netreadyyang.Files.ReadFile("netready-l3vpn.yang")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer(
		"module netready-l3vpn", "module bench-l3vpn",
		"urn:netready:yang:netready-l3vpn", "urn:bench:l3vpn",
		"prefix nrl3;", "prefix bl3;",
		"nrl3:", "bl3:",
		"vpns", "bench-vpns",
	).Replace(string(b))
	return schema.Source{Name: "bench-l3vpn.yang", Content: s}
}

// BenchmarkLoadDroppedModule is the load (or reload) time of the schema
// with one dropped-in module the size of netready-l3vpn: the built-in
// modules plus that one, as a reload builds it (LoadWithModels loads the
// built-in modules alone first, then with the module). builtin-ms is the
// time of one load of the built-in modules alone.
func BenchmarkLoadDroppedModule(b *testing.B) {
	builtin, err := schema.ReadSources(netreadyyang.Files)
	if err != nil {
		b.Fatal(err)
	}
	extra := []schema.Source{l3vpnCopy(b)}
	_, st, err := schema.LoadWithModels(builtin, extra)
	if err != nil || !st[0].Loaded {
		b.Fatalf("load: %v %+v", err, st)
	}
	start := time.Now()
	const n = 20
	for i := 0; i < n; i++ {
		if _, err := schema.Load(builtin); err != nil {
			b.Fatal(err)
		}
	}
	base := time.Since(start) / n
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := schema.LoadWithModels(builtin, extra); err != nil {
			b.Fatal(err)
		}
	}
	per := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(per)/1e6, "load-ms")
	b.ReportMetric(float64(base)/1e6, "builtin-ms")
}
