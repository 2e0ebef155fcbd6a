package daemon_test

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
)

// benchObjects is the size of the loaded configuration: list entries
// (ports, interfaces and VPN bindings, a third each).
const benchObjects = 100_000

// bulkSet is the Set creating tenant as bulkDoc does, its VPN using route
// target 64512:rt owned by owner: the tenant itself, or the tenant that
// grants it (the load tenants share one route target, so every binding
// imports every other: the worst case for realization).
func bulkSet(b *testing.B, tenant string, rt int, owner string, n int) *gpb.SetRequest {
	rtPath, own := fmt.Sprintf("/route-targets/route-target[value=64512:%d]", rt), fmt.Sprintf(`{"owner":%q}`, owner)
	if owner != tenant {
		rtPath, own = rtPath+"/grant[tenant="+tenant+"]", `{"direction":"both"}`
	}
	return &gpb.SetRequest{Update: []*gpb.Update{
		{Path: path(b, "/tenants/tenant[name="+tenant+"]"), Val: jsonIETF(bulkDoc(tenant, rt, n))},
		{Path: path(b, rtPath), Val: jsonIETF(own)},
	}}
}

// bulkDoc returns a JSON_IETF tenant payload with n ports, n interfaces on
// them and n VPN bindings with distinct addresses: 3n objects; its VPN
// uses route target 64512:rt.
func bulkDoc(tenant string, rt, n int) string {
	var ports, ifaces, binds strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			ports.WriteByte(',')
			ifaces.WriteByte(',')
			binds.WriteByte(',')
		}
		fmt.Fprintf(&ports, `{"name":"p%d","host":"host-a","mtu":9000,"mac-address":"02:00:00:%02x:%02x:%02x"}`, i, i>>16&0xff, i>>8&0xff, i&0xff)
		fmt.Fprintf(&ifaces, `{"name":"i%d","type":"untagged","port":"p%d"}`, i, i)
		fmt.Fprintf(&binds, `{"interface":"i%d","ip-address":["10.%d.%d.%d"]}`, i, i>>16&0xff, i>>8&0xff, i&0xff)
	}
	return fmt.Sprintf(`{"name":%q,"ports":{"port":[%s]},"interfaces":{"interface":[%s]},
		"netready-l3vpn:vpns":{"vpn":[{"name":"v","route-target":[{"value":"64512:%d"}],"subnet":[{"prefix":"10.0.0.0/8"}],"bindings":{"binding":[%s]}}]}}`,
		tenant, ports.String(), ifaces.String(), rt, binds.String())
}

// loaded starts a server holding benchObjects objects.
func loaded(b *testing.B) *testServer {
	b.Helper()
	ts := start(b, "")
	ts.setRoot(b, scenario(b, "any-to-any"))
	per := 10_000
	for t := 0; t*per*3 < benchObjects; t++ {
		ts.setTenant(b, fmt.Sprintf("load%d", t), per)
	}
	return ts
}

// setTenant creates load tenant name with n objects; its VPN uses route
// target 64512:1, owned by load0 and granted to the others.
func (ts *testServer) setTenant(b *testing.B, name string, n int) {
	b.Helper()
	if _, err := ts.client.Set(ctx(b), bulkSet(b, name, 1, "load0", n)); err != nil {
		b.Fatal(err)
	}
}

// The -window.* flags profile only a benchmark's measured window (the
// benchmarks that call profileWindow): -cpuprofile and -memprofile would
// also count the set-up (loading 100k objects), which dwarfs the Sets.
var (
	windowCPU = flag.String("window.cpuprofile", "", "write a CPU profile of the measured window to `file`")
	windowMem = flag.String("window.memprofile", "", "write the allocations of the measured window to `file` and those before it to file.start (read with pprof -base file.start file)")
	// A trace shows where a Set's wall time goes (waiting for the
	// writer, the fsync, the other core), which a CPU profile does not.
	windowTrace = flag.String("window.trace", "", "write an execution trace of the measured window to `file`")
)

// profileWindow starts the profiles the -window.* flags ask for; they
// end when the function it returns is called (the end of the window) or,
// at the latest, when the benchmark ends.
func profileWindow(b *testing.B) (stop func()) {
	var ends []func()
	stop = sync.OnceFunc(func() {
		for _, end := range ends {
			end()
		}
	})
	b.Cleanup(stop)
	if *windowMem != "" {
		writeHeapProfile(b, *windowMem+".start")
		ends = append(ends, func() { writeHeapProfile(b, *windowMem) })
	}
	if *windowTrace != "" {
		ends = append(ends, startTrace(b, *windowTrace))
	}
	if *windowCPU == "" {
		return stop
	}
	f, err := os.Create(*windowCPU)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		b.Fatal(err)
	}
	ends = append([]func(){func() {
		pprof.StopCPUProfile()
		f.Close()
	}}, ends...)
	return stop
}

// startTrace starts an execution trace into name and returns what ends it.
func startTrace(b *testing.B, name string) (end func()) {
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		b.Fatal(err)
	}
	return func() {
		trace.Stop()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}

// writeHeapProfile writes the allocations so far (as of the last GC,
// which it runs) to name.
func writeHeapProfile(b *testing.B, name string) {
	runtime.GC()
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		b.Error(err)
	}
}

// cpuTime is the process's user and system CPU time so far. Client and
// server share the process, so CPU per Set counts both sides; on the
// shared machine it varies far less than wall time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time since start per Set, in µs.
func reportCPU(b *testing.B, start time.Duration, sets int) {
	b.ReportMetric(float64((cpuTime(b)-start).Microseconds())/float64(sets), "cpu-us/set")
}

func percentiles(d []time.Duration) (p50, p99 float64) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	ms := func(x time.Duration) float64 { return float64(x) / 1e6 }
	return ms(d[len(d)/2]), ms(d[len(d)*99/100])
}

// BenchmarkSetOneLeaf: one client, durable one-leaf Sets on a 100k-object
// tree. Target: p50 <= 3 ms.
func BenchmarkSetOneLeaf(b *testing.B) {
	ts := loaded(b)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	profileWindow(b)
	cpu := cpuTime(b)
	for i := 0; i < b.N; i++ {
		req := &gpb.SetRequest{Update: []*gpb.Update{{
			Path: path(b, fmt.Sprintf("/tenants/tenant[name=load0]/ports/port[name=p%d]/mtu", i%1000)),
			Val:  &gpb.TypedValue{Value: &gpb.TypedValue_UintVal{UintVal: uint64(1500 + i%1000)}},
		}}}
		t0 := time.Now()
		if _, err := ts.client.Set(ctx(b), req); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	reportCPU(b, cpu, b.N)
	p50, p99 := percentiles(lat)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
}

// BenchmarkSetConcurrent32: 32 clients writing one leaf each per Set;
// group commit shares fsyncs. Target: >= 5,000 Sets/s.
func BenchmarkSetConcurrent32(b *testing.B) {
	ts := loaded(b)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	profileWindow(b)
	gc := readGC()
	// Each client keeps its own latencies: a shared slice would make
	// the clients wait on one lock.
	lat := make([][]time.Duration, 32)
	t0, cpu := time.Now(), cpuTime(b)
	for c := 0; c < 32; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			p := path(b, fmt.Sprintf("/tenants/tenant[name=load0]/ports/port[name=p%d]/mtu", c))
			for next.Add(1) <= int64(b.N) {
				start := time.Now()
				_, err := ts.client.Set(ctx(b), &gpb.SetRequest{Update: []*gpb.Update{{
					Path: p, Val: &gpb.TypedValue{Value: &gpb.TypedValue_UintVal{UintVal: uint64(1500 + c)}},
				}}})
				if err != nil {
					b.Error(err)
					return
				}
				lat[c] = append(lat[c], time.Since(start))
			}
		}(c)
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "sets/s")
	p50, p99 := percentiles(slices.Concat(lat...))
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	reportCPU(b, cpu, b.N)
	reportGC(b, gc, b.N)
	reportHeapGoal(b)
}

// gcSamples are the collector's cycles and its CPU time (the runtime's
// estimate) so far.
type gcSamples [2]metrics.Sample

func readGC() gcSamples {
	s := gcSamples{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s[:])
	return s
}

// reportGC reports the collections per 1,000 Sets since start, which the
// machine's load does not change, and the collector's CPU per Set.
func reportGC(b *testing.B, start gcSamples, sets int) {
	end := readGC()
	b.ReportMetric(float64(end[0].Value.Uint64()-start[0].Value.Uint64())*1000/float64(sets), "gc/kset")
	b.ReportMetric((end[1].Value.Float64()-start[1].Value.Float64())*1e6/float64(sets), "gc-cpu-us/set")
}

// reportHeapGoal reports the heap size at which the collector runs next
// and the resident set: what the garbage collector's target
// (--gc-percent, GOGC) costs in memory with the tree loaded.
func reportHeapGoal(b *testing.B) {
	goal := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(goal)
	b.ReportMetric(float64(goal[0].Value.Uint64())/(1<<20), "heap-goal-MB")
	b.ReportMetric(rssMB(), "rss-MB")
}

// BenchmarkSetBulk10k: one Set creating 10,000 ports, 10,000 interfaces
// and 10,000 VPN bindings. Target: <= 1 s.
func BenchmarkSetBulk10k(b *testing.B) {
	ts := start(b, "")
	ts.setRoot(b, scenario(b, "any-to-any"))
	sets := make([]*gpb.SetRequest, b.N)
	for i := range sets {
		sets[i] = bulkSet(b, "bulk"+strconv.Itoa(i), 1000+i, "bulk"+strconv.Itoa(i), 10_000)
	}
	b.ResetTimer()
	profileWindow(b)
	t0, cpu := time.Now(), cpuTime(b)
	for i := 0; i < b.N; i++ {
		if _, err := ts.client.Set(ctx(b), sets[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(t0).Milliseconds())/float64(b.N), "ms/set")
	reportCPU(b, cpu, b.N)
}

// BenchmarkGetAll: Get of the whole 100k-object tree as JSON_IETF.
// Target: <= 1 s. Also reports the server's memory with that tree.
func BenchmarkGetAll(b *testing.B) {
	ts := loaded(b)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap, rss := float64(ms.HeapInuse)/(1<<20), rssMB()
	b.ResetTimer()
	t0 := time.Now()
	size := 0
	for i := 0; i < b.N; i++ {
		resp, err := ts.client.Get(ctx(b), &gpb.GetRequest{Path: []*gpb.Path{{}}, Encoding: gpb.Encoding_JSON_IETF})
		if err != nil {
			b.Fatal(err)
		}
		size = len(resp.GetNotification()[0].GetUpdate()[0].GetVal().GetJsonIetfVal())
	}
	b.ReportMetric(float64(time.Since(t0).Milliseconds())/float64(b.N), "ms/get")
	b.ReportMetric(float64(size)/(1<<20), "json-MB")
	b.ReportMetric(heap, "heap-MB")
	b.ReportMetric(rss, "rss-MB")
}

// rssMB is this process's resident set size (server and client together).
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
