package daemon_test

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmi/proto/gnmi_ext"

	"github.com/netready/netready/server/gnmipath"
)

// BenchmarkHistorySnapshot100k: a History snapshot (Subscribe ONCE) of a
// 100k-object configuration as it was 1,000 commits back, over gNMI/TLS.
// snapshot-ms subscribes to one port, so the cost is rebuilding the past
// tree (walking the log back and restoring the rows it touched), not
// sending it; live-ms is the same subscription without history, for
// comparison. snapshot-cpu-ms is the CPU time the process (server and
// client) spent per snapshot, which a loaded machine does not inflate.
// Target: snapshot <= 1 s.
func BenchmarkHistorySnapshot100k(b *testing.B) {
	ts := loaded(b)
	at := time.Now()
	for i := 0; i < 1000; i++ {
		req := &gpb.SetRequest{Update: []*gpb.Update{{
			Path: path(b, fmt.Sprintf("/tenants/tenant[name=load%d]/ports/port[name=p%d]/mtu", i%3, i)),
			Val:  &gpb.TypedValue{Value: &gpb.TypedValue_UintVal{UintVal: uint64(1500 + i)}},
		}}}
		if _, err := ts.client.Set(ctx(b), req); err != nil {
			b.Fatal(err)
		}
	}
	one := &gpb.SubscriptionList{Mode: gpb.SubscriptionList_ONCE, Encoding: gpb.Encoding_JSON_IETF,
		Subscription: []*gpb.Subscription{{Path: path(b, "/tenants/tenant[name=load0]/ports/port[name=p0]")}}}
	var snap, live, cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c0 := processCPU(b)
		snap += ts.onceTook(b, one, snapshotExt(at), `/tenants/tenant[name=load0]/ports/port[name=p0]/mtu=9000`)
		cpu += processCPU(b) - c0
		live += ts.onceTook(b, one, nil, `/tenants/tenant[name=load0]/ports/port[name=p0]/mtu=1500`)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(b.N) / 1e6 }
	b.ReportMetric(ms(snap), "snapshot-ms")
	b.ReportMetric(ms(live), "live-ms")
	b.ReportMetric(ms(cpu), "snapshot-cpu-ms")
}

// onceTook runs a ONCE subscription (with ext, if not nil) to its end and
// returns how long it took; want, if set, must be among its leaves.
func (ts *testServer) onceTook(b *testing.B, list *gpb.SubscriptionList, ext *gnmi_ext.Extension, want string) time.Duration {
	b.Helper()
	start := time.Now()
	stream, err := ts.client.Subscribe(ctx(b))
	if err != nil {
		b.Fatal(err)
	}
	req := &gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Subscribe{Subscribe: list}}
	if ext != nil {
		req.Extension = []*gnmi_ext.Extension{ext}
	}
	if err := stream.Send(req); err != nil {
		b.Fatal(err)
	}
	found := want == ""
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		for _, u := range r.GetUpdate().GetUpdate() {
			if !found && fmt.Sprintf("%s=%s", gnmipath.String(u.GetPath().GetElem()), u.GetVal().GetJsonIetfVal()) == want {
				found = true
			}
		}
	}
	took := time.Since(start)
	if !found {
		b.Fatalf("%s not in the snapshot", want)
	}
	return took
}

// processCPU is the CPU time (user and system) the process used so far.
func processCPU(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
