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
	"github.com/netready/netready/southbound/ebpffwd"
	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/routing"
)

// nullForwarder accepts every change and holds nothing.
type nullForwarder struct{}

func (nullForwarder) Close() error                                  { return nil }
func (nullForwarder) Apply(context.Context, []routing.Change) error { return nil }
func (nullForwarder) Reconcile(context.Context, []*routing.HostView) ([]string, error) {
	return nil, nil
}

// nullDrivers registers nullForwarder under both forwarder kinds the
// scenarios use.
func nullDrivers() southbound.Registry {
	null := southbound.Plugin{Caps: southbound.Capabilities{Forwarding: true, VLAN: true}, Open: func(context.Context, southbound.Backend) (southbound.Driver, error) {
		return nullForwarder{}, nil
	}}
	return southbound.Registry{linuxfwd.Kind: null, ebpffwd.Kind: null}
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
// a peer (a second GoBGP) floods 100,000 VPNv4 routes, until the last of
// them is in: "imported" carries Blue's route target (the routes go into
// Blue's VRFs on both hosts and into its learnt-routes state; done when
// the last is installed), "ignored" one nobody imports (done when the
// neighbor's prefixes-received says 100,000). It reports each p50 and
// the time the flood took.
func BenchmarkBGPImportFlood100k(b *testing.B) {
	const n = 100_000
	last := blueLearnt + fmt.Sprintf("/route[prefix=%s][route-distinguisher=65001:1]/installed", floodPrefix(n-1))
	const received = "/bgp/neighbors/neighbor[address=127.0.0.2]/status/prefixes-received"
	b.Run("imported", func(b *testing.B) {
		floodBench(b, n, "64512:100", func(ts *testServer) bool {
			v, err := ts.get(b, last, gpb.GetRequest_STATE)
			return err == nil && v == true
		}, func(ts *testServer) bool {
			_, err := ts.get(b, blueLearnt, gpb.GetRequest_STATE)
			return err != nil
		})
	})
	b.Run("ignored", func(b *testing.B) {
		floodBench(b, n, "64512:999", func(ts *testServer) bool {
			v, err := ts.get(b, received, gpb.GetRequest_STATE)
			return err == nil && v == float64(n)
		}, func(ts *testServer) bool {
			v, err := ts.get(b, received, gpb.GetRequest_STATE)
			return err == nil && v == float64(0)
		})
	})
}

// floodServer starts a server on the any-to-any scenario peering with
// 127.0.0.2 (see floodPeer) on the port it returns, taking up to 2n
// prefixes from it.
func floodServer(b *testing.B, n int) (*testServer, int) {
	port := freeTCPPort(b)
	ts := startWith(b, daemon.Config{Drivers: nullDrivers()})
	root := strings.TrimSpace(string(scenario(b, "any-to-any")))
	ts.setRoot(b, []byte(root[:len(root)-1]+fmt.Sprintf(`, "netready-bgp:bgp": {"local-as": 65000, "router-id": "127.0.0.1",
		"listen-address": "127.0.0.1", "listen-port": %d, "neighbors": {"neighbor": [{"address": "127.0.0.2", "peer-as": 65000, "max-prefixes": %d}]}}}`, port, 2*n)))
	return ts, port
}

// redOps are the requests of tenant Red a flood must not slow: a Set of
// its description (nothing realization reads), a Set taking one of its
// bindings down or up (realized: the engine lock), and a Get of its VPN.
var redOps = []string{"description", "red-binding", "red-get"}

// redOp runs op number i of kind and says how long it took.
func redOp(b *testing.B, ts *testServer, kind string, i int) (time.Duration, error) {
	var req *gpb.SetRequest
	switch kind {
	case "description":
		req = &gpb.SetRequest{Update: []*gpb.Update{{Path: path(b, "/tenants/tenant[name=red]/description"), Val: jsonIETF(fmt.Sprintf(`"d%d"`, i))}}}
	case "red-binding":
		req = &gpb.SetRequest{Update: []*gpb.Update{{Path: path(b, "/tenants/tenant[name=red]/vpns/vpn[name=red]/bindings/binding[interface=g5]/admin-state"), Val: jsonIETF([2]string{`"down"`, `"up"`}[i%2])}}}
	}
	t0 := time.Now()
	var err error
	if req != nil {
		_, err = ts.client.Set(ctx(b), req)
	} else {
		_, err = ts.client.Get(ctx(b), &gpb.GetRequest{Path: []*gpb.Path{path(b, "/tenants/tenant[name=red]/vpns/vpn[name=red]")}, Encoding: gpb.Encoding_JSON_IETF})
	}
	return time.Since(t0), err
}

// reportRatios reports each op's p50 alone and under load, and their
// ratio.
func reportRatios(b *testing.B, quiet, load map[string][]time.Duration, loadName string) {
	for _, k := range redOps {
		q, f := median(quiet[k]), median(load[k])
		b.ReportMetric(q, k+"-ms-p50-quiet")
		b.ReportMetric(f, k+"-ms-p50-"+loadName)
		b.ReportMetric(f/q, k+"-ratio")
	}
}

// quietOps runs 200 rounds of Red's requests.
func quietOps(b *testing.B, ts *testServer) map[string][]time.Duration {
	quiet := map[string][]time.Duration{}
	for i := range 200 {
		for _, k := range redOps {
			d, err := redOp(b, ts, k, i)
			if err != nil {
				b.Fatal(err)
			}
			quiet[k] = append(quiet[k], d)
		}
	}
	return quiet
}

// floodBench runs BenchmarkBGPImportFlood100k with the flood's route
// target rt; done says the flood is in, cleared that it is gone again.
func floodBench(b *testing.B, n int, rt string, done, cleared func(*testServer) bool) {
	ts, port := floodServer(b, n)
	quiet := quietOps(b, ts)
	flood := map[string][]time.Duration{}
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		stop := floodPeer(b, port, n, rt)
		for i := 0; !done(ts); i++ {
			for _, k := range redOps {
				d, err := redOp(b, ts, k, i)
				if err != nil {
					b.Fatal(err)
				}
				flood[k] = append(flood[k], d)
			}
			if time.Since(start) > 5*time.Minute {
				b.Fatal("the flood was not in within 5 minutes")
			}
		}
		took = append(took, time.Since(start))
		b.StopTimer()
		stop()
		for deadline := time.Now().Add(5 * time.Minute); !cleared(ts); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatal("the flood's routes were not withdrawn")
			}
		}
		b.StartTimer()
	}
	reportRatios(b, quiet, flood, "flood")
	b.ReportMetric(median(took)/1000, "s-flood-in")
	b.ReportMetric(vmRSS(b), "MB-rss")
}

// BenchmarkBGPPeerFlap measures Red's requests (redOps) alone and while
// a peer flaps: it comes up, announces 10,000 routes Blue imports, and
// goes away again (which withdraws them), five times per iteration,
// each time waiting until the last route is installed and then until
// all are gone.
func BenchmarkBGPPeerFlap(b *testing.B) {
	const n = 10_000
	last := blueLearnt + fmt.Sprintf("/route[prefix=%s][route-distinguisher=65001:1]/installed", floodPrefix(n-1))
	installed := func(ts *testServer) bool {
		v, err := ts.get(b, last, gpb.GetRequest_STATE)
		return err == nil && v == true
	}
	ts, port := floodServer(b, n)
	quiet := quietOps(b, ts)
	flap := map[string][]time.Duration{}
	var flaps []time.Duration
	for b.Loop() {
		stopOps := make(chan struct{})
		opsDone := make(chan error, 1)
		go func() { // Red's requests, while the peer flaps
			for i := 0; ; i++ {
				select {
				case <-stopOps:
					opsDone <- nil
					return
				default:
				}
				for _, k := range redOps {
					d, err := redOp(b, ts, k, i)
					if err != nil {
						opsDone <- err
						return
					}
					flap[k] = append(flap[k], d)
				}
			}
		}()
		for range 5 {
			start := time.Now()
			stop := floodPeer(b, port, n, "64512:100")
			waitUntil(b, func() bool { return installed(ts) })
			stop()
			waitUntil(b, func() bool { _, err := ts.get(b, blueLearnt, gpb.GetRequest_STATE); return err != nil })
			flaps = append(flaps, time.Since(start))
		}
		close(stopOps)
		if err := <-opsDone; err != nil {
			b.Fatal(err)
		}
	}
	reportRatios(b, quiet, flap, "flap")
	b.ReportMetric(median(flaps)/1000, "s-per-flap")
}

// waitUntil waits up to 2 minutes for cond.
func waitUntil(b *testing.B, cond func() bool) {
	b.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("timed out")
		}
	}
}

func floodPrefix(i int) string {
	return netip.AddrFrom4([4]byte{100, 64 + byte(i>>16), byte(i >> 8), byte(i)}).String() + "/32"
}

// floodPeer starts a GoBGP speaker on 127.0.0.2:port peering with the
// server's and announces n VPNv4 routes with route target target (RD
// 65001:1, label 5000, next hop 127.0.0.2); stop closes it, which
// withdraws them.
func floodPeer(b *testing.B, port, n int, target string) (stop func()) {
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
	rt, _ := bgp.ParseRouteTarget(target)
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

func freeTCPPort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
