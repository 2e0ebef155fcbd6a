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
	"os"
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
	// configs make each member's configuration afresh, for a restart.
	configs []func() *embed.Config
	proxies []*proxy // StartKillable's, one per member
}

// memberConfig makes the configuration of member i of a new cluster
// (initial: every member's peer URL) with its data under dir, listening
// for clients at listen and telling them client.
func memberConfig(i int, dir string, peer, listen, client url.URL, initial string, tlsFiles *TLSFiles, defaults bool) func() *embed.Config {
	return func() *embed.Config {
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = filepath.Join(dir, cfg.Name)
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{listen}, []url.URL{client}
		cfg.InitialCluster = initial
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
		if !defaults {
			cfg.MaxTxnOps, cfg.MaxRequestBytes = MaxTxnOps, MaxRequestBytes
		}
		if tlsFiles != nil {
			cfg.ClientTLSInfo = transport.TLSInfo{CertFile: tlsFiles.serverCert, KeyFile: tlsFiles.serverKey,
				TrustedCAFile: tlsFiles.CA, ClientCertAuth: true}
		}
		return cfg
	}
}

// Start starts an n-member cluster and stops it when the test ends.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	return start(t, n, nil, false, false)
}

// StartDefaultLimits starts an n-member cluster with etcd's default
// transaction limits (--max-txn-ops 128, --max-request-bytes 1.5 MiB),
// for what must fit any cluster (the replicas' status publications).
func StartDefaultLimits(t testing.TB, n int) *Cluster {
	t.Helper()
	return start(t, n, nil, false, true)
}

// StartKillable starts an n-member cluster whose members Kill and
// Restart: clients reach each member through a TCP proxy that a kill
// cuts, ending every connection at once as a crash would.
func StartKillable(t testing.TB, n int) *Cluster {
	t.Helper()
	return start(t, n, nil, true, false)
}

// StartTLS starts an n-member cluster whose clients must use TLS with a
// client certificate signed by the returned CA.
func StartTLS(t testing.TB, n int) (*Cluster, TLSFiles) {
	t.Helper()
	f := newTLSFiles(t, t.TempDir())
	return start(t, n, &f, false, false), f
}

// startAttempts bounds how often start picks new ports: a port free when
// chosen may be taken by another test process before a member binds it.
const startAttempts = 3

func start(t testing.TB, n int, tlsFiles *TLSFiles, proxied, defaults bool) *Cluster {
	t.Helper()
	dir := t.TempDir()
	for attempt := 1; ; attempt++ {
		c, err := tryStart(t, n, filepath.Join(dir, fmt.Sprint("try", attempt)), tlsFiles, proxied, defaults)
		if err == nil {
			t.Cleanup(c.Close)
			t.Cleanup(func() { c.logOnFailure(t) }) // before Close, and before dir goes
			for i, e := range c.Members {
				ready(t, i, e)
			}
			return c
		}
		if attempt == startAttempts || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
		t.Logf("etcd cluster: %v; trying other ports", err)
	}
}

// tryStart starts the members of a cluster on ports free right now, or
// stops what it started and says why not.
func tryStart(t testing.TB, n int, dir string, tlsFiles *TLSFiles, proxied, defaults bool) (*Cluster, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	urls := freeURLs(t, 3*n) // at once: no port twice
	peers, clients, listen := urls[:n], urls[n:2*n], urls[n:2*n]
	if proxied {
		listen = urls[2*n:]
	}
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
	for i := range n {
		c.configs = append(c.configs, memberConfig(i, dir, peers[i], listen[i], clients[i], strings.Join(initial, ","), tlsFiles, defaults))
		if proxied {
			p, err := newProxy(clients[i].Host, listen[i].Host)
			if err != nil {
				c.Close()
				return nil, fmt.Errorf("etcd proxy %d: %w", i, err)
			}
			c.proxies = append(c.proxies, p)
		}
		e, err := embed.StartEtcd(c.configs[i]())
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("etcd member %d: %w", i, err)
		}
		c.Members = append(c.Members, e)
		c.Endpoints = append(c.Endpoints, clients[i].String())
	}
	return c, nil
}

// logOnFailure copies the members' own logs into a failed test's output:
// they are kept out of it otherwise, and go with the test's directory.
func (c *Cluster) logOnFailure(t testing.TB) {
	if !t.Failed() {
		return
	}
	for i, cfg := range c.configs {
		b, err := os.ReadFile(cfg().Dir + ".log")
		if err != nil || len(b) == 0 {
			continue
		}
		if len(b) > maxLogTail {
			b = b[len(b)-maxLogTail:]
		}
		t.Logf("etcd member %d's log (its last %d bytes at most):\n%s", i, maxLogTail, b)
	}
}

// maxLogTail bounds how much of a member's log a failed test shows.
const maxLogTail = 8 << 10

// ready waits until member i serves clients.
func ready(t testing.TB, i int, e *embed.Etcd) {
	t.Helper()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		t.Fatalf("etcd member %d: %v", i, err)
	case <-time.After(60 * time.Second):
		t.Fatalf("etcd member %d not ready after 60 s", i)
	}
}

// Kill stops member i abruptly, as a crash would: on a StartKillable
// cluster every client connection to it ends at once; its raft node
// stops (no leadership transfer, requests in flight fail), then it
// closes. The member runs in the test process, so this is the closest
// to kill -9 short of ending the process.
func (c *Cluster) Kill(i int) {
	if c.proxies != nil {
		c.proxies[i].cut(true)
	}
	c.Members[i].Server.HardStop()
	c.Members[i].Close()
}

// Restart starts killed member i again on its data dir, rejoining the
// cluster, and waits until it serves clients.
func (c *Cluster) Restart(t testing.TB, i int) {
	t.Helper()
	cfg := c.configs[i]()
	cfg.ClusterState = embed.ClusterStateFlagExisting
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("restarting etcd member %d: %v", i, err)
	}
	c.Members[i] = e
	ready(t, i, e)
	if c.proxies != nil {
		c.proxies[i].cut(false)
	}
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

// Close stops every member and proxy (once: a test may stop the cluster
// early).
func (c *Cluster) Close() {
	c.closeOnce.Do(func() {
		for _, e := range c.Members {
			e.Close()
		}
		for _, p := range c.proxies {
			p.close()
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
