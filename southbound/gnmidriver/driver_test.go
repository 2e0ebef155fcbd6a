package gnmidriver_test

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
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/server/certs"
	"github.com/netready/netready/server/gnmipath"
	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/gnmidriver"
)

// target is a second NetReady serving as the downstream gNMI target.
type target struct {
	d      *daemon.Daemon
	dir    string
	pass   string
	client gpb.GNMIClient
}

// startTarget starts the target with the named testdata/models modules
// in its models dir.
func startTarget(t *testing.T, models ...string) *target {
	t.Helper()
	dir := t.TempDir()
	for _, m := range models {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "models", m))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "models"), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "models", m), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	d, err := daemon.Start(context.Background(), daemon.Config{Listen: "127.0.0.1:0", DataDir: dir, NoSouthbound: true, BcryptCost: 4},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	pass, err := os.ReadFile(filepath.Join(dir, daemon.InitialPasswordFile))
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(filepath.Join(dir, certs.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	conn, err := grpc.NewClient(d.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &target{d: d, dir: dir, pass: strings.TrimSpace(string(pass)), client: gpb.NewGNMIClient(conn)}
}

func (tg *target) ctx(t *testing.T) context.Context {
	return metadata.AppendToOutgoingContext(ctxT(t), "username", "admin", "password", tg.pass)
}

func ctxT(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func gpath(t *testing.T, s string) *gpb.Path {
	t.Helper()
	elems, err := gnmipath.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return &gpb.Path{Elem: elems}
}

// get returns the target's configuration at p, nil when it has none.
func (tg *target) get(t *testing.T, p string) any {
	t.Helper()
	resp, err := tg.client.Get(tg.ctx(t), &gpb.GetRequest{Path: []*gpb.Path{gpath(t, p)}, Encoding: gpb.Encoding_JSON_IETF, Type: gpb.GetRequest_CONFIG})
	if err != nil {
		if strings.Contains(err.Error(), "NotFound") {
			return nil
		}
		t.Fatalf("target get %s: %v", p, err)
	}
	var v any
	if err := json.Unmarshal(resp.GetNotification()[0].GetUpdate()[0].GetVal().GetJsonIetfVal(), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func (tg *target) set(t *testing.T, p, js string) {
	t.Helper()
	_, err := tg.client.Set(tg.ctx(t), &gpb.SetRequest{Update: []*gpb.Update{{Path: gpath(t, p), Val: &gpb.TypedValue{Value: &gpb.TypedValue_JsonIetfVal{JsonIetfVal: []byte(js)}}}}})
	if err != nil {
		t.Fatal(err)
	}
}

func (tg *target) backend(extra map[string]string) southbound.Backend {
	opts := map[string]string{
		southbound.PathsOption: "/sites",
		gnmidriver.OptCAFile:   filepath.Join(tg.dir, certs.CertFile),
		gnmidriver.OptUsername: "admin",
		gnmidriver.OptPassword: tg.pass,
	}
	for k, v := range extra {
		if v == "" {
			delete(opts, k)
		} else {
			opts[k] = v
		}
	}
	return southbound.Backend{Name: "dc-ctl", Driver: gnmidriver.Kind, Endpoint: tg.d.Addr(), Options: opts, Timeout: 10 * time.Second}
}

func (tg *target) open(t *testing.T, extra map[string]string) *gnmidriver.Driver {
	t.Helper()
	d, err := gnmidriver.New(tg.backend(extra))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func up(p, js string) southbound.DataChange {
	return southbound.DataChange{Op: southbound.DataUpdate, Path: p, JSON: []byte(js)}
}

func del(p string) southbound.DataChange {
	return southbound.DataChange{Op: southbound.DataDelete, Path: p}
}

func decoded(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func wantConfig(t *testing.T, tg *target, p, want string) {
	t.Helper()
	got := tg.get(t, p)
	var w any
	if want != "" {
		w = decoded(t, want)
	}
	if !reflect.DeepEqual(got, w) {
		gb, _ := json.Marshal(got)
		t.Fatalf("target %s:\n%s\nwant\n%s", p, gb, want)
	}
}

const dc1 = "/sites/site[name=dc1]"

func TestApplyData(t *testing.T) {
	tg := startTarget(t)
	d := tg.open(t, nil)
	create := []southbound.DataChange{
		up("/sites", `{}`),
		up(dc1, `{"name":"dc1","kind":"region","description":"first"}`),
		up(dc1+"/identifiers", `{"region-name":"r1"}`),
		up("/sites/site[name=dc2]", `{"name":"dc2","kind":"cell"}`),
	}
	if err := d.ApplyData(ctxT(t), create); err != nil {
		t.Fatal(err)
	}
	wantConfig(t, tg, dc1, `{"name":"dc1","kind":"region","description":"first","identifiers":{"region-name":"r1"}}`)
	wantConfig(t, tg, "/sites/site[name=dc2]", `{"name":"dc2","kind":"cell"}`)

	// Replayed: the same.
	if err := d.ApplyData(ctxT(t), create); err != nil {
		t.Fatal(err)
	}
	// A removed leaf goes on the target too; children stay.
	if err := d.ApplyData(ctxT(t), []southbound.DataChange{up(dc1, `{"name":"dc1","kind":"cell"}`)}); err != nil {
		t.Fatal(err)
	}
	wantConfig(t, tg, dc1, `{"name":"dc1","kind":"cell","identifiers":{"region-name":"r1"}}`)
	// An object and one below it in the same call: both lose their
	// removed leaves.
	if err := d.ApplyData(ctxT(t), []southbound.DataChange{
		up(dc1, `{"name":"dc1","kind":"cell","description":"d"}`), up(dc1+"/identifiers", `{"region-name":"r1","cell-name":"c1"}`),
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.ApplyData(ctxT(t), []southbound.DataChange{
		up(dc1, `{"name":"dc1","kind":"cell"}`), up(dc1+"/identifiers", `{"cell-name":"c1"}`),
	}); err != nil {
		t.Fatal(err)
	}
	wantConfig(t, tg, dc1, `{"name":"dc1","kind":"cell","identifiers":{"cell-name":"c1"}}`)

	// Deletes, also of what is missing, and updates in one Set.
	if err := d.ApplyData(ctxT(t), []southbound.DataChange{
		del("/sites/site[name=dc2]"), del("/sites/site[name=nowhere]"), up("/sites/site[name=dc3]", `{"name":"dc3","kind":"cloud-instance"}`),
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.ApplyData(ctxT(t), []southbound.DataChange{del("/sites/site[name=dc2]")}); err != nil {
		t.Fatalf("delete of a missing object: %v", err)
	}
	wantConfig(t, tg, "/sites/site[name=dc2]", "")
	wantConfig(t, tg, "/sites/site[name=dc3]", `{"name":"dc3","kind":"cloud-instance"}`)

	// A change the target refuses fails as a whole, naming the target and
	// what is wrong; the other change of the Set is not made.
	err := d.ApplyData(ctxT(t), []southbound.DataChange{
		up("/sites/site[name=dc4]", `{"name":"dc4","kind":"cell"}`),
		up("/sites/site[name=dc5]", `{"name":"dc5","kind":"planet"}`),
	})
	if err == nil || !strings.Contains(err.Error(), "target "+tg.d.Addr()) || !strings.Contains(err.Error(), "planet") {
		t.Fatalf("refused change: %v", err)
	}
	t.Logf("refused: %v", err)
	wantConfig(t, tg, "/sites/site[name=dc4]", "")
}

func TestPathPrefixAndTarget(t *testing.T) {
	tg := startTarget(t)
	// Our /x/site[name=dc1] is the target's /sites/site[name=dc1].
	d := tg.open(t, map[string]string{gnmidriver.OptPathPrefix: "/sites", southbound.PathsOption: "/x"})
	if err := d.ApplyData(ctxT(t), []southbound.DataChange{up("/site[name=dc1]", `{"name":"dc1","kind":"cell"}`)}); err != nil {
		t.Fatal(err)
	}
	wantConfig(t, tg, dc1, `{"name":"dc1","kind":"cell"}`)
}

func TestReconcileData(t *testing.T) {
	tg := startTarget(t)
	d := tg.open(t, nil)
	state := []southbound.DataChange{
		up("/sites", `{}`),
		up(dc1, `{"name":"dc1","kind":"region"}`),
		up(dc1+"/identifiers", `{"region-name":"r1"}`),
		up("/sites/site[name=dc2]", `{"name":"dc2","kind":"cell"}`),
	}
	// The target has an extra site, dc1 with a different kind and an
	// extra leaf, and lacks dc2.
	tg.set(t, "/sites", `{"site":[{"name":"dc1","kind":"cell","description":"stale","identifiers":{"region-name":"r1"}},{"name":"dc9","kind":"cell"}]}`)
	drift, err := d.ReconcileData(ctxT(t), state)
	if err != nil {
		t.Fatal(err)
	}
	a := "target " + tg.d.Addr() + ": "
	want := []string{
		a + `/sites/site[name=dc1]: kind is "cell", want "region"`,
		a + `/sites/site[name=dc1]: description extra ("stale")`,
		a + "/sites/site[name=dc2] missing",
		a + "/sites/site[name=dc9] extra",
	}
	if !slices.Equal(drift, want) {
		t.Errorf("drift\n%q\nwant\n%q", drift, want)
	}
	wantConfig(t, tg, "/sites", `{"site":[{"name":"dc1","kind":"region","identifiers":{"region-name":"r1"}},{"name":"dc2","kind":"cell"}]}`)

	// In sync now.
	if drift, err := d.ReconcileData(ctxT(t), state); err != nil || len(drift) != 0 {
		t.Errorf("second reconciliation: %q, %v", drift, err)
	}

	// An empty state: the carried subtrees (the paths option) go.
	drift, err = d.ReconcileData(ctxT(t), nil)
	if err != nil || !slices.Equal(drift, []string{a + "/sites extra"}) {
		t.Errorf("empty state: %q, %v", drift, err)
	}
	wantConfig(t, tg, "/sites", "")
	if drift, err := d.ReconcileData(ctxT(t), nil); err != nil || len(drift) != 0 {
		t.Errorf("empty state on an empty target: %q, %v", drift, err)
	}
	// From nothing, everything is missing.
	drift, err = d.ReconcileData(ctxT(t), state)
	if err != nil || !slices.Equal(drift, []string{a + "/sites missing"}) {
		t.Errorf("empty target: %q, %v", drift, err)
	}
	wantConfig(t, tg, "/sites", `{"site":[{"name":"dc1","kind":"region","identifiers":{"region-name":"r1"}},{"name":"dc2","kind":"cell"}]}`)
}

// TestEscapedKeys: key values holding the characters gNMI path strings
// escape (] and \) or leave as they are (/, [, =) reach the target as the
// same keys, and reconciliation finds them in sync. ygot's parser failed
// on x]/y and read a\]\\b as a]b.
func TestEscapedKeys(t *testing.T) {
	tg := startTarget(t, "example-probe.yang")
	d := tg.open(t, map[string]string{southbound.PathsOption: "/probe"})
	ids := []string{"x]/y", `a\]\\b`, "=", "[", "l1\nl2"}
	state := []southbound.DataChange{up("/probe", `{}`)}
	for i, id := range ids {
		p := []*gpb.PathElem{{Name: "probe"}, {Name: "item", Key: map[string]string{"id": id}}}
		js, _ := json.Marshal(map[string]string{"id": id, "target": strconv.Itoa(i)})
		state = append(state, up(gnmipath.String(p), string(js)))
	}
	if err := d.ApplyData(ctxT(t), state); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		p := &gpb.Path{Elem: []*gpb.PathElem{{Name: "probe"}, {Name: "item", Key: map[string]string{"id": id}}, {Name: "target"}}}
		resp, err := tg.client.Get(tg.ctx(t), &gpb.GetRequest{Path: []*gpb.Path{p}, Encoding: gpb.Encoding_JSON_IETF})
		if err != nil {
			t.Fatalf("item %q on the target: %v", id, err)
		}
		if got := string(resp.GetNotification()[0].GetUpdate()[0].GetVal().GetJsonIetfVal()); got != strconv.Quote(strconv.Itoa(i)) {
			t.Errorf("item %q target = %s, want %d", id, got, i)
		}
	}
	if drift, err := d.ReconcileData(ctxT(t), state); err != nil || len(drift) != 0 {
		t.Errorf("reconciliation of what was just applied: %q, %v", drift, err)
	}
	// Drift names the entry in the same form.
	tg.set(t, `/probe/item[id=x\]/y]/target`, `"moved"`)
	drift, err := d.ReconcileData(ctxT(t), state)
	if want := "target " + tg.d.Addr() + `: /probe/item[id=x\]/y]: target is "moved", want "0"`; err != nil || !slices.Equal(drift, []string{want}) {
		t.Errorf("drift %q, %v; want %q", drift, err, want)
	}
}

func TestConnectionFailures(t *testing.T) {
	tg := startTarget(t)
	// Wrong password.
	d := tg.open(t, map[string]string{gnmidriver.OptPassword: "wrong"})
	err := d.ApplyData(ctxT(t), []southbound.DataChange{up(dc1, `{"name":"dc1","kind":"cell"}`)})
	if err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
		t.Errorf("wrong password: %v", err)
	}
	// Unverified certificate (no ca-file, system roots).
	d = tg.open(t, map[string]string{gnmidriver.OptCAFile: ""})
	if err := d.ApplyData(ctxT(t), []southbound.DataChange{up(dc1, `{"name":"dc1","kind":"cell"}`)}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("unverified target: %v", err)
	}
	// skip-verify connects.
	d = tg.open(t, map[string]string{gnmidriver.OptCAFile: "", gnmidriver.OptTLS: "skip-verify"})
	if err := d.ApplyData(ctxT(t), []southbound.DataChange{up(dc1, `{"name":"dc1","kind":"cell"}`)}); err != nil {
		t.Errorf("skip-verify: %v", err)
	}
	// A stopped target: the context bounds the call.
	d = tg.open(t, nil)
	tg.d.Stop()
	c, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := d.ApplyData(c, []southbound.DataChange{del(dc1)}); err == nil || !strings.Contains(err.Error(), tg.d.Addr()) {
		t.Errorf("stopped target: %v", err)
	}
}

func TestBadConfig(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "x.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		endpoint string
		opts     map[string]string
		want     string
	}{
		{"h:9339", map[string]string{"colour": "red"}, `unknown option "colour"`},
		{"h", nil, "want host:port"},
		{":9339", nil, "with a host and a port"},
		{"h:port", nil, "with a host and a port"},
		{"h:70000", nil, "with a host and a port"},
		{"h:9339", map[string]string{gnmidriver.OptTLS: "maybe"}, "want on, skip-verify or off"},
		{"192.0.2.1:9339", map[string]string{gnmidriver.OptTLS: "off"}, "only allowed for a loopback"},
		{"127.0.0.1:9339", map[string]string{gnmidriver.OptTLS: "off", gnmidriver.OptCAFile: notPEM}, "of no use"},
		{"h:9339", map[string]string{gnmidriver.OptTLS: "skip-verify", gnmidriver.OptCAFile: notPEM}, "of no use"},
		{"h:9339", map[string]string{gnmidriver.OptCAFile: filepath.Join(dir, "none")}, "ca-file"},
		{"h:9339", map[string]string{gnmidriver.OptCAFile: notPEM}, "no PEM certificate"},
		{"h:9339", map[string]string{gnmidriver.OptUsername: "admin"}, "go together"},
		{"h:9339", map[string]string{gnmidriver.OptPathPrefix: "/a[b"}, "path-prefix"},
		{"h:9339", map[string]string{southbound.PathsOption: "/sites/site[name=a]"}, "keys are not supported"},
	} {
		_, err := gnmidriver.Open(context.Background(), southbound.Backend{Name: "b", Driver: gnmidriver.Kind, Endpoint: c.endpoint, Options: c.opts})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: error %v, want one with %q", c.endpoint, c.opts, err, c.want)
		}
	}
	for _, ok := range []map[string]string{
		{gnmidriver.OptTLS: "off"},
		{gnmidriver.OptTLS: "on", gnmidriver.OptTarget: "t1", gnmidriver.OptPathPrefix: "/a/b[k=v]", southbound.PathsOption: "/netready-georedundancy:sites, /connections"},
	} {
		d, err := gnmidriver.Open(context.Background(), southbound.Backend{Name: "b", Driver: gnmidriver.Kind, Endpoint: "localhost:9339", Options: ok})
		if err != nil {
			t.Errorf("%v: %v", ok, err)
			continue
		}
		_ = d.Close()
	}
}

func TestLeafListsAndNestedLists(t *testing.T) {
	tg := startTarget(t)
	d := tg.open(t, map[string]string{southbound.PathsOption: "/tenants"})
	const tn = "/tenants/tenant[name=t1]"
	vpn := tn + "/vpns/vpn[name=v1]"
	for _, rds := range []string{`["65000:1","65000:2","65000:3"]`, `["65000:2"]`, `["65000:3","65000:1"]`} {
		v := `{"name":"v1","route-distinguisher":` + rds + `}`
		if err := d.ApplyData(ctxT(t), []southbound.DataChange{up(tn, `{"name":"t1"}`), up(vpn, v)}); err != nil {
			t.Fatal(err)
		}
		if got, want := tg.get(t, vpn+"/route-distinguisher"), decoded(t, rds); !reflect.DeepEqual(got, want) {
			t.Fatalf("route-distinguisher %v, want %v", got, want)
		}
	}
	a := "target " + tg.d.Addr() + ": "
	// Reconciliation compares leaf-lists as a whole.
	tg.set(t, vpn+"/route-distinguisher", `["65000:9"]`)
	state := []southbound.DataChange{up("/tenants", `{}`), up(tn, `{"name":"t1"}`), up(tn+"/vpns", `{}`),
		up(vpn, `{"name":"v1","route-distinguisher":["65000:1"]}`)}
	// The target's Get has default values (vrf-policy, anycast/...) the
	// state leaves out: not drift.
	drift, err := d.ReconcileData(ctxT(t), state)
	if want := []string{a + vpn + `: route-distinguisher is ["65000:9"], want ["65000:1"]`}; err != nil || !slices.Equal(drift, want) {
		t.Errorf("drift %q, %v; want %q", drift, err, want)
	}
	if got := tg.get(t, vpn+"/route-distinguisher"); !reflect.DeepEqual(got, decoded(t, `["65000:1"]`)) {
		t.Fatalf("route-distinguisher %v after reconciliation", got)
	}
	if drift, err := d.ReconcileData(ctxT(t), state); err != nil || len(drift) != 0 {
		t.Errorf("in sync: drift %q, %v", drift, err)
	}

	// A list the state has no entry of: its keys are unknown, it goes as
	// a whole. (The target's own rules want the route target owned.)
	tg.set(t, "/route-targets/route-target[value=65000:1]", `{"owner":"t1"}`)
	tg.set(t, vpn+"/route-target[value=65000:1]", `{"value":"65000:1"}`)
	drift, err = d.ReconcileData(ctxT(t), state)
	if want := []string{a + vpn + "/route-target: entries extra"}; err != nil || !slices.Equal(drift, want) {
		t.Errorf("drift %q, %v; want %q", drift, err, want)
	}
	if got := tg.get(t, vpn+"/route-target"); got != nil {
		t.Errorf("route-target after reconciliation: %v", got)
	}
	drift, err = d.ReconcileData(ctxT(t), state[:2])
	if want := []string{a + tn + "/vpns extra"}; err != nil || !slices.Equal(drift, want) {
		t.Errorf("drift %q, %v; want %q", drift, err, want)
	}
	if got := tg.get(t, tn); !reflect.DeepEqual(got, decoded(t, `{"name":"t1"}`)) {
		t.Errorf("tenant after reconciliation: %v", got)
	}
}
