package daemon_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/southbound/bgp/frrlab"
	"github.com/netready/netready/southbound/linuxfwd/lab"
)

// BenchmarkBGPOneBindingToFRR measures, for a Set that adds one bound
// interface to the realized any-to-any scenario, the time from the
// request to its acknowledgement (both forwarders programmed, the route
// handed to the speaker), to the UPDATE's arrival at a real FRR bgpd
// (bgpd's debug log, microsecond timestamps), and to the route being in
// bgpd's VPNv4 table (polled with vtysh). It reports medians.
func BenchmarkBGPOneBindingToFRR(b *testing.B) {
	l := lab.New(b, lab.RandomPrefix(), map[string]netip.Addr{"host-a": hostA, "host-b": hostB})
	r := &realized{testServer: startWith(b, daemon.Config{Drivers: daemon.Drivers()}), lab: l}
	peer := frrlab.Start(b, testAS, testAS)
	r.setRoot(b, withBGP(b, r.labScenario(b, "any-to-any"), peer))
	waitHolds(b, peer, "10.3.7.10/32", true)
	const tenant = "/tenants/tenant[name=blue]"
	var acked, received, inFRR []time.Duration
	for i := 0; b.Loop(); i++ {
		name, prefix := fmt.Sprintf("x%d", i), fmt.Sprintf("10.1.1.%d/32", 100+i%100)
		add := &gpb.SetRequest{Update: []*gpb.Update{
			{Path: path(b, tenant+"/ports/port[name="+name+"]"), Val: jsonIETF(`{"host": "host-a"}`)},
			{Path: path(b, tenant+"/interfaces/interface[name="+name+"]"), Val: jsonIETF(`{"type": "untagged", "port": "` + name + `"}`)},
			{Path: path(b, tenant+"/vpns/vpn[name=blue]/bindings/binding[interface="+name+"]"), Val: jsonIETF(fmt.Sprintf(`{"ip-address": ["%s"]}`, prefix[:len(prefix)-3]))},
		}}
		start := time.Now()
		if _, err := r.client.Set(ctx(b), add); err != nil {
			b.Fatal(err)
		}
		acked = append(acked, time.Since(start))
		waitHolds(b, peer, prefix, true)
		inFRR = append(inFRR, time.Since(start))
		at, ok := peer.ReceivedAt(prefix)
		if !ok {
			b.Fatalf("bgpd's log has no UPDATE for %s", prefix)
		}
		received = append(received, at.Sub(start))
		b.StopTimer()
		del := &gpb.SetRequest{Delete: []*gpb.Path{
			path(b, tenant+"/vpns/vpn[name=blue]/bindings/binding[interface="+name+"]"),
			path(b, tenant+"/interfaces/interface[name="+name+"]"),
			path(b, tenant+"/ports/port[name="+name+"]"),
		}}
		if _, err := r.client.Set(ctx(b), del); err != nil {
			b.Fatal(err)
		}
		waitHolds(b, peer, prefix, false)
		b.StartTimer()
	}
	b.ReportMetric(median(acked), "ms/set-p50")
	b.ReportMetric(median(received), "ms/update-at-frr-p50")
	b.ReportMetric(median(inFRR), "ms/in-frr-p50")
}

// waitHolds polls peer until it holds prefix (or no longer does).
func waitHolds(b *testing.B, peer *frrlab.BGPD, prefix string, want bool) {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := peer.Holds(prefix)
		if err != nil {
			b.Fatal(err)
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("FRR holds %s = %v after 30s\n%s", prefix, got, peer.Log())
		}
		time.Sleep(time.Millisecond)
	}
}

func median(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[len(s)/2].Microseconds()) / 1000
}
