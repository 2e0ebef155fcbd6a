package daemon_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/southbound/bgp/frrlab"
	"github.com/netready/netready/southbound/interconnect"
	"github.com/netready/netready/southbound/linuxfwd/lab"
)

// BenchmarkConnectionToFRR measures, for a Set that creates the
// connection to a remote site (a real FRR bgpd) on the realized
// any-to-any scenario, the time to its acknowledgement and until FRR holds
// every route over the new session (polled with vtysh); the connection is
// deleted, and FRR empty again, between iterations. It reports medians.
func BenchmarkConnectionToFRR(b *testing.B) {
	l := lab.New(b, lab.RandomPrefix(), map[string]netip.Addr{"host-a": hostA, "host-b": hostB})
	r := &realized{testServer: startWith(b, daemon.Config{Drivers: daemon.Drivers()}), lab: l}
	peer := frrlab.Start(b, remoteAS, siteAS)
	doc := withGeo(b, r.labScenario(b, "any-to-any"), peer.Local.String(), fmt.Sprint(peer.Port), peer.Local.String(), peer.Addr.String(), "")
	r.setRoot(b, doc)
	waitHolds(b, peer, "10.3.7.10/32", true)
	c := fmt.Sprintf(`{"local": {"site": "dc-b", "address": "%s"}, "remote": {"site": "dc-d", "address": "%s"}}`, peer.Local, peer.Addr)
	var acked, inFRR []time.Duration
	for b.Loop() {
		b.StopTimer()
		if _, err := r.client.Set(ctx(b), &gpb.SetRequest{Delete: []*gpb.Path{path(b, conn)}}); err != nil {
			b.Fatal(err)
		}
		waitHolds(b, peer, "10.3.7.10/32", false)
		b.StartTimer()
		start := time.Now()
		if _, err := r.client.Set(ctx(b), &gpb.SetRequest{Update: []*gpb.Update{{Path: path(b, conn), Val: jsonIETF(c)}}}); err != nil {
			b.Fatal(err)
		}
		acked = append(acked, time.Since(start))
		waitHolds(b, peer, "10.3.7.10/32", true)
		inFRR = append(inFRR, time.Since(start))
	}
	b.ReportMetric(median(acked), "ms/set-p50")
	b.ReportMetric(median(inFRR), "ms/routes-at-frr-p50")
}

// BenchmarkConnectionTunnelSet measures a Set that changes a vxlan
// connection's VNI: the tunnel at the gateway is replaced (the gateway's
// addresses read, the old device deleted, the new one created, joined to
// the bridge, isolated and brought up) before the Set is acknowledged.
func BenchmarkConnectionTunnelSet(b *testing.B) {
	l := lab.New(b, lab.RandomPrefix(), nil)
	gw := l.FabricNS()
	for _, args := range [][]string{
		{"link", "add", "wan0", "type", "veth", "peer", "name", "wan1"},
		{"addr", "add", "198.51.100.1/24", "dev", "wan0"},
		{"link", "set", "wan0", "up"},
	} {
		if out, err := l.IP(gw, args...); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
	ts := startWith(b, daemon.Config{Drivers: daemon.Drivers(), Gateway: interconnect.Gateway{Netns: gw, Bridge: "br0"}})
	ts.setRoot(b, withGeo(b, []byte("{}"), "127.0.0.1", "11791", "198.51.100.1", "198.51.100.2", `, "isolation": "vxlan", "segmentation-id": 9000`))
	var acked []time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := ts.client.Set(ctx(b), &gpb.SetRequest{Update: []*gpb.Update{upd(b, conn+"/segmentation-id", fmt.Sprint(9001+i%2))}}); err != nil {
			b.Fatal(err)
		}
		acked = append(acked, time.Since(start))
	}
	b.ReportMetric(median(acked), "ms/set-p50")
}
