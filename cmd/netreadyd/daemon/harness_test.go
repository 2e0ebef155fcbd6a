package daemon_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/server/certs"
	"github.com/netready/netready/server/gnmipath"
)

// testServer is a real netreadyd (TLS, bbolt file, TCP listener on
// loopback) and a gNMI client connected to it.
type testServer struct {
	d      *daemon.Daemon
	dir    string
	cfg    daemon.Config
	creds  password
	client gpb.GNMIClient
	conn   *grpc.ClientConn
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// start runs a server on dir (a fresh temp dir when empty) and connects.
func start(t testing.TB, dir string) *testServer {
	t.Helper()
	return startWith(t, daemon.Config{DataDir: dir})
}

// startWith runs a server with cfg (Listen and an empty DataDir filled in),
// connected as the admin user it creates on first start.
func startWith(t testing.TB, cfg daemon.Config) *testServer {
	t.Helper()
	return startWithCreds(t, cfg, password{})
}

// startWithCreds is startWith connecting as creds (none: the admin user
// created on first start).
func startWithCreds(t testing.TB, cfg daemon.Config, creds password) *testServer {
	t.Helper()
	return startLogged(t, cfg, creds, quietLog())
}

// startLogged is startWithCreds logging to log.
func startLogged(t testing.TB, cfg daemon.Config, creds password, log *slog.Logger) *testServer {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.Listen = "127.0.0.1:0"
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = 4 // bcrypt.MinCost: test servers need no strong hashes
	}
	// The gNMI behaviour tests store the scenarios without realizing them;
	// realization tests give the drivers they run (realize_test.go).
	if cfg.Drivers == nil {
		cfg.NoSouthbound = true
	}
	keepGCPercent(t)
	d, err := daemon.Start(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	dir := cfg.DataDir
	ts := &testServer{d: d, dir: dir, cfg: cfg, creds: creds}
	if creds.user == "" {
		ts.creds = password{"admin", adminPassword(t, dir)}
	}
	ts.conn = dialAs(t, d.Addr(), dir, ts.creds)
	ts.client = gpb.NewGNMIClient(ts.conn)
	t.Cleanup(ts.stop)
	return ts
}

// keepGCPercent gives the process back its garbage collector target when
// the test ends: the server sets its own (--gc-percent), and a floor
// benchmark run after a server's must not inherit it.
func keepGCPercent(t testing.TB) {
	gogc := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(gogc)
	t.Cleanup(func() { debug.SetGCPercent(int(gogc[0].Value.Uint64())) })
}

// password authenticates as a gNMI client does: metadata on every RPC.
type password struct{ user, pass string }

func (p password) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"username": p.user, "password": p.pass}, nil
}

func (password) RequireTransportSecurity() bool { return true }

// adminPassword is the password the server generated on first start.
func adminPassword(t testing.TB, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, daemon.InitialPasswordFile))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// dialAs connects with TLS as the given user, with extra options.
func dialAs(t testing.TB, addr, dir string, creds password, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(dir, certs.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("bad certificate")
	}
	tlsCreds := credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12})
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(tlsCreds), grpc.WithPerRPCCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(512<<20), grpc.MaxCallSendMsgSize(512<<20))}, opts...)
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func (ts *testServer) stop() {
	if ts.d == nil {
		return
	}
	ts.conn.Close()
	ts.d.Stop()
	ts.d = nil
}

// restart stops the server and starts a new one with the same
// configuration and data dir.
func (ts *testServer) restart(t testing.TB) *testServer {
	ts.stop()
	return startWithCreds(t, ts.cfg, ts.creds)
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func path(t testing.TB, s string) *gpb.Path {
	t.Helper()
	elems, err := gnmipath.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return &gpb.Path{Elem: elems}
}

func jsonIETF(s string) *gpb.TypedValue {
	return &gpb.TypedValue{Value: &gpb.TypedValue_JsonIetfVal{JsonIetfVal: []byte(s)}}
}

func scenario(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "scenarios", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// setRoot applies a JSON_IETF document at the root as one update, as
// `gnmic set --update-path / --update-file FILE` does.
func (ts *testServer) setRoot(t testing.TB, doc []byte) *gpb.SetResponse {
	t.Helper()
	resp, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{{Path: &gpb.Path{}, Val: jsonIETF(string(doc))}}})
	if err != nil {
		t.Fatalf("set root: %v", err)
	}
	return resp
}

// get returns the JSON_IETF value at p decoded, or the error.
func (ts *testServer) get(t testing.TB, p string, typ gpb.GetRequest_DataType) (any, error) {
	t.Helper()
	resp, err := ts.client.Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, p)}, Encoding: gpb.Encoding_JSON_IETF, Type: typ})
	if err != nil {
		return nil, err
	}
	if n := len(resp.GetNotification()); n != 1 {
		t.Fatalf("get %s: %d notifications, want 1", p, n)
	}
	ups := resp.GetNotification()[0].GetUpdate()
	if len(ups) != 1 {
		t.Fatalf("get %s: %d updates, want 1", p, len(ups))
	}
	var v any
	if err := json.Unmarshal(ups[0].GetVal().GetJsonIetfVal(), &v); err != nil {
		t.Fatalf("get %s: bad JSON: %v", p, err)
	}
	return v, nil
}

// config returns the whole configuration as decoded JSON_IETF.
func (ts *testServer) config(t testing.TB) any {
	t.Helper()
	v, err := ts.get(t, "/", gpb.GetRequest_CONFIG)
	if err != nil {
		t.Fatalf("get config: %v", err)
	}
	return v
}

func wantCode(t testing.TB, err error, code codes.Code, msgPart string) {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code {
		t.Fatalf("got %v (%v), want code %v", st.Code(), err, code)
	}
	if !strings.Contains(st.Message(), msgPart) {
		t.Fatalf("message %q does not mention %q", st.Message(), msgPart)
	}
}

func equalJSON(a, b any) bool { return reflect.DeepEqual(a, b) }
