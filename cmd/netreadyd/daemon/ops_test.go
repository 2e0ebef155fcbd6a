package daemon_test

// Operations: the gRPC health service, answered without credentials, and
// the Prometheus metrics on their own listener, checked against the
// requests a test made.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/server/auth"
	"github.com/netready/netready/server/certs"
	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/routing"
)

// anonymous connects with TLS and no credentials at all, as a load
// balancer's health probe does.
func anonymous(t testing.TB, ts *testServer) *grpc.ClientConn {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(ts.dir, certs.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	creds := credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12})
	conn, err := grpc.NewClient(ts.d.Addr(), grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestHealthWithoutCredentials(t *testing.T) {
	ts := start(t, "")
	conn := anonymous(t, ts)
	h := healthpb.NewHealthClient(conn)
	for _, svc := range []string{"", "gnmi.gNMI"} {
		resp, err := h.Check(ctx(t), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Check(%q) without credentials: %v, %v; want SERVING", svc, resp.GetStatus(), err)
		}
	}
	_, err := h.Check(ctx(t), &healthpb.HealthCheckRequest{Service: "no.such.Service"})
	wantCode(t, err, codes.NotFound, "unknown service")
	list, err := h.List(ctx(t), &healthpb.HealthListRequest{})
	if err != nil || len(list.GetStatuses()) != 2 {
		t.Fatalf("List without credentials: %v, %v; want the server and gNMI", list, err)
	}
	// Only the health service is open: gNMI on the same connection is not.
	_, err = gpb.NewGNMIClient(conn).Capabilities(ctx(t), &gpb.CapabilityRequest{})
	wantCode(t, err, codes.Unauthenticated, "")
}

// watch follows the server's health over a Watch stream without
// credentials; the channel closes when the stream ends.
func watch(t *testing.T, ts *testServer) <-chan healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	c, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w, err := healthpb.NewHealthClient(anonymous(t, ts)).Watch(c, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan healthpb.HealthCheckResponse_ServingStatus, 100)
	go func() {
		defer close(out)
		for {
			r, err := w.Recv()
			if err != nil {
				return
			}
			out <- r.GetStatus()
		}
	}()
	return out
}

func nextStatus(t *testing.T, ch <-chan healthpb.HealthCheckResponse_ServingStatus, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	select {
	case got, ok := <-ch:
		if !ok || got != want {
			t.Fatalf("health: got %v (stream open %v), want %v", got, ok, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("health: no %v", want)
	}
}

// gate is a driver kind whose opening a test can hold: a models reload
// reopens the data stack, and with it every backend's driver, so holding
// the open holds the reload half-way, with the data stack closed.
type gate struct {
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGate() *gate { return &gate{entered: make(chan struct{}, 1), release: make(chan struct{})} }

// let lets the held driver open (also when a test failed while holding
// it, so that Stop does not wait for the reload forever).
func (g *gate) let() { g.once.Do(func() { close(g.release) }) }

func (g *gate) open(context.Context, southbound.Backend) (southbound.Driver, error) {
	if g.armed.Load() {
		g.entered <- struct{}{}
		<-g.release
	}
	return idleForwarder{}, nil
}

// idleForwarder is a backend with no hosts: nothing to apply.
type idleForwarder struct{}

func (idleForwarder) Close() error                                  { return nil }
func (idleForwarder) Apply(context.Context, []routing.Change) error { return nil }
func (idleForwarder) Reconcile(context.Context, []*routing.HostView) ([]string, error) {
	return nil, nil
}

// TestHealthReloadAndStop: a models reload that reopens the data stack
// says NOT_SERVING while it does (to Check and to Watch); Stop says
// NOT_SERVING first, and ends the Watch streams instead of waiting the
// grace period for them.
func TestHealthReloadAndStop(t *testing.T) {
	g := newGate()
	drivers := daemon.Drivers()
	drivers["gate"] = southbound.Plugin{Open: g.open}
	ts := startWith(t, daemon.Config{Drivers: drivers, ShutdownGrace: time.Minute})
	ts.addBackend(t, "g", `{"driver": "gate"}`)
	t.Cleanup(g.let) // runs before the server's cleanup stops it
	h := healthpb.NewHealthClient(anonymous(t, ts))
	check := func(want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		resp, err := h.Check(ctx(t), &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != want {
			t.Fatalf("Check: %v, %v; want %v", resp.GetStatus(), err, want)
		}
	}
	ch := watch(t, ts)
	nextStatus(t, ch, healthpb.HealthCheckResponse_SERVING)

	dropModel(t, ts, "example-firewall.yang")
	g.armed.Store(true)
	reloaded := make(chan error, 1)
	go func() { reloaded <- ts.d.ReloadModels(context.Background()) }()
	<-g.entered // the data stack is closed, the reload waits for the driver
	check(healthpb.HealthCheckResponse_NOT_SERVING)
	nextStatus(t, ch, healthpb.HealthCheckResponse_NOT_SERVING)
	g.let()
	if err := <-reloaded; err != nil {
		t.Fatalf("reload: %v", err)
	}
	check(healthpb.HealthCheckResponse_SERVING)
	nextStatus(t, ch, healthpb.HealthCheckResponse_SERVING)

	start := time.Now()
	ts.stop()
	nextStatus(t, ch, healthpb.HealthCheckResponse_NOT_SERVING)
	if _, open := <-ch; open {
		t.Fatal("the Watch stream outlived Stop")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("Stop took %v: the Watch stream held the graceful stop", took)
	}
}

// scrape reads the metrics served at addr, on a connection of its own
// (no idle connection outlives it).
func scrape(t testing.TB, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	return fams
}

// value is the value of the series of family name whose labels include
// labels ("k=v" each): a counter's or gauge's value, a histogram's count
// (or sum, for name_sum). 0 when there is no such series.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	sum := strings.HasSuffix(name, "_sum")
	f := fams[strings.TrimSuffix(strings.TrimSuffix(name, "_sum"), "_count")]
	if f == nil {
		return 0
	}
	total := 0.0
	for _, m := range f.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil && sum:
			total += m.GetHistogram().GetSampleSum()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

func hasLabels(m *dto.Metric, labels []string) bool {
	have := map[string]string{}
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for _, kv := range labels {
		k, v, _ := strings.Cut(kv, "=")
		if have[k] != v {
			return false
		}
	}
	return true
}

// opsServer runs a server serving metrics, with a viewer (who may not
// write) next to the admin, loaded with the any-to-any scenario.
func opsServer(t *testing.T) *testServer {
	t.Helper()
	dir := t.TempDir()
	users := auth.NewUsers()
	users.Cost = 4
	for _, u := range []struct{ name, role string }{{"admin", "admin"}, {"vic", "viewer"}} {
		if err := users.Add(u.name, u.name+"-secret", []string{u.role}, nil); err != nil {
			t.Fatal(err)
		}
	}
	usersFile := filepath.Join(dir, "users.json")
	if err := users.Save(usersFile); err != nil {
		t.Fatal(err)
	}
	ts := startWithCreds(t, daemon.Config{DataDir: dir, UsersFile: usersFile, InitEmptyStore: true, MetricsListen: "127.0.0.1:0"},
		password{"admin", "admin-secret"})
	ts.setRoot(t, scenario(t, "any-to-any"))
	return ts
}

// TestMetricsSetStorm scrapes the metrics during a storm of Sets — valid,
// invalid, not permitted, not authenticated — and finds them consistent
// throughout, and after it exactly the Sets made, by the code each got.
func TestMetricsSetStorm(t *testing.T) {
	ts := opsServer(t)
	addr := ts.d.MetricsAddr()
	sc := ts.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE, "/tenants"))
	sc.untilSync(t)
	before := scrape(t, addr)

	clients := map[string]gpb.GNMIClient{
		"admin": ts.client,
		"vic":   gpb.NewGNMIClient(dialAs(t, ts.d.Addr(), ts.dir, password{"vic", "vic-secret"})),
		"bad":   gpb.NewGNMIClient(dialAs(t, ts.d.Addr(), ts.dir, password{"admin", "wrong"})),
	}
	const workers, perWorker = 6, 20
	var mu sync.Mutex
	got := map[codes.Code]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				who, val := "admin", fmt.Sprintf(`"w%d-%d"`, w, i)
				switch i % 5 {
				case 1:
					val = `{"not": "a string"}` // InvalidArgument
				case 2:
					who = "vic" // PermissionDenied
				case 3:
					if w == 0 { // few enough not to block the address (auth.Options.MaxAddressFailures)
						who = "bad" // Unauthenticated
					}
				}
				_, err := clients[who].Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=blue]/description", val)}})
				mu.Lock()
				got[status.Code(err)]++
				mu.Unlock()
			}
		}()
	}
	stormDone := make(chan struct{})
	go func() { wg.Wait(); close(stormDone) }()
	scrapes := 0
	for prev := before; ; scrapes++ {
		select {
		case <-stormDone:
		default:
			cur := scrape(t, addr)
			// One scrape is not a snapshot (a Set may start and end
			// between its counters' reads): every Set handled by the
			// previous scrape has started by this one.
			if s, h := value(cur, "netready_grpc_started_total", "method=Set"), value(prev, "netready_grpc_handled_total", "method=Set"); h > s {
				t.Fatalf("during the storm: %v Sets handled, only %v started by the next scrape", h, s)
			}
			for _, name := range []string{"netready_grpc_handled_total", "netready_commit_batch_size_sum", "netready_commit_log_records"} {
				if value(cur, name) < value(prev, name) {
					t.Fatalf("during the storm %s went back from %v to %v", name, value(prev, name), value(cur, name))
				}
			}
			prev = cur
			continue
		}
		break
	}
	after := scrape(t, addr)
	t.Logf("%d scrapes during the storm; codes %v", scrapes, got)

	total := 0
	for _, c := range []codes.Code{codes.OK, codes.InvalidArgument, codes.PermissionDenied, codes.Unauthenticated} {
		if got[c] == 0 {
			t.Errorf("no Set got %v: the storm does not exercise it", c)
		}
	}
	for c, n := range got {
		total += n
		for _, name := range []string{"netready_grpc_handled_total", "netready_grpc_handling_seconds_count"} {
			if d := value(after, name, "method=Set", "code="+c.String()) - value(before, name, "method=Set", "code="+c.String()); d != float64(n) {
				t.Errorf("%s{Set,%v} went up by %v, want %d", name, c, d, n)
			}
		}
	}
	delta := func(name string, labels ...string) float64 {
		return value(after, name, labels...) - value(before, name, labels...)
	}
	if d := delta("netready_grpc_handled_total", "method=Set"); d != float64(total) {
		t.Errorf("Sets handled went up by %v, want %d (codes nobody got were counted)", d, total)
	}
	if d := delta("netready_grpc_started_total", "method=Set"); d != float64(total) {
		t.Errorf("Sets started went up by %v, want %d", d, total)
	}
	ok := float64(got[codes.OK])
	if d := delta("netready_commit_batch_size_sum"); d != ok {
		t.Errorf("commit batches carried %v Sets, want %v", d, ok)
	}
	writes := delta("netready_commit_batch_size_count")
	if writes < 1 || writes > ok || delta("netready_store_write_seconds_count") != writes {
		t.Errorf("%v group commits, %v timed writes, for %v Sets", writes, delta("netready_store_write_seconds_count"), ok)
	}
	if d := delta("netready_commit_log_records"); d != ok {
		t.Errorf("commit log grew by %v, want %v", d, ok)
	}
	if d := delta("netready_audit_log_entries"); d < ok {
		t.Errorf("audit log grew by %v, want at least %v", d, ok)
	}
	if value(after, "netready_store_file_bytes") <= 0 {
		t.Error("no store file size")
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"netready_serving", nil, 1},
		{"netready_replica_role", []string{"role=standalone"}, 1},
		{"netready_subscribe_streams", nil, 1},
		{"netready_subscribe_queue_depth_count", nil, 1},
		{"netready_subscribe_sync_seconds_count", nil, 1},
		{"netready_grpc_started_total", []string{"method=Subscribe"}, 1},
	} {
		if v := value(after, c.name, c.labels...); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
}

// TestMetricsRealization: driver calls are timed and their failures
// counted per backend, for a webhook backend that takes a change, then
// refuses one.
func TestMetricsRealization(t *testing.T) {
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	ts := startWith(t, daemon.Config{Drivers: daemon.Drivers(), MetricsListen: "127.0.0.1:0"})
	ts.addBackend(t, "hook", webhookBackend("hook", srv.URL))
	ts.waitSyncState(t, "hook", "in-sync")
	ts.mustSet(t, setSite(t, "dc1", "cell"))
	m := scrape(t, ts.d.MetricsAddr())
	if v := value(m, "netready_realize_seconds_count", "backend=hook", "op=reconcile"); v < 1 {
		t.Errorf("reconciliations timed: %v, want at least 1", v)
	}
	if v := value(m, "netready_realize_seconds_count", "backend=hook", "op=apply"); v != 1 {
		t.Errorf("applies timed: %v, want 1", v)
	}
	if v := value(m, "netready_realize_failures_total", "backend=hook"); v != 0 {
		t.Errorf("failures before the receiver fails: %v", v)
	}
	h.set(http.StatusInternalServerError)
	_, err := ts.client.Set(ctx(t), setSite(t, "dc2", "cell"))
	wantCode(t, err, codes.Aborted, "500")
	m = scrape(t, ts.d.MetricsAddr())
	if v := value(m, "netready_realize_failures_total", "backend=hook", "op=apply"); v < 1 {
		t.Errorf("failed applies counted: %v, want at least 1", v)
	}
	if v := value(m, "netready_grpc_handled_total", "method=Set", "code=Aborted"); v != 1 {
		t.Errorf("Sets aborted: %v, want 1", v)
	}
}

// TestMetricsListen: no metrics listener unless asked; an address
// without a host is loopback, not every interface.
func TestMetricsListen(t *testing.T) {
	ts := start(t, "")
	if a := ts.d.MetricsAddr(); a != "" {
		t.Fatalf("metrics served on %s without --metrics-listen", a)
	}
	ts = startWith(t, daemon.Config{MetricsListen: ":0"})
	if a := ts.d.MetricsAddr(); !strings.HasPrefix(a, "127.0.0.1:") {
		t.Fatalf("--metrics-listen :0 listens on %s, want loopback", a)
	}
	if v := value(scrape(t, ts.d.MetricsAddr()), "netready_serving"); v != 1 {
		t.Fatalf("netready_serving = %v, want 1", v)
	}
	_, err := daemon.Start(context.Background(), daemon.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NoSouthbound: true, BcryptCost: 4, MetricsListen: "9464"}, quietLog())
	if err == nil || !strings.Contains(err.Error(), "--metrics-listen") {
		t.Fatalf("a port without a colon: %v, want an error naming --metrics-listen", err)
	}
}
