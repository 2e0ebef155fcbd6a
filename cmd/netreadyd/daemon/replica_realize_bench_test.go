package daemon_test

import (
	"net/netip"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/store/etcdstore/etcdtest"
	"github.com/netready/netready/southbound/linuxfwd/lab"
)

// BenchmarkFailoverReconciled measures a take-over up to the backends
// reconciled: two replicas on one lab, the route to a guest removed by
// hand, the leader deposed (its lease revoked, as when it is cut off);
// each iteration is from the revocation until the new leader's
// reconciliation has put the route back in the kernel.
func BenchmarkFailoverReconciled(b *testing.B) {
	l := lab.New(b, lab.RandomPrefix(), map[string]netip.Addr{"host-a": hostA, "host-b": hostB})
	c := etcdtest.Start(b, 3)
	cli := c.Client(b)
	first := startRealizingReplica(b, c, l, "a")
	doc := first.labScenario(b, "any-to-any")
	untilLeads(b, first.testServer, &gpb.SetRequest{Update: []*gpb.Update{{Path: &gpb.Path{}, Val: jsonIETF(string(doc))}}})
	second := startRealizingReplica(b, c, l, "b")
	untilSame(b, second.testServer, first.config(b))
	ns := vrfWithRoute(b, first.realized, "host-a", "10.1.1.6")
	var total time.Duration
	for b.Loop() {
		if out, err := l.IP(ns, "route", "del", "10.1.1.6/32"); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		start := time.Now()
		depose(b, cli)
		total += untilRoute(b, l, ns, "10.1.1.6").Sub(start)
		b.StopTimer()
		untilHandedOver(b, first, second)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/failover")
}

// untilHandedOver waits until one of x and y holds both drivers and the
// other none: the deposed leader closed its own.
func untilHandedOver(t testing.TB, x, y *realizingReplica) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		nx, ny := x.drivers.open.Load(), y.drivers.open.Load()
		if nx+ny == 2 && nx*ny == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("drivers open: %d and %d", nx, ny)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
