package daemon_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"go.etcd.io/bbolt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/netready/netready/server/certs"
)

// floorServer answers every Set with one durable bbolt write and nothing
// else: the cost a durable Set cannot go below (gRPC over TLS on loopback
// plus one fsync). With a writer, concurrent Sets share fsyncs: it
// commits whatever Sets are queued in one transaction, as the server's
// writer does. (bbolt's own Batch waits up to 10 ms for more before it
// commits, which bounded this floor at 32 clients / 10 ms + the write.)
type floorServer struct {
	gpb.UnimplementedGNMIServer
	db     *bbolt.DB
	writes chan floorWrite // nil: each Set commits alone
}

type floorWrite struct {
	key, val []byte
	done     chan error
}

func (f *floorServer) Set(_ context.Context, req *gpb.SetRequest) (*gpb.SetResponse, error) {
	w := floorWrite{key: []byte(fmt.Sprint(req.GetUpdate()[0].GetPath())), val: req.GetUpdate()[0].GetVal().GetJsonIetfVal()}
	var err error
	if f.writes == nil {
		err = f.commit([]floorWrite{w})
	} else {
		w.done = make(chan error, 1)
		f.writes <- w
		err = <-w.done
	}
	return &gpb.SetResponse{Timestamp: time.Now().UnixNano()}, err
}

// commit writes a batch in one transaction: one fsync.
func (f *floorServer) commit(batch []floorWrite) error {
	return f.db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("rows"))
		if err != nil {
			return err
		}
		for _, w := range batch {
			if err := b.Put(w.key, w.val); err != nil {
				return err
			}
		}
		return nil
	})
}

// write is the group-commit writer: it takes the first queued Set and
// every other already queued, commits them together and answers each.
func (f *floorServer) write(stop <-chan struct{}) {
	for {
		var batch []floorWrite
		select {
		case w := <-f.writes:
			batch = append(batch, w)
		case <-stop:
			return
		}
	more:
		for len(batch) < 1000 {
			select {
			case w := <-f.writes:
				batch = append(batch, w)
			default:
				break more
			}
		}
		err := f.commit(batch)
		for _, w := range batch {
			w.done <- err
		}
	}
}

// BenchmarkSetFloor measures that floor in the same run as the server's
// own one-leaf Set benchmarks (docs/performance.md compares them).
func BenchmarkSetFloor(b *testing.B) {
	client := floorClient(b, false)
	req := &gpb.SetRequest{Update: []*gpb.Update{{Path: path(b, "/hosts/host[name=h1]/description"), Val: jsonIETF(`"x"`)}}}
	lat := make([]time.Duration, 0, b.N)
	cpu := cpuTime(b)
	for b.Loop() {
		t0 := time.Now()
		if _, err := client.Set(ctx(b), req); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	reportCPU(b, cpu, b.N)
	p50, p99 := percentiles(lat)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
}

// BenchmarkSetFloorConcurrent32 is the floor of SetConcurrent32: 32
// goroutines on one connection, as there, against the floor server with
// group commit (a writer committing what is queued). What a server doing
// nothing but durable writes reaches on this machine bounds what
// NetReady's Sets/s can be.
func BenchmarkSetFloorConcurrent32(b *testing.B) {
	client := floorClient(b, true)
	var next atomic.Int64
	var wg sync.WaitGroup
	t0, cpu := time.Now(), cpuTime(b)
	for c := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := &gpb.SetRequest{Update: []*gpb.Update{{Path: path(b, fmt.Sprintf("/hosts/host[name=h%d]/description", c)), Val: jsonIETF(`"x"`)}}}
			for next.Add(1) <= int64(b.N) {
				if _, err := client.Set(ctx(b), req); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "sets/s")
	reportCPU(b, cpu, b.N)
}

// floorClient starts a floor server on loopback with TLS and returns a
// client of it; both end with the benchmark.
func floorClient(b *testing.B, batch bool) gpb.GNMIClient {
	b.Helper()
	db, err := bbolt.Open(filepath.Join(b.TempDir(), "floor.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	certPEM, keyPEM, err := certs.SelfSigned([]string{"localhost"}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		b.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})))
	floor := &floorServer{db: db}
	if batch {
		floor.writes = make(chan floorWrite, 1000)
		stop := make(chan struct{})
		go floor.write(stop)
		b.Cleanup(func() { close(stop) })
	}
	gpb.RegisterGNMIServer(srv, floor)
	go func() { _ = srv.Serve(lis) }()
	b.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true}))) //nolint:gosec // loopback benchmark of our own server
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return gpb.NewGNMIClient(conn)
}
