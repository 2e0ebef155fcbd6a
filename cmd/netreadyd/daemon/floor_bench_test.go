package daemon_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
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
// plus one fsync).
type floorServer struct {
	gpb.UnimplementedGNMIServer
	db *bbolt.DB
}

func (f *floorServer) Set(_ context.Context, req *gpb.SetRequest) (*gpb.SetResponse, error) {
	err := f.db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("rows"))
		if err != nil {
			return err
		}
		return b.Put([]byte(fmt.Sprint(req.GetUpdate()[0].GetPath())), req.GetUpdate()[0].GetVal().GetJsonIetfVal())
	})
	return &gpb.SetResponse{Timestamp: time.Now().UnixNano()}, err
}

// BenchmarkSetFloor measures that floor in the same run as the server's
// own one-leaf Set benchmarks (docs/performance.md compares them).
func BenchmarkSetFloor(b *testing.B) {
	db, err := bbolt.Open(filepath.Join(b.TempDir(), "floor.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
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
	gpb.RegisterGNMIServer(srv, &floorServer{db: db})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true}))) //nolint:gosec // loopback benchmark of our own server
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	client := gpb.NewGNMIClient(conn)
	req := &gpb.SetRequest{Update: []*gpb.Update{{Path: path(b, "/hosts/host[name=h1]/description"), Val: jsonIETF(`"x"`)}}}
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t0 := time.Now()
		if _, err := client.Set(ctx(b), req); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	p50, p99 := percentiles(lat)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
}
