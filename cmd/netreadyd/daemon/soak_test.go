package daemon_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/cmd/netreadyd/daemon"
)

// soakHosts is how many hosts the soak's writers take turns on.
const soakHosts = 20

// soakServer runs a server with short logs (so that warm-up fills them),
// holding soakHosts hosts, and a subscriber to them that never reads.
func soakServer(t testing.TB) *testServer {
	t.Helper()
	ts := startWith(t, daemon.Config{Retention: 100, AuditRetention: 100})
	hosts := make([]string, soakHosts)
	for i := range hosts {
		hosts[i] = fmt.Sprintf(`{"name":"h%d","backend":"b","address":"192.0.2.%d"}`, i, i+1)
	}
	ts.setRoot(t, []byte(`{"netready-infrastructure:backends":{"backend":[{"name":"b","driver":"linux-vforwarder"}]},
		"netready-infrastructure:hosts":{"host":[`+strings.Join(hosts, ",")+`]}}`))
	loadSubscribe(t, gpb.NewGNMIClient(loadStalledDial(t, ts)), loadList(t, gpb.SubscriptionMode_ON_CHANGE, true, "/hosts"))
	loadWaitSubscriptions(t, ts, 1)
	return ts
}

// soakPad lengthens descriptions so that the stalled subscriber's flow
// control window fills early in the warm-up, leaving its queue the only
// thing that grows until it merges (after 256 notifications).
var soakPad = strings.Repeat("x", 1000)

// soak runs n Sets from 8 writers: host descriptions, and one in seven a
// refused address (audited as invalid).
func soak(t testing.TB, ts *testServer, n int) {
	t.Helper()
	c, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				host := fmt.Sprintf("/hosts/host[name=h%d]", i%soakHosts)
				u := &gpb.Update{Path: path(t, host+"/description"), Val: &gpb.TypedValue{Value: &gpb.TypedValue_StringVal{StringVal: fmt.Sprintf("set %d %s", i, soakPad)}}}
				if i%7 == 6 {
					u = &gpb.Update{Path: path(t, host+"/address"), Val: &gpb.TypedValue{Value: &gpb.TypedValue_StringVal{StringVal: "not-an-address"}}}
				}
				_, err := ts.client.Set(c, &gpb.SetRequest{Update: []*gpb.Update{u}})
				if (i%7 == 6) != (status.Code(err) == codes.InvalidArgument) {
					t.Errorf("set %d: %v", i, err)
					cancel()
					return
				}
			}
		}(w)
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// retainedPerSet runs warm Sets, then n more, and returns the growth of the
// live heap per Set over the n.
func retainedPerSet(t testing.TB, ts *testServer, warm, n int) float64 {
	soak(t, ts, warm)
	before := liveHeap()
	soak(t, ts, n)
	return float64(int64(liveHeap())-int64(before)) / float64(n)
}

// liveHeap is the heap in use after full collections (the server runs in
// this process): two, so that sync.Pool caches are empty too.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestSoakMemoryPerSet: once the commit and audit logs are full, Sets do
// not grow the server's heap. Every version of an edited list used to keep
// the one before it (about 8 KiB per Set here, 23 KiB with the stalled
// subscriber).
func TestSoakMemoryPerSet(t *testing.T) {
	ts := soakServer(t)
	const limit = 512
	per := retainedPerSet(t, ts, 500, 1000)
	if per > limit {
		t.Fatalf("the heap grew by %.0f B per Set (limit %d)", per, limit)
	}
	t.Logf("%.0f B per Set retained", per)
}

// BenchmarkSetRetained: heap kept per Set by the server in the soak of
// TestSoakMemoryPerSet (b.N Sets after 500 of warm-up).
func BenchmarkSetRetained(b *testing.B) {
	ts := soakServer(b)
	b.ResetTimer()
	b.ReportMetric(retainedPerSet(b, ts, 500, b.N), "B/Set-retained")
}
