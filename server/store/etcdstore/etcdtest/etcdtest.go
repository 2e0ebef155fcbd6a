// Package etcdtest runs a real etcd cluster inside a test: members
// embedded in the test process (go.etcd.io/etcd/server/v3/embed) on
// loopback, with their data in the test's temporary directory and fsync
// on, so the tests of the etcd store and of replicas run against the
// real thing.
package etcdtest

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// The members' transaction limits (etcd's --max-txn-ops and
// --max-request-bytes), as recommended for NetReady.
const (
	MaxTxnOps       = 4096
	MaxRequestBytes = 8 << 20
)

// Cluster is a running etcd cluster.
type Cluster struct {
	Members   []*embed.Etcd
	Endpoints []string // client URLs, one per member
	closeOnce sync.Once
}

// Start starts an n-member cluster and stops it when the test ends.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	return start(t, n, nil)
}

// StartTLS starts an n-member cluster whose clients must use TLS with a
// client certificate signed by the returned CA.
func StartTLS(t testing.TB, n int) (*Cluster, TLSFiles) {
	t.Helper()
	f := newTLSFiles(t, t.TempDir())
	return start(t, n, &f), f
}

func start(t testing.TB, n int, tlsFiles *TLSFiles) *Cluster {
	peers, clients := freeURLs(t, n), freeURLs(t, n)
	if tlsFiles != nil {
		for i := range clients {
			clients[i].Scheme = "https"
		}
	}
	var initial []string
	for i := range n {
		initial = append(initial, fmt.Sprintf("m%d=%s", i, peers[i].String()))
	}
	c := &Cluster{}
	dir := t.TempDir()
	for i := range n {
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = filepath.Join(dir, cfg.Name)
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peers[i]}, []url.URL{peers[i]}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{clients[i]}, []url.URL{clients[i]}
		cfg.InitialCluster = strings.Join(initial, ",")
		cfg.InitialClusterToken = "netready-test"
		cfg.ClusterState = embed.ClusterStateFlagNew
		cfg.LogLevel = "error"
		// Members log their shutdown as errors; keep that out of the
		// test output, in the member's directory.
		cfg.LogOutputs = []string{cfg.Dir + ".log"}
		// A shared 2-core machine: keep the default tick but tolerate
		// slow fsyncs without flapping leaders.
		cfg.TickMs, cfg.ElectionMs = 100, 2000
		// The limits docs/architecture.md asks of a cluster that holds
		// NetReady's datastore.
		cfg.MaxTxnOps, cfg.MaxRequestBytes = MaxTxnOps, MaxRequestBytes
		if tlsFiles != nil {
			cfg.ClientTLSInfo = transport.TLSInfo{CertFile: tlsFiles.serverCert, KeyFile: tlsFiles.serverKey,
				TrustedCAFile: tlsFiles.CA, ClientCertAuth: true}
		}
		e, err := embed.StartEtcd(cfg)
		if err != nil {
			t.Fatalf("etcd member %d: %v", i, err)
		}
		c.Members = append(c.Members, e)
		c.Endpoints = append(c.Endpoints, clients[i].String())
	}
	t.Cleanup(c.Close)
	for i, e := range c.Members {
		select {
		case <-e.Server.ReadyNotify():
		case err := <-e.Err():
			t.Fatalf("etcd member %d: %v", i, err)
		case <-time.After(60 * time.Second):
			t.Fatalf("etcd member %d not ready after 60 s", i)
		}
	}
	return c
}

// Client returns a client of the whole cluster, closed when the test ends.
func (c *Cluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatalf("etcd client: %v", err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// Close stops every member (once: a test may stop the cluster early).
func (c *Cluster) Close() {
	c.closeOnce.Do(func() {
		for _, e := range c.Members {
			e.Close()
		}
	})
}

// freeURLs returns n loopback URLs on ports free right now.
func freeURLs(t testing.TB, n int) []url.URL {
	t.Helper()
	var out []url.URL
	var lis []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lis = append(lis, l)
		out = append(out, url.URL{Scheme: "http", Host: l.Addr().String()})
	}
	for _, l := range lis {
		l.Close()
	}
	return out
}
