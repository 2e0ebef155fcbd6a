package tree

import (
	"fmt"
	"strings"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
)

// portsPayload is a bulk Set of n ports' mtu, the shape of the ON_CHANGE
// benchmark's Sets (cmd/netreadyd/daemon, loadMtuSets).
func portsPayload(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"port":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"p%d","mtu":%d}`, i, 2000+i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// TestDecodePortsCost pins what decoding a 1,000-port Update payload
// costs per entry. Parsed into maps first and given its defaults (two
// leaves and a status container of two more), an entry cost 17
// allocations and 1,430 bytes; read straight into nodes without defaults,
// what is left (9.2 and 470) is the entry's nodes, its key and value,
// their JSON values and the B-tree; its path is built only for an error.
func TestDecodePortsCost(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	const n = 1000
	sch := nrsch(t)
	p := path(t, sch, "/tenants/tenant[name=a]/ports")
	data := portsPayload(n)
	tv := &gpb.TypedValue{Value: &gpb.TypedValue_JsonIetfVal{JsonIetfVal: data}}
	decode := func() {
		if _, err := DecodeTypedForMerge(p, tv); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(5, decode) / n
	res := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			decode()
		}
	})
	bytes := float64(res.AllocedBytesPerOp()) / n
	t.Logf("per entry: %.1f allocations, %.0f bytes", allocs, bytes)
	if allocs > 10 || bytes > 520 {
		t.Errorf("decoding a port entry allocates %.1f times, %.0f bytes; want at most 10 and 520", allocs, bytes)
	}
}

// TestRowsOfCostPerRow: the rows of 1,000 ports whose mtu a Set changed
// cost their key and their two encodings (old and new) each; gathering
// and comparing the ports' own leaves allocated four slices more per port
// before (7.03 allocations per row).
func TestRowsOfCostPerRow(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	const n = 1000
	sch := nrsch(t)
	p := path(t, sch, "/tenants/tenant[name=a]/ports")
	base := Begin(NewRoot(sch))
	// Ports with a few more leaves, like the benchmark's.
	ports := strings.ReplaceAll(string(portsPayload(n)), `{"name"`, `{"description":"d","instance":"vm","name"`)
	if err := base.Merge(p, decodeAt(t, p, ports)); err != nil {
		t.Fatal(err)
	}
	old := base.Root()
	upd := strings.ReplaceAll(string(portsPayload(n)), `"mtu":2`, `"mtu":3`)
	txn := Begin(old)
	if err := txn.Merge(p, decodeAt(t, p, upd)); err != nil {
		t.Fatal(err)
	}
	cur := txn.Root()
	var rows []RowChange
	allocs := testing.AllocsPerRun(5, func() {
		rows = RowsOf(func(fn DiffFunc) { Diff(old, cur, fn) })
	})
	if len(rows) != n {
		t.Fatalf("%d rows, want %d", len(rows), n)
	}
	t.Logf("%.2f allocations per row", allocs/n)
	if perRow := allocs / n; perRow > 3.2 {
		t.Errorf("RowsOf allocates %.2f times per changed row, want at most 3.2 (key, old and new row)", perRow)
	}
}

// BenchmarkDecodePorts decodes a 1,000-port Update payload (the ON_CHANGE
// benchmark's Set) with the map decoder it replaced (the test's oracle),
// DecodeJSON, and DecodeTypedForMerge, as a Set's Update does.
func BenchmarkDecodePorts(b *testing.B) {
	sch := nrsch(b)
	p := path(b, sch, "/tenants/tenant[name=a]/ports")
	data := portsPayload(1000)
	tv := &gpb.TypedValue{Value: &gpb.TypedValue_JsonIetfVal{JsonIetfVal: data}}
	for _, c := range []struct {
		name   string
		decode func() (*Node, error)
	}{
		{"maps", func() (*Node, error) { return mapDecodeJSON(p, data, true) }},
		{"reader", func() (*Node, error) { return DecodeJSON(p, data, true) }},
		{"reader-for-merge", func() (*Node, error) { return DecodeTypedForMerge(p, tv) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.decode(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
