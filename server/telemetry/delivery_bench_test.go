package telemetry_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/ygot/ygot"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/netready/netready/server/certs"
	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/gnmiserver"
	"github.com/netready/netready/server/rules"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/telemetry"
	"github.com/netready/netready/server/tree"
	netreadyyang "github.com/netready/netready/yang"
)

// The delivery benchmarks measure what Subscribe itself can carry: each
// iteration publishes one transaction changing the oper-status of 1,000
// ports (a state change: no Set parsing, validation or fsync), which the
// hub diffs and every stream receives as one notification over TLS on
// loopback. The end-to-end figures with Sets are in cmd/netreadyd/daemon.

const deliveryPorts = 1000

type deliveryRig struct {
	ds     *datastore.Datastore
	client gpb.GNMIClient
	status []tree.Path
}

func newDeliveryRig(b *testing.B) *deliveryRig {
	b.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.OpenBolt(filepath.Join(b.TempDir(), "db"), store.BoltOptions{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	ds, err := datastore.Open(context.Background(), sch, st, rules.All(), datastore.Options{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	hub := telemetry.NewHub(ds, log, telemetry.Options{})
	certPEM, keyPEM, err := certs.SelfSigned([]string{"localhost"}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	cert, _ := tls.X509KeyPair(certPEM, keyPEM)
	g := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})), grpc.MaxSendMsgSize(256<<20))
	gnmiserver.New(ds, gnmiserver.Options{Hub: hub, Log: log}).Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go g.Serve(lis)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "localhost"})),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(); hub.Close(); g.Stop(); ds.Close(); st.Close() })

	rig := &deliveryRig{ds: ds, client: gpb.NewGNMIClient(conn)}
	var ports []string
	for i := 0; i < deliveryPorts; i++ {
		ports = append(ports, fmt.Sprintf(`{"name":"p%d"}`, i))
	}
	p, _ := tree.Resolve(sch.Root, mustElems(b, "/tenants/tenant[name=t]/ports"))
	payload, err := tree.DecodeJSON(p, []byte(fmt.Sprintf(`{"port":[%s]}`, strings.Join(ports, ","))), true)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ds.Apply(context.Background(), &datastore.Request{Ops: []datastore.Op{{Kind: datastore.Update, Path: p, Payload: payload}}}); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < deliveryPorts; i++ {
		sp, err := tree.Resolve(sch.Root, mustElems(b, fmt.Sprintf("/tenants/tenant[name=t]/ports/port[name=p%d]/status/oper-status", i)))
		if err != nil {
			b.Fatal(err)
		}
		rig.status = append(rig.status, sp)
	}
	return rig
}

func mustElems(b *testing.B, s string) []*gpb.PathElem {
	p, err := ygot.StringToStructuredPath(s)
	if err != nil {
		b.Fatal(err)
	}
	return p.GetElem()
}

// subscribe opens a synced ON_CHANGE stream on the ports and counts the
// updates it receives.
func (r *deliveryRig) subscribe(b *testing.B, got *atomic.Int64, wg *sync.WaitGroup) {
	s, err := r.client.Subscribe(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	s.Send(&gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Subscribe{Subscribe: &gpb.SubscriptionList{
		Mode: gpb.SubscriptionList_STREAM, Encoding: gpb.Encoding_JSON_IETF, UpdatesOnly: true,
		Subscription: []*gpb.Subscription{{Path: &gpb.Path{Elem: mustElems(b, "/tenants/tenant[name=t]/ports")}, Mode: gpb.SubscriptionMode_ON_CHANGE}},
	}}})
	if r, err := s.Recv(); err != nil || !r.GetSyncResponse() {
		b.Fatalf("no sync: %v %v", r, err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			r, err := s.Recv()
			if err != nil {
				return
			}
			got.Add(int64(len(r.GetUpdate().GetUpdate())))
		}
	}()
}

func benchDelivery(b *testing.B, streams int) {
	r := newDeliveryRig(b)
	var got atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < streams; i++ {
		r.subscribe(b, &got, &wg)
	}
	want := int64(streams) * int64(b.N) * deliveryPorts
	b.ResetTimer()
	t0 := time.Now()
	for i := 0; i < b.N; i++ {
		v := []string{"up", "down"}[i%2]
		if err := r.ds.UpdateState(context.Background(), func(t *tree.Txn) error {
			for _, p := range r.status {
				t.SetLeaf(p, v)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	for got.Load() < want {
		if time.Since(t0) > 2*time.Minute {
			b.Fatalf("%d of %d updates delivered", got.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(got.Load())/time.Since(t0).Seconds(), "updates/s")
}

// BenchmarkDeliveryOneStream: target >= 50,000 leaf updates/s.
func BenchmarkDeliveryOneStream(b *testing.B) { benchDelivery(b, 1) }

// BenchmarkDeliveryFourStreams: target >= 150,000 leaf updates/s in all.
func BenchmarkDeliveryFourStreams(b *testing.B) { benchDelivery(b, 4) }
