package main_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/store/etcdstore/etcdtest"
)

// chaosTTL is the election lease the chaos tests give the replicas
// (--election-ttl): the shortest etcdtest's members grant (1.5 election
// timeouts of 2 s), so ten leader deaths fit in a minute.
const chaosTTL = "3s"

// chaos is eight writers creating uniquely named ports (each with its
// interface, one Set each) through three replicas while the test kills
// things, and what they were told.
type chaos struct {
	rs *replicaSet

	mu    sync.Mutex
	dead  int    // the replica being killed (-1: none), skipped by writers
	gen   [3]int // incarnations: a call that spans a kill lost its answer
	taker int    // the replica that took the newest Set (the leader)
	took  time.Time
	acked map[string]bool
	// lost are names an attempt of which lost its answer (the replica
	// was killed under it, or the deadline passed): it may have
	// committed, so the retry may commit it a second time.
	lost map[string]bool

	stop chan struct{}
	wg   sync.WaitGroup
}

// startChaos starts three replicas on c, creates the tenant and starts
// the writers.
func startChaos(t *testing.T, ctx context.Context, c *etcdtest.Cluster) *chaos {
	t.Helper()
	// The whole log stays, for the duplicate check.
	rs := startReplicaSet(t, buildBinary(t), c, "--election-ttl", chaosTTL, "--commit-log-retention", "1000000")
	ch := &chaos{rs: rs, dead: -1, taker: -1, acked: map[string]bool{}, lost: map[string]bool{}, stop: make(chan struct{})}
	if err := ch.write(ctx, 0, &gpb.SetRequest{Update: []*gpb.Update{{Path: &gpb.Path{}, Val: ietf(`{
		"netready-infrastructure:backends": {"backend": [{"name": "b", "driver": "linux-vforwarder"}]},
		"netready-infrastructure:hosts": {"host": [{"name": "h", "backend": "b"}]},
		"netready-tenants:tenants": {"tenant": [{"name": "t"}]}}`)}}}, ""); err != nil {
		t.Fatal(err)
	}
	for k := range 8 {
		ch.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-ch.stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-%d", k, i)
				if err := ch.write(ctx, k%3, portAndInterface(name), name); err != nil {
					t.Errorf("set %s: %v", name, err)
					return
				}
			}
		})
	}
	return ch
}

// write sends req to replica first, and on a retryable refusal to the
// next live one, until one takes it.
func (ch *chaos) write(ctx context.Context, first int, req *gpb.SetRequest, name string) error {
	for i := first; ; i = (i + 1) % 3 {
		ch.mu.Lock()
		dead, gen := ch.dead == i, ch.gen[i]
		ch.mu.Unlock()
		if dead {
			continue
		}
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := ch.rs.client(i).Set(c, req)
		cancel()
		ch.mu.Lock()
		if err == nil {
			ch.taker, ch.took = i, time.Now()
			if name != "" {
				ch.acked[name] = true
			}
		} else if code := status.Code(err); code == codes.DeadlineExceeded || ch.gen[i] != gen {
			ch.lost[name] = true
		}
		ch.mu.Unlock()
		if err == nil {
			return nil
		}
		if code := status.Code(err); code != codes.Unavailable && code != codes.DeadlineExceeded || ctx.Err() != nil {
			return fmt.Errorf("replica r%d: %w", i, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// leader is the replica that took the newest Set.
func (ch *chaos) leader() int {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.taker
}

// killLeader kills the leader with SIGKILL, waits until another replica
// takes a Set, restarts the killed one and says how long the fail-over
// took (kill to the first Set acknowledged by another replica).
func (ch *chaos) killLeader(t *testing.T, ctx context.Context) time.Duration {
	t.Helper()
	victim := ch.leader()
	ch.mu.Lock()
	ch.dead = victim
	ch.gen[victim]++
	ch.mu.Unlock()
	killed := time.Now()
	ch.rs.kill(t, victim)
	var took time.Duration
	for {
		ch.mu.Lock()
		taker, at := ch.taker, ch.took
		ch.mu.Unlock()
		if taker != victim && at.After(killed) {
			took = at.Sub(killed)
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no replica took a Set after r%d was killed", victim)
		}
		time.Sleep(5 * time.Millisecond)
	}
	ch.rs.restart(t, victim)
	ch.mu.Lock()
	ch.dead = -1
	ch.mu.Unlock()
	return took
}

// finish stops the writers and checks what every replica and the log
// hold: every acknowledged Set on every replica, none by half, each
// transaction in the log once (a Set whose answer was lost and that was
// sent again at most twice), and the replicas' `/` identical.
func (ch *chaos) finish(t *testing.T, cli *clientv3.Client) {
	t.Helper()
	close(ch.stop)
	ch.wg.Wait()
	if t.Failed() {
		return
	}
	var configs []any
	for i := range 3 {
		ports, ifaces := waitNames(t, ch.rs.client(i), ch.acked)
		if !reflect.DeepEqual(ports, ifaces) {
			t.Errorf("replica r%d: ports and interfaces differ (a Set by half)", i)
		}
		configs = append(configs, getRoot(t, ch.rs.client(i)))
	}
	for i := 1; i < 3; i++ {
		if !reflect.DeepEqual(configs[0], configs[i]) {
			t.Errorf("replicas r0 and r%d serve different configurations", i)
		}
	}
	times, twice := commitsPerName(t, cli), 0
	for name, n := range times {
		switch {
		case n > 2 || n == 2 && !ch.lost[name]:
			t.Errorf("Set %s committed %d times (its answer lost: %v)", name, n, ch.lost[name])
		case n == 2:
			twice++
		}
	}
	for name := range ch.acked {
		if times[name] == 0 {
			t.Errorf("acknowledged Set %s is not in the commit log", name)
		}
	}
	t.Logf("%d Sets acknowledged; %d answers lost, %d of those Sets committed twice by the client's retry",
		len(ch.acked), len(ch.lost), twice)
}

// commitsPerName counts the commits of the log that name each writer's
// port (in the Set's summary, so a Set applied twice counts twice even
// when its second commit changes nothing), checking that every commit
// creating a port creates its interface.
func commitsPerName(t *testing.T, cli *clientv3.Client) map[string]int {
	t.Helper()
	resp, err := cli.Get(context.Background(), "/f/log/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, kv := range resp.Kvs {
		cm, err := store.DecodeCommit(kv.Value)
		if err != nil {
			t.Fatal(err)
		}
		if _, n, ok := strings.Cut(cm.Summary, "/ports/port[name="); ok {
			n, _, _ = strings.Cut(n, "]")
			out[n]++
		}
		ports, ifaces := map[string]bool{}, map[string]bool{}
		for _, c := range cm.Changes {
			if n, ok := keyName(c.Key, "/ports/port[name="); ok && c.Old == nil {
				ports[n] = true
			}
			if n, ok := keyName(c.Key, "/interfaces/interface[name="); ok && c.Old == nil {
				ifaces[n] = true
			}
		}
		if !reflect.DeepEqual(ports, ifaces) {
			t.Errorf("commit %d creates ports %v and interfaces %v: a Set by half", cm.ID, ports, ifaces)
		}
	}
	return out
}

// seeded is a random source whose seed the test logs, so a failing run
// can be told apart and its timing retried.
func seeded(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("random moments from seed %d", seed)
	return rand.New(rand.NewPCG(seed, seed))
}

// between is a random duration in [lo, hi).
func between(r *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.Int64N(int64(hi-lo)))
}

// TestFailoverTenKills: eight writers through three replicas; the
// leader is killed with SIGKILL at a random moment, ten times (the
// killed replica restarted each time, so three run again). Every
// acknowledged Set is on every replica afterwards, none by half, none
// committed twice (unless its answer was lost with the leader and the
// writer sent it again), and the replicas' `/` is identical.
func TestFailoverTenKills(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and forks the binary")
	}
	c := etcdtest.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	ch := startChaos(t, ctx, c)
	r := seeded(t)
	var took []time.Duration
	for round := range 10 {
		wait := between(r, 300*time.Millisecond, 1500*time.Millisecond)
		time.Sleep(wait)
		d := ch.killLeader(t, ctx)
		t.Logf("round %d: killed the leader after %v; another took a Set %v later", round, wait.Round(time.Millisecond), d.Round(time.Millisecond))
		took = append(took, d)
	}
	time.Sleep(500 * time.Millisecond) // Sets through three replicas again
	ch.finish(t, c.Client(t))
	t.Logf("fail-over times %v", strings.Trim(fmt.Sprint(took), "[]"))
}

// TestEtcdMemberTenKills: eight writers through three replicas; one
// etcd member, chosen at random, is stopped abruptly at a random moment
// and restarted a random while later, ten times (the members run in the
// test process: a kill is etcd's HardStop, no leadership transfer, then
// its listeners close). A Set during the member's loss either commits
// once or fails with a retryable code: every acknowledged Set is on
// every replica, none by half, none twice (no replica dies, so no
// answer is lost but to a deadline), and the replicas' `/` is identical.
func TestEtcdMemberTenKills(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and forks the binary")
	}
	c := etcdtest.StartKillable(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	ch := startChaos(t, ctx, c)
	r := seeded(t)
	for round := range 10 {
		wait, down, m := between(r, 300*time.Millisecond, 1500*time.Millisecond), between(r, 300*time.Millisecond, 1500*time.Millisecond), r.IntN(3)
		time.Sleep(wait)
		ch.mu.Lock()
		before := len(ch.acked)
		ch.mu.Unlock()
		c.Kill(m)
		time.Sleep(down)
		ch.mu.Lock()
		during := len(ch.acked) - before
		ch.mu.Unlock()
		c.Restart(t, m)
		t.Logf("round %d: killed member m%d after %v for %v; %d Sets acknowledged meanwhile", round, m, wait.Round(time.Millisecond), down.Round(time.Millisecond), during)
	}
	time.Sleep(500 * time.Millisecond)
	ch.finish(t, c.Client(t))
}
