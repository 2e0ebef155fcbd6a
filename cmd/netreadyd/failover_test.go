package main_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/store/etcdstore/etcdtest"
)

// replicaSet is three netreadyd processes sharing a datastore in an
// embedded three-member etcd cluster.
type replicaSet struct {
	bin   string
	flags []string // every replica's, restarts included

	mu      sync.Mutex // clients and procs change when a replica restarts
	procs   []*daemon
	clients []gpb.GNMIClient
	dirs    []string
}

// startReplicaSet starts three replicas on c with the extra flags.
func startReplicaSet(t testing.TB, bin string, c *etcdtest.Cluster, extra ...string) *replicaSet {
	t.Helper()
	rs := &replicaSet{bin: bin, flags: append([]string{"--store", "etcd", "--etcd-endpoints", strings.Join(c.Endpoints, ","),
		"--etcd-prefix", "/f/"}, extra...)}
	for i := range 3 {
		dir := t.TempDir()
		d := startDaemon(t, bin, dir, append(slices.Clone(rs.flags), "--replica-name", fmt.Sprint("r", i))...)
		rs.procs, rs.dirs = append(rs.procs, d), append(rs.dirs, dir)
		rs.clients = append(rs.clients, connect(t, d.addr, dir))
	}
	return rs
}

// client is replica i's gNMI client.
func (rs *replicaSet) client(i int) gpb.GNMIClient {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.clients[i]
}

// kill kills replica i with SIGKILL and waits for it to be gone.
func (rs *replicaSet) kill(t testing.TB, i int) {
	t.Helper()
	rs.mu.Lock()
	p := rs.procs[i]
	rs.mu.Unlock()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

// restart starts replica i again on its data dir.
func (rs *replicaSet) restart(t testing.TB, i int) {
	t.Helper()
	d := startDaemon(t, rs.bin, rs.dirs[i], append(slices.Clone(rs.flags), "--replica-name", fmt.Sprint("r", i))...)
	c := connect(t, d.addr, rs.dirs[i])
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.procs[i], rs.clients[i] = d, c
}

// set sends req to replica first, and on Unavailable (a follower, or a
// replica gone) to the next, as a gNMI client that knows all replicas
// retries, until one takes it or the deadline passes. It returns the
// replica that took it.
func (rs *replicaSet) set(ctx context.Context, first int, req *gpb.SetRequest, alive func(int) bool) (int, error) {
	for i := first; ; i = (i + 1) % len(rs.clients) {
		if !alive(i) {
			continue
		}
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := rs.client(i).Set(c, req)
		cancel()
		if err == nil {
			return i, nil
		}
		if code := status.Code(err); code != codes.Unavailable && code != codes.DeadlineExceeded {
			return i, err
		}
		if ctx.Err() != nil {
			return i, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// portAndInterface creates port name and an interface on it: one
// transaction whose halves must never be seen apart.
func portAndInterface(name string) *gpb.SetRequest {
	return &gpb.SetRequest{Update: []*gpb.Update{
		{Path: mustPath("/tenants/tenant[name=t]/ports/port[name=" + name + "]"), Val: ietf(`{"host": "h"}`)},
		{Path: mustPath("/tenants/tenant[name=t]/interfaces/interface[name=" + name + "]"), Val: ietf(`{"type": "untagged", "port": "` + name + `"}`)},
	}}
}

// TestFailover kills -9 the leader of three replicas while clients write
// through all of them and a STREAM subscriber listens on a follower.
// Another replica takes over within the election TTL; every acknowledged
// Set is on every survivor, none partial; the survivors serve the same
// configuration; the subscriber saw every transaction once, whole and in
// commit order, across the leader's death.
func TestFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and forks the binary")
	}
	bin := buildBinary(t)
	c := etcdtest.Start(t, 3)
	rs := startReplicaSet(t, bin, c)
	var mu sync.Mutex
	dead := -1
	alive := func(i int) bool { mu.Lock(); defer mu.Unlock(); return i != dead }

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	req := &gpb.SetRequest{Update: []*gpb.Update{{Path: &gpb.Path{}, Val: ietf(`{
		"netready-infrastructure:backends": {"backend": [{"name": "b", "driver": "linux-vforwarder"}]},
		"netready-infrastructure:hosts": {"host": [{"name": "h", "backend": "b"}]},
		"netready-tenants:tenants": {"tenant": [{"name": "t"}]}}`)}}}
	leader, err := rs.set(ctx, 0, req, alive)
	if err != nil {
		t.Fatal(err)
	}
	follower := (leader + 1) % 3
	sub := subscribeTenant(t, ctx, rs.client(follower))

	// Writers through every replica.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	acked := map[string]bool{}
	var firstAfterKill time.Time
	var killedAt time.Time
	for k := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-%d", k, i)
				if _, err := rs.set(ctx, k, portAndInterface(name), alive); err != nil {
					t.Errorf("set %s: %v", name, err)
					return
				}
				mu.Lock()
				acked[name] = true
				if dead >= 0 && firstAfterKill.IsZero() {
					firstAfterKill = time.Now()
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	mu.Lock()
	dead, killedAt = leader, time.Now()
	mu.Unlock()
	rs.kill(t, leader)
	for {
		mu.Lock()
		took := firstAfterKill
		mu.Unlock()
		if !took.IsZero() {
			t.Logf("fail-over: first Set taken %v after the kill", took.Sub(killedAt).Round(time.Millisecond))
			break
		}
		if ctx.Err() != nil {
			t.Fatal("no replica took a Set after the leader was killed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second) // more Sets through the new leader
	close(stop)
	wg.Wait()
	if t.Failed() {
		return
	}

	// Every survivor holds every acknowledged Set, none by half, and the
	// survivors agree.
	var configs []any
	for i := range rs.clients {
		if i == leader {
			continue
		}
		ports, ifaces := waitNames(t, rs.client(i), acked)
		if !reflect.DeepEqual(ports, ifaces) {
			t.Errorf("replica r%d: ports and interfaces differ (a Set by half)", i)
		}
		configs = append(configs, getRoot(t, rs.client(i)))
	}
	if !reflect.DeepEqual(configs[0], configs[1]) {
		t.Error("the surviving replicas serve different configurations")
	}

	// The subscriber saw each transaction once, whole, in commit order.
	order := commitOrder(t, c.Client(t))
	seen := sub.until(t, len(order))
	if !slices.Equal(seen, order) {
		t.Fatalf("the follower's subscriber saw %d transactions, the log holds %d; first difference at %d", len(seen), len(order), firstDiff(seen, order))
	}
	t.Logf("%d Sets acknowledged, %d transactions seen by the follower's subscriber", len(acked), len(seen))
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// waitNames waits until c serves every acknowledged name and returns its
// port and interface names.
func waitNames(t *testing.T, c gpb.GNMIClient, acked map[string]bool) (ports, ifaces map[string]bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ports = names(t, c, "/tenants/tenant[name=t]/ports/port/name")
		ifaces = names(t, c, "/tenants/tenant[name=t]/interfaces/interface/name")
		missing := 0
		for n := range acked {
			if !ports[n] || !ifaces[n] {
				missing++
			}
		}
		if missing == 0 {
			return ports, ifaces
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d acknowledged Sets missing", missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func getRoot(t *testing.T, c gpb.GNMIClient) any {
	t.Helper()
	resp, err := c.Get(context.Background(), &gpb.GetRequest{Path: []*gpb.Path{{}}, Encoding: gpb.Encoding_JSON_IETF, Type: gpb.GetRequest_CONFIG})
	if err != nil {
		t.Fatal(err)
	}
	return string(resp.GetNotification()[0].GetUpdate()[0].GetVal().GetJsonIetfVal())
}

// commitOrder is the port each commit of the log created, in commit
// order (the setup commit excluded).
func commitOrder(t *testing.T, cli *clientv3.Client) []string {
	t.Helper()
	resp, err := cli.Get(context.Background(), "/f/log/", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, kv := range resp.Kvs {
		cm, err := store.DecodeCommit(kv.Value)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range cm.Changes {
			if n, ok := keyName(ch.Key, "/ports/port[name="); ok && ch.Old == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func keyName(key, marker string) (string, bool) {
	i := strings.Index(key, marker)
	if i < 0 {
		return "", false
	}
	rest := key[i+len(marker):]
	j := strings.IndexByte(rest, ']')
	if j < 0 || strings.Contains(rest[j:], "/") {
		return "", false // a row below the port
	}
	return rest[:j], true
}

// tenantSub is a STREAM subscription to tenant t: the port each
// notification created, checked to come with its interface.
type tenantSub struct {
	names chan string
	errs  chan error
}

func subscribeTenant(t *testing.T, ctx context.Context, c gpb.GNMIClient) *tenantSub {
	t.Helper()
	stream, err := c.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Subscribe{Subscribe: &gpb.SubscriptionList{
		Mode: gpb.SubscriptionList_STREAM, Encoding: gpb.Encoding_JSON_IETF, UpdatesOnly: true,
		Subscription: []*gpb.Subscription{{Path: mustPath("/tenants/tenant[name=t]"), Mode: gpb.SubscriptionMode_ON_CHANGE}},
	}}}); err != nil {
		t.Fatal(err)
	}
	s := &tenantSub{names: make(chan string, 100000), errs: make(chan error, 1)}
	synced := make(chan struct{})
	go func() {
		for {
			r, err := stream.Recv()
			if err != nil {
				s.errs <- err
				return
			}
			if r.GetSyncResponse() {
				close(synced)
				continue
			}
			ports, ifaces := map[string]bool{}, map[string]bool{}
			n := r.GetUpdate()
			for _, u := range n.GetUpdate() {
				for _, e := range append(slices.Clone(n.GetPrefix().GetElem()), u.GetPath().GetElem()...) {
					if e.GetKey()["name"] == "" {
						continue // a leaf (the interface's port reference)
					}
					switch e.GetName() {
					case "port":
						ports[e.GetKey()["name"]] = true
					case "interface":
						ifaces[e.GetKey()["name"]] = true
					}
				}
			}
			if len(ports) == 0 {
				continue // operational state only
			}
			if len(ports) != 1 || !reflect.DeepEqual(ports, ifaces) {
				s.errs <- fmt.Errorf("a notification with ports %v and interfaces %v: not one whole transaction", ports, ifaces)
				return
			}
			for p := range ports {
				s.names <- p
			}
		}
	}()
	select {
	case <-synced:
	case err := <-s.errs:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("no sync response")
	}
	return s
}

// until returns the first n names seen (or fewer, if none come for a
// while).
func (s *tenantSub) until(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		select {
		case p := <-s.names:
			out = append(out, p)
		case err := <-s.errs:
			if !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			return out
		case <-time.After(5 * time.Second):
			return out
		}
	}
	select {
	case p := <-s.names:
		t.Fatalf("transaction %s seen beyond the log", p)
	case <-time.After(200 * time.Millisecond):
	}
	return out
}

// BenchmarkFailover: how long after the leader of three replica
// processes is killed with SIGKILL another one takes a Set (the killed
// one is restarted between rounds), one kill per iteration: make bench
// runs 10 and reports their median. Bounded by the election TTL (5 s).
func BenchmarkFailover(b *testing.B) {
	bin := buildBinary(b)
	c := etcdtest.Start(b, 3)
	rs := startReplicaSet(b, bin, c)
	dead := -1
	alive := func(i int) bool { return i != dead }
	ctx := context.Background()
	setup := &gpb.SetRequest{Update: []*gpb.Update{{Path: mustPath("/tenants/tenant[name=t]"), Val: ietf(`{"name": "t"}`)}}}
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		leader, err := rs.set(ctx, 0, setup, alive)
		if err != nil {
			b.Fatal(err)
		}
		dead = leader
		t0 := time.Now()
		rs.kill(b, leader)
		if _, err := rs.set(ctx, (leader+1)%3, setup, alive); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
		b.StopTimer()
		rs.restart(b, leader)
		dead = -1
		b.StartTimer()
	}
	slices.Sort(took)
	b.ReportMetric(took[len(took)/2].Seconds(), "failover-s-p50")
	b.ReportMetric(took[len(took)-1].Seconds(), "failover-s-max")
	b.ReportMetric(float64(len(took)), "kills")
}
