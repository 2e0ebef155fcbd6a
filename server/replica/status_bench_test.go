package replica

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/store/etcdstore"
	"github.com/netready/netready/server/store/etcdstore/etcdtest"
	"github.com/netready/netready/server/tree"
	netreadyyang "github.com/netready/netready/yang"
)

// hostsWithStatus is a tree of n hosts, each with a status naming its
// backend.
func hostsWithStatus(tb testing.TB, sch *schema.Schema, n int) *tree.Node {
	var sb strings.Builder
	sb.WriteString(`{"netready-infrastructure:hosts": {"host": [`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"name": "host-%d", "status": {"oper-status": "up", "sync-state": "in-sync", "backend": [{"name": "vendor-a", "sync-state": "in-sync"}]}}`, i)
	}
	sb.WriteString(`]}}`)
	root, err := tree.DecodeStateJSON(sch.Root, []byte(sb.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

// withSyncState is root with the status of hosts 0..k-1 sync, made as
// the leader's engine makes it: a transaction on root, sharing the rest.
func withSyncState(tb testing.TB, root *tree.Node, k int, sync string) *tree.Node {
	t := tree.Begin(root)
	for i := range k {
		p := tree.MustResolve(root.Schema(), "hosts", "host", "status")
		p[1].Keys = tree.Lookup(root, tree.MustResolve(root.Schema(), "hosts", "host")).Entry(fmt.Sprintf("host-%d", i)).KeyValues()
		n, err := tree.DecodeStateAt(p, fmt.Appendf(nil, `{"oper-status": "up", "sync-state": %q, "backend": [{"name": "vendor-a", "sync-state": %q}]}`, sync, sync))
		if err != nil {
			tb.Fatal(err)
		}
		if err := t.Replace(p, n); err != nil {
			tb.Fatal(err)
		}
	}
	return t.Root()
}

// guardedStore is a store under prefix on c, guarded by an election key
// of its own as a leader's is.
func guardedStore(tb testing.TB, cli *clientv3.Client, prefix string) *etcdstore.Store {
	ctx := context.Background()
	st, err := etcdstore.Open(ctx, cli, etcdstore.Options{Prefix: prefix, Guarded: true})
	if err != nil {
		tb.Fatal(err)
	}
	lease, err := cli.Grant(ctx, 60)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := cli.Put(ctx, prefix+"election/l", "", clientv3.WithLease(lease.ID))
	if err != nil {
		tb.Fatal(err)
	}
	st.Guard(prefix+"election/l", resp.Header.Revision)
	return st
}

// pubCost is what publications cost, summed.
type pubCost struct {
	bytes, objects, txns int
	// leader is the leader's whole publication, work its looking and
	// encoding alone (without etcd's round trips).
	leader, work, follower time.Duration
}

func (c *pubCost) report(b *testing.B, n int) {
	b.ReportMetric(float64(c.bytes)/float64(n), "bytes/pub")
	b.ReportMetric(float64(c.objects)/float64(n), "objects/pub")
	b.ReportMetric(float64(c.txns)/float64(n), "txns/pub")
	b.ReportMetric(float64(c.leader.Microseconds())/1000/float64(n), "leader-ms/pub")
	b.ReportMetric(float64(c.work.Microseconds())/1000/float64(n), "leader-work-ms/pub")
	b.ReportMetric(float64(c.follower.Microseconds())/1000/float64(n), "follower-ms/pub")
}

// publish makes etcd hold root's status through p, timing the leader's
// work (look, encode, the guarded Txns) and then the follower's (decode,
// work out the edits outside its writer, write them) on follower, which
// it returns as the follower's tree after.
func publish(b *testing.B, sch *schema.Schema, st *etcdstore.Store, cli *clientv3.Client, p *publisher, root, follower *tree.Node, full bool, c *pubCost) *tree.Node {
	ctx := context.Background()
	rev0 := revision(b, cli)
	began := time.Now()
	if err := p.look(root); err != nil {
		b.Fatal(err)
	}
	entries := p.changes(root, 1)
	c.work += time.Since(began)
	n, err := st.PutStatus(ctx, entries)
	if err != nil {
		b.Fatal(err)
	}
	p.wrote(entries[:n])
	c.leader += time.Since(began)
	c.txns += int(revision(b, cli) - rev0)
	c.objects += len(entries)
	for _, e := range entries {
		c.bytes += len(e.Key) + len(e.Val)
	}
	began = time.Now()
	u, err := decodeUpdate(sch, entries, full)
	if err != nil {
		b.Fatal(err)
	}
	edits, err := statusEdits(follower, u, p.own)
	if err != nil {
		b.Fatal(err)
	}
	t := tree.Begin(follower)
	if err := applyEdits(t, edits); err != nil {
		b.Fatal(err)
	}
	c.follower += time.Since(began)
	return t.Root()
}

func revision(b *testing.B, cli *clientv3.Client) int64 {
	resp, err := cli.Get(context.Background(), "/rev")
	if err != nil {
		b.Fatal(err)
	}
	return resp.Header.Revision
}

// BenchmarkStatusAt30kObjects: what a publication costs with 30,000
// objects holding status (hosts here), on a real one-member etcd with
// its DEFAULT limits: when 1 object's status changed, when 1,000 did,
// and a full first publication (a new leader over an empty status). The
// leader looks at the change (tree.Diff), encodes the changed objects and
// writes them in guarded Txns; a follower decodes them, works out its
// edits outside its writer and writes them.
func BenchmarkStatusAt30kObjects(b *testing.B) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		b.Fatal(err)
	}
	own := map[string]bool{"system": true, "audit": true, "access": true}
	const n = 30000
	base := hostsWithStatus(b, sch, n)
	c := etcdtest.StartDefaultLimits(b, 1)
	cli := c.Client(b)
	for _, k := range []int{1, 1000} {
		b.Run(fmt.Sprintf("changed=%d", k), func(b *testing.B) {
			st := guardedStore(b, cli, fmt.Sprintf("/b%d/", k))
			p := &publisher{own: own, sent: map[string][]byte{}, dirty: map[string]tree.Path{}}
			follower := publish(b, sch, st, cli, p, base, base, true, &pubCost{})
			// Each publication's tree is made from the last, as the
			// leader's engine makes its snapshots.
			root, syncs := base, []string{"in-sync", "pending"}
			var cost pubCost
			i := 0
			for b.Loop() {
				i++
				b.StopTimer()
				root = withSyncState(b, root, k, syncs[i%2])
				b.StartTimer()
				follower = publish(b, sch, st, cli, p, root, follower, false, &cost)
			}
			cost.report(b, i)
		})
	}
	b.Run("full", func(b *testing.B) {
		st := guardedStore(b, cli, "/bfull/")
		clear := tree.Begin(base)
		if err := replaceStatus(clear, &update{full: true}, own); err != nil {
			b.Fatal(err)
		}
		var cost pubCost
		i := 0
		for b.Loop() {
			i++
			b.StopTimer()
			if _, err := cli.Delete(context.Background(), "/bfull/status/", clientv3.WithPrefix()); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			began := time.Now()
			p, err := newPublisher(context.Background(), st, own)
			if err != nil {
				b.Fatal(err)
			}
			cost.leader += time.Since(began)
			publish(b, sch, st, cli, p, base, clear.Root(), true, &cost)
		}
		cost.report(b, i)
	})
}
