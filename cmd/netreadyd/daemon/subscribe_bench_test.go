package daemon_test

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
)

// Subscribe benchmarks against a real server (TLS on loopback, bbolt with
// fsync). Client and server share the process, so memory and goroutine
// figures include the client's side.

// loadMtuSets returns a Set request builder changing the mtu of ports
// p0..p(n-1) of tenant load0 to one value per iteration.
func loadMtuSets(b *testing.B, n int) func(v uint64) *gpb.SetRequest {
	return loadMtuSetsIn(b, "load0", n)
}

// loadMtuSetsIn is loadMtuSets for the ports of another tenant.
func loadMtuSetsIn(b *testing.B, tenant string, n int) func(v uint64) *gpb.SetRequest {
	return loadMtuSetsFrom(b, tenant, 0, n)
}

// loadMtuSetsFrom is loadMtuSetsIn for ports p(first)..p(first+n-1).
func loadMtuSetsFrom(b *testing.B, tenant string, first, n int) func(v uint64) *gpb.SetRequest {
	// One update carrying every port's new mtu: the usual shape of a bulk
	// change (gnmic --update-file), and the per-operation cost of 1,000
	// separate updates would measure Set parsing, not delivery.
	ports := path(b, "/tenants/tenant[name="+tenant+"]/ports")
	return func(v uint64) *gpb.SetRequest {
		var js strings.Builder
		js.WriteString(`{"port":[`)
		for i := first; i < first+n; i++ {
			if i > first {
				js.WriteByte(',')
			}
			fmt.Fprintf(&js, `{"name":"p%d","mtu":%d}`, i, v)
		}
		js.WriteString(`]}`)
		return &gpb.SetRequest{Update: []*gpb.Update{{Path: ports, Val: jsonIETF(js.String())}}}
	}
}

// loadCounter reads a synced stream in the background, counting the leaf
// updates it receives and how many of them carry the awaited value.
type loadCounter struct {
	updates atomic.Int64
	final   atomic.Int64 // updates whose value is want
	want    atomic.Value // []byte
	err     chan error
}

func loadCount(s *loadStream) *loadCounter {
	c := &loadCounter{err: make(chan error, 1)}
	c.want.Store([]byte(nil))
	go func() {
		for {
			r, err := s.Recv()
			if err != nil {
				c.err <- err
				return
			}
			ups := r.GetUpdate().GetUpdate()
			c.updates.Add(int64(len(ups)))
			want := c.want.Load().([]byte)
			for _, u := range ups {
				if bytes.Equal(u.GetVal().GetJsonIetfVal(), want) {
					c.final.Add(1)
				}
			}
		}
	}()
	return c
}

// loadOnChange runs b.N rounds of Sets of 1,000 mtu leaves each, one Set
// per writer and round (writer w, on its own connection, changes ports
// p(1000w)..p(1000w+999)), with subs ON_CHANGE subscribers (one
// connection each) on load0's ports, and reports the leaf updates all
// subscribers received per second, from the first Set to the last
// subscriber having the final values.
func loadOnChange(b *testing.B, subs, writers int) {
	const leaves = 1000
	ts := loaded(b)
	var counters []*loadCounter
	for i := 0; i < subs; i++ {
		s := loadSubscribe(b, gpb.NewGNMIClient(loadDial(b, ts)),
			loadList(b, gpb.SubscriptionMode_ON_CHANGE, false, "/tenants/tenant[name=load0]/ports"))
		if _, err := loadUntilSync(s); err != nil {
			b.Fatal(err)
		}
		counters = append(counters, loadCount(s))
	}
	clients := []gpb.GNMIClient{ts.client}
	for len(clients) < writers {
		clients = append(clients, gpb.NewGNMIClient(loadDial(b, ts)))
	}
	final := uint64(2000 + (b.N-1)%60000)
	for _, c := range counters {
		c.want.Store([]byte(strconv.FormatUint(final, 10)))
	}
	runtime.GC()
	b.ResetTimer()
	stop := profileWindow(b)
	t0, cpu := time.Now(), cpuTime(b)
	loadWrite(b, clients, leaves)
	setsDone := time.Since(t0)
	deadline := time.After(120 * time.Second)
	for _, c := range counters {
		for c.final.Load() < int64(writers*leaves) {
			select {
			case err := <-c.err:
				b.Fatalf("subscriber ended: %v", err)
			case <-deadline:
				b.Fatalf("subscriber has %d of %d final values", c.final.Load(), writers*leaves)
			case <-time.After(time.Millisecond):
			}
		}
	}
	elapsed := time.Since(t0)
	reportCPU(b, cpu, writers*b.N)
	b.StopTimer()
	stop()
	var got int64
	for _, c := range counters {
		got += c.updates.Load()
	}
	sets := int64(writers) * int64(b.N)
	b.ReportMetric(float64(got)/elapsed.Seconds(), "updates/s")
	b.ReportMetric(float64(got)/float64(int64(subs)*sets*leaves), "delivered-fraction")
	b.ReportMetric(float64(sets)/setsDone.Seconds(), "sets/s")
	// How long after the last Set the subscribers had its values: near 0
	// when delivery keeps up with the Sets (updates/s is then the Set rate).
	b.ReportMetric(float64((elapsed-setsDone).Microseconds())/1000, "drain-ms")
}

// loadWrite has every client send b.N Sets of its own leaves ports, the
// clients concurrently, each waiting for its answer before the next.
func loadWrite(b *testing.B, clients []gpb.GNMIClient, leaves int) {
	var wg sync.WaitGroup
	errs := make(chan error, len(clients))
	for w, c := range clients {
		set := loadMtuSetsFrom(b, "load0", w*leaves, leaves)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < b.N; i++ {
				if _, err := c.Set(ctx(b), set(uint64(2000+i%60000))); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// BenchmarkOnChangeOneStream: one ON_CHANGE subscriber, Sets of 1,000
// leaves from one client. Target: >= 70,000 updates/s (issue #10). The
// client waits for each Set's answer, so this measures the rate of
// 1,000-leaf Sets one client sends; the stream keeps up (drain-ms).
func BenchmarkOnChangeOneStream(b *testing.B) { loadOnChange(b, 1, 1) }

// BenchmarkOnChangeFourStreams: four subscribers, aggregate. Target:
// >= 150,000 updates/s.
func BenchmarkOnChangeFourStreams(b *testing.B) { loadOnChange(b, 4, 1) }

// BenchmarkOnChangeOneStreamFourWriters: one ON_CHANGE subscriber, four
// clients each sending Sets of its own 1,000 ports concurrently (an op is
// one Set of each): the stream's delivery when one client's Set latency
// is not the limit, the writer committing the clients' Sets in groups.
func BenchmarkOnChangeOneStreamFourWriters(b *testing.B) { loadOnChange(b, 1, 4) }

// BenchmarkInitialSync100k: Subscribe to one tenant of the 100k-object
// tree (10,000 ports, interfaces and VPN bindings: about 190,000 leaves)
// until sync_response. Target: <= 1 s.
func BenchmarkInitialSync100k(b *testing.B) {
	ts := loaded(b)
	leaves := 0
	runtime.GC()
	b.ResetTimer()
	t0 := time.Now()
	for i := 0; i < b.N; i++ {
		s := loadSubscribe(b, ts.client, loadList(b, gpb.SubscriptionMode_ON_CHANGE, false, "/tenants/tenant[name=load0]"))
		n, err := loadUntilSync(s)
		if err != nil {
			b.Fatal(err)
		}
		s.cancel()
		leaves = n
	}
	b.ReportMetric(float64(time.Since(t0).Milliseconds())/float64(b.N), "ms/sync")
	b.ReportMetric(float64(leaves), "leaves")
	if leaves < 100_000 {
		b.Fatalf("the dump holds %d leaves, want >= 100,000", leaves)
	}
}

// loadHeap is HeapInuse after a full collection.
func loadHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// loadTelemetryGoroutines counts goroutines running server-side
// subscription code.
func loadTelemetryGoroutines() int {
	buf := make([]byte, 64<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "netready/server/telemetry.") {
			n++
		}
	}
	return n
}

// BenchmarkIdleSubscriberMemory: 1,000 idle STREAM subscriptions (after
// sync) over 10 connections: heap and goroutines per subscriber.
func BenchmarkIdleSubscriberMemory(b *testing.B) {
	const subs, conns = 1000, 10
	ts := start(b, "")
	ts.setRoot(b, scenario(b, "any-to-any"))
	var kb, gor, srvGor float64
	for it := 0; it < b.N; it++ {
		var cs []*grpc.ClientConn
		var clients []gpb.GNMIClient
		for i := 0; i < conns; i++ {
			c := loadDial(b, ts)
			cs = append(cs, c)
			clients = append(clients, gpb.NewGNMIClient(c))
		}
		// Connections first, so that their cost is not counted.
		for _, c := range clients {
			if _, err := c.Capabilities(ctx(b), &gpb.CapabilityRequest{}); err != nil {
				b.Fatal(err)
			}
		}
		heap0, g0, t0 := loadHeap(), runtime.NumGoroutine(), loadTelemetryGoroutines()
		streams := make([]*loadStream, subs)
		var wg sync.WaitGroup
		var failed atomic.Int64
		for i := range streams {
			streams[i] = loadSubscribe(b, clients[i%conns], loadList(b, gpb.SubscriptionMode_ON_CHANGE, false, "/tenants"))
			wg.Add(1)
			go func(s *loadStream) {
				defer wg.Done()
				if _, err := loadUntilSync(s); err != nil {
					failed.Add(1)
				}
			}(streams[i])
		}
		wg.Wait()
		if failed.Load() > 0 {
			b.Fatalf("%d subscriptions failed", failed.Load())
		}
		heap1, g1, t1 := loadHeap(), runtime.NumGoroutine(), loadTelemetryGoroutines()
		kb += float64(int64(heap1)-int64(heap0)) / 1024 / subs
		gor += float64(g1-g0) / subs
		srvGor += float64(t1-t0) / subs
		for _, s := range streams {
			s.cancel()
		}
		for _, c := range cs {
			c.Close()
		}
		loadWaitSubscriptions(b, ts, 0)
	}
	b.ReportMetric(kb/float64(b.N), "KB/sub")
	b.ReportMetric(gor/float64(b.N), "goroutines/sub")
	b.ReportMetric(srvGor/float64(b.N), "server-goroutines/sub")
}

// BenchmarkSetLatencyWithStalledSubscriber: one-leaf Sets on the
// 100k-object tree, as BenchmarkSetOneLeaf, while a subscriber to those
// leaves never reads. Target: the same p50/p99 as BenchmarkSetOneLeaf.
func BenchmarkSetLatencyWithStalledSubscriber(b *testing.B) {
	ts := loaded(b)
	stalled := loadSubscribe(b, gpb.NewGNMIClient(loadStalledDial(b, ts)),
		loadList(b, gpb.SubscriptionMode_ON_CHANGE, true, "/tenants/tenant[name=load0]/ports"))
	_ = stalled // never read
	loadWaitSubscriptions(b, ts, 1)
	paths := make([]*gpb.Path, 1000)
	for i := range paths {
		paths[i] = path(b, fmt.Sprintf("/tenants/tenant[name=load0]/ports/port[name=p%d]/mtu", i))
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := &gpb.SetRequest{Update: []*gpb.Update{{
			Path: paths[i%1000],
			Val:  &gpb.TypedValue{Value: &gpb.TypedValue_UintVal{UintVal: uint64(1500 + i%1000)}},
		}}}
		t0 := time.Now()
		if _, err := ts.client.Set(ctx(b), req); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	p50, p99 := percentiles(lat)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
}
