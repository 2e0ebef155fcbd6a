package daemon_test

import (
	"context"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/server/store/etcdstore/etcdtest"
	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/linuxfwd/lab"
)

// openDrivers counts one replica's open Linux vForwarder drivers.
type openDrivers struct{ opened, open atomic.Int64 }

// countedDriver is the real Linux vForwarder driver (every optional
// interface promoted), counted when it closes.
type countedDriver struct {
	*linuxfwd.Driver
	n *openDrivers
}

func (c countedDriver) Close() error {
	c.n.open.Add(-1)
	return c.Driver.Close()
}

// counting is the built-in registry with the Linux vForwarder counted.
func counting(n *openDrivers) southbound.Registry {
	r := daemon.Drivers()
	p := r[linuxfwd.Kind]
	open := p.Open
	p.Open = func(ctx context.Context, b southbound.Backend) (southbound.Driver, error) {
		d, err := open(ctx, b)
		if err != nil {
			return nil, err
		}
		n.opened.Add(1)
		n.open.Add(1)
		return countedDriver{Driver: d.(*linuxfwd.Driver), n: n}, nil
	}
	r[linuxfwd.Kind] = p
	return r
}

// realizingReplica is a replica with counted real drivers on the lab.
type realizingReplica struct {
	*realized
	drivers *openDrivers
}

func startRealizingReplica(t testing.TB, c *etcdtest.Cluster, l *lab.Lab, name string) *realizingReplica {
	t.Helper()
	n := &openDrivers{}
	cfg := etcdConfig(t, c, "/r/")
	cfg.Etcd.Name, cfg.Drivers = name, counting(n)
	// Both vendors on the counted Linux vForwarder: the test is about who
	// realizes, not about which driver.
	r := &realized{testServer: startWith(t, cfg), lab: l, vendorB: linuxfwd.Kind}
	return &realizingReplica{realized: r, drivers: n}
}

// untilOpen waits until rep holds want open drivers.
func untilOpen(t testing.TB, rep *realizingReplica, want int64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for rep.drivers.open.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d drivers open, want %d", rep.cfg.Etcd.Name, rep.drivers.open.Load(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// untilRoute waits until the VRF namespace ns routes dst again, and
// says when.
func untilRoute(t testing.TB, l *lab.Lab, ns, dst string) time.Time {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if out, _ := l.IP(ns, "route", "show", dst+"/32"); strings.TrimSpace(out) != "" {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never routes %s again", ns, dst)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// realizingReplicas starts a lab, an etcd cluster of members and one
// realizing replica per name: the first leads with the any-to-any
// scenario, the others follow and hold its configuration.
func realizingReplicas(t testing.TB, members int, names ...string) (*lab.Lab, *etcdtest.Cluster, []*realizingReplica) {
	t.Helper()
	l := lab.New(t, lab.RandomPrefix(), map[string]netip.Addr{"host-a": hostA, "host-b": hostB})
	c := etcdtest.Start(t, members)
	leader := startRealizingReplica(t, c, l, names[0])
	doc := leader.labScenario(t, "any-to-any")
	untilLeads(t, leader.testServer, &gpb.SetRequest{Update: []*gpb.Update{{Path: &gpb.Path{}, Val: jsonIETF(string(doc))}}})
	rs := []*realizingReplica{leader}
	for _, name := range names[1:] {
		rs = append(rs, startRealizingReplica(t, c, l, name))
	}
	for _, r := range rs[1:] {
		untilSame(t, r.testServer, leader.config(t))
	}
	return l, c, rs
}

// TestReplicasRealizeFromLeaderOnly: three replicas on one etcd cluster
// and one lab. Only the leader opens drivers and realizes; a route
// removed by hand is put back by the reconciliation of the replica that
// takes over when the leader stops; a leader deposed behind its back
// (its lease revoked) closes its drivers, and the next leader reconciles.
func TestReplicasRealizeFromLeaderOnly(t *testing.T) {
	l, c, rs := realizingReplicas(t, 1, "a", "b", "c")
	cli := c.Client(t)
	a, b, cr := rs[0], rs[1], rs[2]

	g1 := a.guest("host-a", "blue/blue/g1", "10.1.1.5/24")
	a.guest("host-b", "blue/blue/g3", "10.1.1.6/24")
	reach(t, g1, "10.1.1.6")
	if n := a.drivers.open.Load(); n != 2 {
		t.Fatalf("leader has %d drivers open, want 2", n)
	}
	for _, f := range []*realizingReplica{b, cr} {
		if n := f.drivers.opened.Load(); n != 0 {
			t.Fatalf("follower %s opened %d drivers", f.cfg.Etcd.Name, n)
		}
	}

	// Fail-over: the route to g3 is removed by hand; the leader stops.
	ns := vrfWithRoute(t, a.realized, "host-a", "10.1.1.6")
	if out, err := l.IP(ns, "route", "del", "10.1.1.6/32"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	noReach(t, g1, "10.1.1.6")
	stopped := time.Now()
	a.stop()
	back := untilRoute(t, l, ns, "10.1.1.6")
	t.Logf("fail-over: leader stopped to backends reconciled by the new leader in %v", back.Sub(stopped))
	reach(t, g1, "10.1.1.6")
	if a.drivers.open.Load() != 0 {
		t.Errorf("stopped leader left %d drivers open", a.drivers.open.Load())
	}
	untilOpen(t, b, 2)
	if n := cr.drivers.opened.Load(); n != 0 {
		t.Fatalf("follower c opened %d drivers", n)
	}

	// Depose b behind its back, the route to g3 removed by hand again: b
	// closes its drivers without touching the backends, c takes over and
	// reconciles.
	if out, err := l.IP(ns, "route", "del", "10.1.1.6/32"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	deposed := time.Now()
	depose(t, cli)
	back = untilRoute(t, l, ns, "10.1.1.6")
	t.Logf("fail-over: leader deposed to backends reconciled by the new leader in %v", back.Sub(deposed))
	untilOpen(t, b, 0)
	untilOpen(t, cr, 2)
	reach(t, g1, "10.1.1.6")
	_, err := b.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=vendor-a]/reconcile-request", `"7"`)}})
	wantCode(t, err, codes.Unavailable, "")
	if n := b.drivers.open.Load(); n != 0 {
		t.Fatalf("deposed leader reopened %d drivers", n)
	}
	cr.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/backends/backend[name=vendor-a]/reconcile-request", `"8"`)}})
}

// depose revokes the election lease of the replica that leads on /r/.
func depose(t testing.TB, cli *clientv3.Client) {
	t.Helper()
	resp, err := cli.Get(context.Background(), "/r/election/", clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("election key: %v", err)
	}
	if _, err := cli.Revoke(context.Background(), clientv3.LeaseID(resp.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
}
