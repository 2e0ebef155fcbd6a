package daemon_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/southbound/linuxfwd/lab"
)

// BenchmarkGetCounters1000 measures a Get of traffic counters with 1,000
// bindings realized (10 any-to-any VPNs of 100 over 4 hosts and 2 Linux
// vForwarder backends, as BenchmarkRealize1000Bindings): "all" reads
// every binding's and VPN's counters, "one" a single binding's, each
// from the kernel at the time of the Get.
func BenchmarkGetCounters1000(b *testing.B) {
	hosts := map[string]netip.Addr{}
	for i := range 4 {
		hosts[fmt.Sprintf("h%d", i)] = netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
	}
	l := lab.New(b, lab.RandomPrefix(), hosts)
	r := &realized{testServer: startWith(b, daemon.Config{Drivers: daemon.Drivers()}), lab: l}
	var backends, hostList []any
	for _, be := range []string{"vendor-a", "vendor-b"} {
		backends = append(backends, map[string]any{"name": be, "driver": "linux-vforwarder", "option": []any{map[string]any{"name": "netns-prefix", "value": l.Prefix()}}})
	}
	for i := range 4 {
		hostList = append(hostList, map[string]any{"name": fmt.Sprintf("h%d", i), "backend": []string{"vendor-a", "vendor-b"}[i/2], "address": fmt.Sprintf("192.0.2.%d", i+1)})
	}
	r.setRoot(b, mustJSON(b, map[string]any{
		"netready-infrastructure:backends": map[string]any{"backend": backends},
		"netready-infrastructure:hosts":    map[string]any{"host": hostList},
	}))
	r.setRoot(b, mustJSON(b, thousandBindings()))
	const vpns = "/tenants/tenant[name=t]/vpns/vpn[name=*]"
	for _, c := range []struct {
		name, path string
		leaves     int // counter leaves the Get must return
	}{
		{"all", vpns + "/.../counters", 4 * (1000 + 10)},
		{"one", vpns + "/bindings/binding[interface=v3-17]/counters", 4},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := &gpb.GetRequest{Path: []*gpb.Path{path(b, c.path)}, Encoding: gpb.Encoding_PROTO, Type: gpb.GetRequest_STATE}
			var total time.Duration
			for b.Loop() {
				start := time.Now()
				resp, err := r.client.Get(ctx(b), req)
				total += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				if n := len(resp.GetNotification()[0].GetUpdate()); n != c.leaves {
					b.Fatalf("%d counter leaves, want %d", n, c.leaves)
				}
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/get")
		})
	}
}
