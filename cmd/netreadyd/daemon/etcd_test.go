package daemon_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/server/store/etcdstore/etcdtest"
)

// etcdConfig is a server configuration storing in the cluster c under
// prefix.
func etcdConfig(t testing.TB, c *etcdtest.Cluster, prefix string) daemon.Config {
	return daemon.Config{Store: daemon.StoreEtcd, Etcd: daemon.EtcdConfig{Endpoints: c.Endpoints, Prefix: prefix}}
}

// TestEtcdStore: a server with --store etcd keeps its configuration in
// the cluster (no local database file), and a restarted server serves
// what the first stored.
func TestEtcdStore(t *testing.T) {
	c := etcdtest.Start(t, 3)
	ts := startWith(t, etcdConfig(t, c, "/nr/"))
	untilLeads(t, ts, &gpb.SetRequest{Update: []*gpb.Update{{Path: &gpb.Path{}, Val: jsonIETF(string(scenario(t, "hub-and-spoke")))}}})
	want := ts.config(t)
	if _, err := os.Stat(filepath.Join(ts.dir, daemon.DBFile)); !os.IsNotExist(err) {
		t.Fatalf("a bbolt file was created: %v", err)
	}
	resp, err := c.Client(t).Get(context.Background(), "/nr/rows/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count == 0 {
		t.Fatalf("rows in etcd: %v, err %v", resp.Count, err)
	}
	ts = ts.restart(t)
	if got := ts.config(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("after restart:\n got %v\nwant %v", got, want)
	}
	if _, err := ts.get(t, "/", gpb.GetRequest_STATE); err != nil {
		t.Fatal(err)
	}
}

// TestEtcdTLSAndUser: a replica reaches an etcd cluster that requires
// TLS with client certificates and authentication as --etcd-cert,
// --etcd-key, --etcd-ca, --etcd-user and --etcd-password-file say; a
// wrong password is refused at start with etcd's reason.
func TestEtcdTLSAndUser(t *testing.T) {
	c, f := etcdtest.StartTLS(t, 3)
	ec := daemon.EtcdConfig{Endpoints: c.Endpoints, Prefix: "/sec/", CAFile: f.CA, CertFile: f.ClientCert, KeyFile: f.ClientKey}
	admin, err := daemon.EtcdClient(ec)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	bg := context.Background()
	if _, err := admin.UserAdd(bg, "root", "root-secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UserGrantRole(bg, "root", "root"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AuthEnable(bg); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pw := filepath.Join(dir, "etcd-password")
	if err := os.WriteFile(pw, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ec.User, ec.PasswordFile = "root", pw
	cfg := daemon.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NoSouthbound: true, BcryptCost: 4, Store: daemon.StoreEtcd, Etcd: ec}
	if d, err := daemon.Start(bg, cfg, quietLog()); err == nil {
		d.Stop()
		t.Fatal("started with a wrong etcd password")
	} else if !strings.Contains(err.Error(), "authentication failed") {
		t.Fatalf("wrong password: %v", err)
	}
	if err := os.WriteFile(pw, []byte("root-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := startWith(t, cfg)
	untilLeads(t, ts, mtuSetup(t))
	if _, err := ts.get(t, "/tenants", gpb.GetRequest_CONFIG); err != nil {
		t.Fatal(err)
	}
}

// TestEtcdSetTooLarge: a Set whose rows exceed etcd's --max-txn-ops is
// refused whole with RESOURCE_EXHAUSTED naming the limit; nothing of it
// is served, and the next Set is taken.
func TestEtcdSetTooLarge(t *testing.T) {
	c := etcdtest.Start(t, 3)
	ts := startWith(t, etcdConfig(t, c, "/big/"))
	untilLeads(t, ts, mtuSetup(t))
	before := ts.config(t)
	n := etcdtest.MaxTxnOps/3 + 100 // 3 rows per object triple
	_, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{
		{Path: path(t, "/tenants/tenant[name=huge]"), Val: jsonIETF(bulkDoc("huge", 7, n))},
		{Path: path(t, "/route-targets/route-target[value=64512:7]"), Val: jsonIETF(`{"owner":"huge"}`)},
	}})
	wantCode(t, err, codes.ResourceExhausted, "max-txn-ops")
	if got := ts.config(t); !reflect.DeepEqual(got, before) {
		t.Fatal("a refused Set changed the configuration")
	}
	ts.mustSet(t, mtuSet(t, 1234))
}
