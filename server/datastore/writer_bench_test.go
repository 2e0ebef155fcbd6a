package datastore

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/netready/netready/server/rules"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/store"
	netreadyyang "github.com/netready/netready/yang"
)

// BenchmarkWriter32: 32 writers Set one leaf each, on a datastore with a
// synced bbolt file, 1,000 ports: the writer and the store alone, without
// gRPC, so the writer's part of a Set and the overlap of its work with the
// store's show in CPU per Set and Sets/s.
func BenchmarkWriter32(b *testing.B) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.OpenBolt(filepath.Join(b.TempDir(), "db"), store.BoltOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	d, err := Open(context.Background(), sch, st, rules.All(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	for _, r := range [][2]string{
		{"/backends/backend[name=b]", `{"driver": "linux-vforwarder"}`},
		{"/hosts/host[name=h]", `{"backend": "b"}`},
		{"/tenants/tenant[name=t]", `{}`},
	} {
		if _, err := d.Apply(context.Background(), update(b, d, r[0], r[1])); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 1000 {
		if _, err := d.Apply(context.Background(), update(b, d, fmt.Sprintf("/tenants/tenant[name=t]/ports/port[name=p%d]", i), `{"host": "h"}`)); err != nil {
			b.Fatal(err)
		}
	}
	reqs := make([][]*Request, 32)
	for c := range reqs {
		for v := range 2 {
			reqs[c] = append(reqs[c], update(b, d, fmt.Sprintf("/tenants/tenant[name=t]/ports/port[name=p%d]/mtu", c), fmt.Sprint(1500+v)))
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	t0, cpu := time.Now(), rusage(b)
	for c := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; next.Add(1) <= int64(b.N); i++ {
				if _, err := d.Apply(context.Background(), reqs[c][i%2]); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "sets/s")
	b.ReportMetric(float64((rusage(b)-cpu).Microseconds())/float64(b.N), "cpu-us/set")
}

func rusage(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
