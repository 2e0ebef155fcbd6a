package daemon_test

// Scale of the BGP speaker: a cold start announcing 10,000 bindings to a
// real FRR, and one-leaf Sets while a peer floods 100,000 VPN routes.
// Both run on forwarders that hold nothing (nullForwarder): what is
// measured is the server and its speaker, not the kernel (the Linux
// vForwarder's own benchmarks measure that).

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/bgp/frrlab"
	"github.com/netready/netready/southbound/routing"
)

// nullForwarder accepts every change and holds nothing.
type nullForwarder struct{}

func (nullForwarder) Close() error                                  { return nil }
func (nullForwarder) Apply(context.Context, []routing.Change) error { return nil }
func (nullForwarder) Reconcile(context.Context, []*routing.HostView) ([]string, error) {
	return nil, nil
}

func nullDrivers() southbound.Registry {
	return southbound.Registry{"linux-vforwarder": {Caps: southbound.Capabilities{Forwarding: true}, Open: func(context.Context, southbound.Backend) (southbound.Driver, error) {
		return nullForwarder{}, nil
	}}}
}

// BenchmarkBGPColdStart10k: 10,000 bindings in 100 VPNs on 4 hosts are
// stored with /bgp peering with a real FRR; each iteration starts
// netreadyd on that store and measures the time until FRR holds all
// 10,000 routes, and the process's resident memory then.
func BenchmarkBGPColdStart10k(b *testing.B) {
	peer := frrlab.Start(b, testAS, testAS)
	ts := startWith(b, daemon.Config{Drivers: nullDrivers()})
	doc := manyBindings(100, 100)
	doc["netready-infrastructure:backends"] = map[string]any{"backend": []any{
		map[string]any{"name": "vendor-a", "driver": "linux-vforwarder"}, map[string]any{"name": "vendor-b", "driver": "linux-vforwarder"},
	}}
	var hosts []any
	for i := range 4 {
		hosts = append(hosts, map[string]any{"name": fmt.Sprintf("h%d", i), "backend": []string{"vendor-a", "vendor-b"}[i/2], "address": fmt.Sprintf("192.0.2.%d", i+1)})
	}
	doc["netready-infrastructure:hosts"] = map[string]any{"host": hosts}
	var bgpDoc map[string]any
	if err := json.Unmarshal([]byte(bgpConfig(peer, "up")), &bgpDoc); err != nil {
		b.Fatal(err)
	}
	doc["netready-bgp:bgp"] = bgpDoc
	ts.setRoot(b, mustJSON(b, doc))
	waitReceived(b, peer, 10_000)
	var took []time.Duration
	var rss float64
	for b.Loop() {
		b.StopTimer()
		ts.stop()
		waitReceived(b, peer, 0)
		b.StartTimer()
		start := time.Now()
		ts = startWithCreds(b, ts.cfg, ts.creds)
		waitReceived(b, peer, 10_000)
		took = append(took, time.Since(start))
		rss = vmRSS(b)
	}
	b.ReportMetric(median(took)/1000, "s-until-frr-holds-10k")
	b.ReportMetric(rss, "MB-rss")
}

// manyBindings is tenant t with vpns any-to-any VPNs of per bindings,
// each on its own port, spread over hosts h0..h3.
func manyBindings(vpns, per int) map[string]any {
	var ports, ifaces, vs, rts []any
	for v := range vpns {
		var binds []any
		for i := range per {
			name := fmt.Sprintf("v%d-%d", v, i)
			ports = append(ports, map[string]any{"name": name, "host": fmt.Sprintf("h%d", i%4)})
			ifaces = append(ifaces, map[string]any{"name": name, "type": "untagged", "port": name})
			binds = append(binds, map[string]any{"interface": name, "ip-address": []any{fmt.Sprintf("10.%d.%d.%d", v, i/250, i%250+1)}})
		}
		vs = append(vs, map[string]any{
			"name": fmt.Sprintf("vpn%d", v), "vrf-policy": "any-to-any",
			"route-target": []any{map[string]any{"value": fmt.Sprintf("64512:%d", 100+v), "direction": "both"}},
			"subnet":       []any{map[string]any{"prefix": fmt.Sprintf("10.%d.0.0/16", v)}},
			"bindings":     map[string]any{"binding": binds},
		})
		rts = append(rts, map[string]any{"value": fmt.Sprintf("64512:%d", 100+v), "owner": "t"})
	}
	return map[string]any{"netready-tenants:tenants": map[string]any{"tenant": []any{map[string]any{
		"name":                "t",
		"ports":               map[string]any{"port": ports},
		"interfaces":          map[string]any{"interface": ifaces},
		"netready-l3vpn:vpns": map[string]any{"vpn": vs},
	}}}, "netready-l3vpn:route-targets": map[string]any{"route-target": rts}}
}

func waitReceived(b *testing.B, peer *frrlab.BGPD, n int) {
	b.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for {
		got, err := peer.Received()
		if err == nil && got == n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("FRR holds %d prefixes (%v), want %d", got, err, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// vmRSS is the process's resident set size in MB.
func vmRSS(b *testing.B) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// BenchmarkBGPImportFlood100k measures one-leaf Sets (a tenant's
// description: nothing realization reads; a binding of Red taken down
// and up: realized) on the any-to-any scenario, first alone, then while
// a peer (a second GoBGP) floods 100,000 VPNv4 routes that VPN Blue
// imports, until the last of them is installed. It reports each p50
// and the time the import took.
func BenchmarkBGPImportFlood100k(b *testing.B) {
	n := 100_000
	if s := os.Getenv("NR_FLOOD"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	port := freeTCPPort(b)
	ts := startWith(b, daemon.Config{Drivers: nullDrivers()})
	root := strings.TrimSpace(string(scenario(b, "any-to-any")))
	ts.setRoot(b, []byte(root[:len(root)-1]+fmt.Sprintf(`, "netready-bgp:bgp": {"local-as": 65000, "router-id": "127.0.0.1",
		"listen-address": "127.0.0.1", "listen-port": %d, "neighbors": {"neighbor": [{"address": "127.0.0.2", "peer-as": 65000, "max-prefixes": %d}]}}}`, port, 2*n)))
	sets := map[string]func(i int) *gpb.SetRequest{
		"description": func(i int) *gpb.SetRequest {
			return &gpb.SetRequest{Update: []*gpb.Update{{Path: path(b, "/tenants/tenant[name=red]/description"), Val: jsonIETF(fmt.Sprintf(`"d%d"`, i))}}}
		},
		"red-binding": func(i int) *gpb.SetRequest {
			return &gpb.SetRequest{Update: []*gpb.Update{{Path: path(b, "/tenants/tenant[name=red]/vpns/vpn[name=red]/bindings/binding[interface=g5]/admin-state"), Val: jsonIETF([2]string{`"down"`, `"up"`}[i%2])}}}
		},
	}
	run := func(kind string, i int) time.Duration {
		t0 := time.Now()
		if _, err := ts.client.Set(ctx(b), sets[kind](i)); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	quiet := map[string][]time.Duration{}
	for i := range 200 {
		for _, k := range []string{"description", "red-binding"} {
			quiet[k] = append(quiet[k], run(k, i))
		}
	}
	flood := map[string][]time.Duration{}
	last := blueLearnt + fmt.Sprintf("/route[prefix=%s][route-distinguisher=65001:1]/installed", floodPrefix(n-1))
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		stop := floodPeer(b, port, n)
		for i := 0; ; i++ {
			for _, k := range []string{"description", "red-binding"} {
				flood[k] = append(flood[k], run(k, i))
			}
			if v, err := ts.get(b, last, gpb.GetRequest_STATE); err == nil && v == true {
				break
			}
			if time.Since(start) > 5*time.Minute {
				b.Fatal("the flood was not imported within 5 minutes")
			}
		}
		took = append(took, time.Since(start))
		b.StopTimer()
		stop()
		waitNoLearnt(b, ts)
		b.StartTimer()
	}
	for _, k := range []string{"description", "red-binding"} {
		q, f := median(quiet[k]), median(flood[k])
		b.ReportMetric(q, k+"-ms-p50-quiet")
		b.ReportMetric(f, k+"-ms-p50-flood")
		b.ReportMetric(f/q, k+"-ratio")
	}
	b.ReportMetric(median(took)/1000, "s-import-100k")
	b.ReportMetric(vmRSS(b), "MB-rss")
}

func floodPrefix(i int) string {
	return netip.AddrFrom4([4]byte{100, 64 + byte(i>>16), byte(i >> 8), byte(i)}).String() + "/32"
}

// floodPeer starts a GoBGP speaker on 127.0.0.2:port peering with the
// server's and announces n VPNv4 routes with Blue's route target (RD
// 65001:1, label 5000, next hop 127.0.0.2); stop closes it, which
// withdraws them.
func floodPeer(b *testing.B, port, n int) (stop func()) {
	b.Helper()
	srv := server.NewBgpServer(server.LoggerOption(quietLog(), nil))
	go srv.Serve()
	c := context.Background()
	if err := srv.StartBgp(c, &api.StartBgpRequest{Global: &api.Global{Asn: 65000, RouterId: "127.0.0.2", ListenPort: int32(port), ListenAddresses: []string{"127.0.0.2"}}}); err != nil {
		b.Fatal(err)
	}
	vpn := &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_MPLS_VPN}
	if err := srv.AddPeer(c, &api.AddPeerRequest{Peer: &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: "127.0.0.1", PeerAsn: 65000},
		Transport: &api.Transport{RemotePort: uint32(port), LocalAddress: "127.0.0.2"},
		AfiSafis:  []*api.AfiSafi{{Config: &api.AfiSafiConfig{Family: vpn, Enabled: true}}},
	}}); err != nil {
		b.Fatal(err)
	}
	rd, _ := bgp.ParseRouteDistinguisher("65001:1")
	rt, _ := bgp.ParseRouteTarget("64512:100")
	nh := netip.MustParseAddr("127.0.0.2")
	for lo := 0; lo < n; lo += 1000 {
		var paths []*apiutil.Path
		for i := lo; i < min(lo+1000, n); i++ {
			nlri, err := bgp.NewLabeledVPNIPAddrPrefix(netip.MustParsePrefix(floodPrefix(i)), *bgp.NewMPLSLabelStack(5000), rd)
			if err != nil {
				b.Fatal(err)
			}
			reach, err := bgp.NewPathAttributeMpReachNLRI(bgp.RF_IPv4_VPN, []bgp.PathNLRI{{NLRI: nlri}}, nh)
			if err != nil {
				b.Fatal(err)
			}
			paths = append(paths, &apiutil.Path{Family: bgp.RF_IPv4_VPN, Nlri: nlri, Attrs: []bgp.PathAttributeInterface{
				bgp.NewPathAttributeOrigin(0), reach, bgp.NewPathAttributeExtendedCommunities([]bgp.ExtendedCommunityInterface{rt}),
			}})
		}
		if _, err := srv.AddPath(apiutil.AddPathRequest{Paths: paths}); err != nil {
			b.Fatal(err)
		}
	}
	return srv.Stop
}

// waitNoLearnt waits until Blue shows no learnt route.
func waitNoLearnt(b *testing.B, ts *testServer) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if _, err := ts.get(b, blueLearnt, gpb.GetRequest_STATE); err != nil {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal("the flood's routes were not withdrawn")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeTCPPort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
