package daemon_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/server/auth"
)

// The authorization cost pairs: the same request by "admin" (the policy
// permits everything, so no per-path decision is made: authorization off)
// and by "alice", a tenant-admin whose every path is judged (on). Both
// authenticate the same way; the data is a 10,000-port tenant.

func accessBenchServer(b *testing.B) *testServer {
	b.Helper()
	dir := b.TempDir()
	users := auth.NewUsers()
	users.Cost = 4
	users.Add("admin", "admin-secret", []string{"admin"}, nil)
	users.Add("alice", "alice-secret", []string{"tenant-admin"}, []string{"t0"})
	usersFile := filepath.Join(dir, "users.json")
	if err := users.Save(usersFile); err != nil {
		b.Fatal(err)
	}
	ts := startWithCreds(b, daemon.Config{DataDir: dir, UsersFile: usersFile, InitEmptyStore: true}, password{"admin", "admin-secret"})
	ts.setRoot(b, scenario(b, "any-to-any"))
	if _, err := ts.client.Set(ctx(b), bulkSet(b, "t0", 1, "t0", 10_000)); err != nil {
		b.Fatal(err)
	}
	return ts
}

func (ts *testServer) clientAs(b *testing.B, user string) gpb.GNMIClient {
	conn := dialAs(b, ts.d.Addr(), ts.dir, password{user, user + "-secret"})
	b.Cleanup(func() { conn.Close() })
	return gpb.NewGNMIClient(conn)
}

var accessUsers = []struct{ name, user string }{{"off", "admin"}, {"on", "alice"}}

// BenchmarkAccessSet: one-leaf Set latency. Target: on <= off + 10%.
func BenchmarkAccessSet(b *testing.B) {
	ts := accessBenchServer(b)
	for _, u := range accessUsers {
		b.Run(u.name, func(b *testing.B) {
			c := ts.clientAs(b, u.user)
			lat := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				req := &gpb.SetRequest{Update: []*gpb.Update{{
					Path: path(b, fmt.Sprintf("/tenants/tenant[name=t0]/ports/port[name=p%d]/mtu", i%1000)),
					Val:  &gpb.TypedValue{Value: &gpb.TypedValue_UintVal{UintVal: uint64(1500 + i%1000)}},
				}}}
				t0 := time.Now()
				if _, err := c.Set(ctx(b), req); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			p50, p99 := percentiles(lat)
			b.ReportMetric(p50, "p50-ms")
			b.ReportMetric(p99, "p99-ms")
		})
	}
}

// BenchmarkAccessGet: Get of the 10,000-port tenant (about 100,000
// leaves) as JSON_IETF. Target: on <= off + 10%.
func BenchmarkAccessGet(b *testing.B) {
	ts := accessBenchServer(b)
	for _, u := range accessUsers {
		b.Run(u.name, func(b *testing.B) {
			c := ts.clientAs(b, u.user)
			req := &gpb.GetRequest{Path: []*gpb.Path{path(b, "/tenants/tenant[name=t0]")}, Encoding: gpb.Encoding_JSON_IETF}
			lat := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if _, err := c.Get(ctx(b), req); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			p50, _ := percentiles(lat)
			b.ReportMetric(p50, "p50-ms")
		})
	}
}

// BenchmarkAccessSubscribe: ON_CHANGE delivery to one subscriber of the
// tenant's ports while Sets change 1,000 mtu values at a time. Target:
// on >= 80% of off.
func BenchmarkAccessSubscribe(b *testing.B) {
	ts := accessBenchServer(b)
	for _, u := range accessUsers {
		b.Run(u.name, func(b *testing.B) {
			sub := &testServer{d: ts.d, dir: ts.dir, client: ts.clientAs(b, u.user)}
			s := loadSubscribe(b, sub.client, loadList(b, gpb.SubscriptionMode_ON_CHANGE, false, "/tenants/tenant[name=t0]/ports"))
			if _, err := loadUntilSync(s); err != nil {
				b.Fatal(err)
			}
			c := loadCount(s)
			set := loadMtuSetsIn(b, "t0", 1000)
			final := uint64(3000 + b.N)
			c.want.Store([]byte(fmt.Sprint(final)))
			b.ResetTimer()
			t0 := time.Now()
			for i := 1; i <= b.N; i++ {
				if _, err := ts.client.Set(ctx(b), set(uint64(3000+i))); err != nil {
					b.Fatal(err)
				}
			}
			for c.final.Load() < 1000 {
				time.Sleep(time.Millisecond)
			}
			b.ReportMetric(float64(c.updates.Load())/time.Since(t0).Seconds(), "updates/s")
		})
	}
}
