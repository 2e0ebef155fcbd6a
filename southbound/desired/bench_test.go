package desired_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound/desired"
	"github.com/netready/netready/southbound/routing"
	netreadyyang "github.com/netready/netready/yang"
)

// loadTenant is the server benchmarks' bulk tenant (server/daemon
// bulkDoc): n ports on host-a, n interfaces on them, and one any-to-any
// VPN "v" with a binding on each, here with the tenant's own route target.
func loadTenant(name string, rt, n int) string {
	var ports, ifaces, binds []string
	for i := range n {
		ports = append(ports, fmt.Sprintf(`{"name":"p%d","host":"host-a","mtu":9000}`, i))
		ifaces = append(ifaces, fmt.Sprintf(`{"name":"i%d","type":"untagged","port":"p%d"}`, i, i))
		binds = append(binds, fmt.Sprintf(`{"interface":"i%d","ip-address":["10.%d.%d.%d"]}`, i, i>>16&0xff, i>>8&0xff, i&0xff))
	}
	return fmt.Sprintf(`{"netready-tenants:tenants":{"tenant":[{"name":%q,"ports":{"port":[%s]},"interfaces":{"interface":[%s]},
		"netready-l3vpn:vpns":{"vpn":[{"name":"v","route-target":[{"value":"64512:%d"}],"bindings":{"binding":[%s]}}]}}]}}`,
		name, strings.Join(ports, ","), strings.Join(ifaces, ","), rt, strings.Join(binds, ","))
}

// BenchmarkFlip30kIndex: the realization side of a one-leaf Set on the
// server benchmarks' tree (the any-to-any scenario and 3 tenants × 10,000
// ports, interfaces and bindings, own route targets): load0's first
// binding's admin-state flips; Index.Update, Model and Incremental.Apply
// are measured (the transaction that makes the tree is not).
func BenchmarkFlip30kIndex(b *testing.B) {
	sch, root := load30k(b)
	ix, err := desired.NewIndex(root)
	if err != nil {
		b.Fatal(err)
	}
	x := routing.Options{}.NewIncremental(ix.Model(), routing.Assignments{})
	flip := `{"netready-tenants:tenants":{"tenant":[{"name":"load0","netready-l3vpn:vpns":{"vpn":[{"name":"v","bindings":{"binding":[{"interface":"i0","admin-state":%q}]}}]}}]}}`
	var wall, cpu time.Duration
	n := 0
	runtime.GC() // the set-up's garbage is not the change's cost
	for b.Loop() {
		b.StopTimer()
		root = mergeDocs(b, sch, root, fmt.Sprintf(flip, []string{"down", "up"}[n%2]))
		b.StartTimer()
		t0, c0 := time.Now(), cpuTime()
		touched, err := ix.Update(root)
		if err != nil {
			b.Fatal(err)
		}
		x.Apply(ix.Model(), touched)
		wall, cpu = wall+time.Since(t0), cpu+cpuTime()-c0
		n++
	}
	b.ReportMetric(float64(wall.Microseconds())/1000/float64(n), "ms/op")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "cpu-ms/op")
}

// BenchmarkRead30k: the full read of the same tree, as at start and
// after a lost commit (NewIndex, then Model), and the placements the
// status writer reads per tenant (Ports, Interfaces).
func BenchmarkRead30k(b *testing.B) {
	_, root := load30k(b)
	tenants := root.ChildByName("tenants").ChildByName("tenant")
	var wall, cpu time.Duration
	n := 0
	runtime.GC()
	for b.Loop() {
		t0, c0 := time.Now(), cpuTime()
		ix, err := desired.NewIndex(root)
		if err != nil {
			b.Fatal(err)
		}
		_ = ix.Model()
		tenants.Entries(func(t *tree.Node) bool {
			_, _ = desired.Ports(t), desired.Interfaces(t)
			return true
		})
		wall, cpu = wall+time.Since(t0), cpu+cpuTime()-c0
		n++
	}
	b.ReportMetric(float64(wall.Microseconds())/1000/float64(n), "ms/op")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "cpu-ms/op")
}

// load30k builds the benchmarks' tree: the any-to-any scenario and 3
// tenants × 10,000 ports, interfaces and bindings.
func load30k(b *testing.B) (*schema.Schema, *tree.Node) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		b.Fatal(err)
	}
	scenario, err := os.ReadFile(filepath.Join("..", "..", "testdata", "scenarios", "any-to-any.json"))
	if err != nil {
		b.Fatal(err)
	}
	docs := []string{string(scenario)}
	for t := range 3 {
		docs = append(docs, loadTenant(fmt.Sprintf("load%d", t), t+1, 10000))
	}
	return sch, mergeDocs(b, sch, tree.NewRoot(sch), docs...)
}

func mergeDocs(b *testing.B, sch *schema.Schema, root *tree.Node, docs ...string) *tree.Node {
	txn := tree.Begin(root)
	for _, d := range docs {
		p, err := tree.DecodeRootJSON(sch.Root, []byte(d), true)
		if err != nil {
			b.Fatal(err)
		}
		if err := txn.Merge(nil, p); err != nil {
			b.Fatal(err)
		}
	}
	return txn.Root()
}

// cpuTime returns the CPU time the process used so far (user and system):
// steadier than wall time on a shared machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkVPNIPv6Walk10k: the capability check's walk over a VPN a Set
// changed (realize's refuseIPv6, when some host is on a backend without
// IPv6): VPNIPv6 on load0's VPN of 10,000 IPv4 bindings, the worst case
// (no IPv6 address, so every binding is read).
func BenchmarkVPNIPv6Walk10k(b *testing.B) {
	_, root := load30k(b)
	var tn *tree.Node
	root.ChildByName("tenants").ChildByName("tenant").Entries(func(t *tree.Node) bool {
		if t.Key() == "load0" {
			tn = t
		}
		return tn == nil
	})
	runtime.GC()
	n := 0
	t0 := time.Now()
	for b.Loop() {
		if _, _, ok := desired.VPNIPv6(tn, "v"); ok {
			b.Fatal("load0's VPN has no IPv6 address")
		}
		n++
	}
	b.ReportMetric(float64(time.Since(t0).Microseconds())/1000/float64(n), "ms/op")
}
