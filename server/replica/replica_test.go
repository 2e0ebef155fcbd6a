package replica_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/openconfig/ygot/ygot"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/replica"
	"github.com/netready/netready/server/rules"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/store/etcdstore"
	"github.com/netready/netready/server/store/etcdstore/etcdtest"
	"github.com/netready/netready/server/tree"
	netreadyyang "github.com/netready/netready/yang"
)

func openDS(t *testing.T, sch *schema.Schema, st *etcdstore.Store, opts datastore.Options) *datastore.Datastore {
	t.Helper()
	ds, err := datastore.Open(context.Background(), sch, st, rules.All(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds
}

func set(t *testing.T, ds *datastore.Datastore, p, js string) {
	t.Helper()
	gp, err := ygot.StringToStructuredPath(p)
	if err != nil {
		t.Fatal(err)
	}
	path, err := tree.Resolve(ds.Schema().Root, gp.GetElem())
	if err != nil {
		t.Fatal(err)
	}
	payload, err := tree.DecodeJSON(path, []byte(js), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ds.Apply(context.Background(), &datastore.Request{Ops: []datastore.Op{{Kind: datastore.Update, Path: path, Payload: payload}}}); err != nil {
		t.Fatal(err)
	}
}

// TestFollowerResyncsAfterCompaction: a replica whose copy is older than
// etcd's compacted history cannot watch from where it loaded; it loads
// afresh and publishes the difference as one change, ending with the
// writer's configuration.
func TestFollowerResyncsAfterCompaction(t *testing.T) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		t.Fatal(err)
	}
	c := etcdtest.Start(t, 3)
	cli := c.Client(t)
	bg := context.Background()
	ws, err := etcdstore.Open(bg, cli, etcdstore.Options{Prefix: "/c/"})
	if err != nil {
		t.Fatal(err)
	}
	writer := openDS(t, sch, ws, datastore.Options{})
	set(t, writer, "/backends/backend[name=b]", `{"driver": "linux-vforwarder"}`)
	set(t, writer, "/hosts/host[name=h]", `{"backend": "b"}`)

	fs, err := etcdstore.Open(bg, cli, etcdstore.Options{Prefix: "/c/", Guarded: true})
	if err != nil {
		t.Fatal(err)
	}
	follower := openDS(t, sch, fs, datastore.Options{})
	feed := follower.Watch()
	set(t, writer, "/tenants/tenant[name=t]", `{}`)
	set(t, writer, "/tenants/tenant[name=t]/ports/port[name=p]", `{"host": "h", "mtu": 9000}`)
	resp, err := cli.Get(bg, "/c/meta/last")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(bg, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}

	r := replica.New(cli, fs, replica.Options{Name: "f", TTL: 2 * time.Second})
	r.Start(follower, "127.0.0.1:1")
	defer r.Close()
	ctx, cancel := context.WithTimeout(bg, 20*time.Second)
	defer cancel()
	evs, err := feed.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := writer.Snapshot().CommitID
	if len(evs) != 1 || evs[0].CommitID != last {
		t.Fatalf("resync published %d events (first for commit %d), want one for commit %d", len(evs), evs[0].CommitID, last)
	}
	if got, want := tree.AllRows(follower.Snapshot().Root), tree.AllRows(writer.Snapshot().Root); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the resync the follower holds\n%v\nwant\n%v", got, want)
	}
}
