package daemon_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	clientv3 "go.etcd.io/etcd/client/v3"

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
