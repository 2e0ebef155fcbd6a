package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/rules"
	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/tree"
)

// op is "path=value" for an update or "-path" for a delete.
func notif(t *testing.T, ts int64, ops ...string) *gpb.SubscribeResponse {
	t.Helper()
	n := &gpb.Notification{Timestamp: ts, Prefix: &gpb.Path{Target: fmt.Sprint("t", ts)}}
	for _, o := range ops {
		if p, ok := strings.CutPrefix(o, "-"); ok {
			n.Delete = append(n.Delete, &gpb.Path{Elem: elems(t, p)})
			continue
		}
		i := strings.LastIndexByte(o, '=')
		if i < 0 {
			t.Fatalf("bad op %q", o)
		}
		p, v := o[:i], o[i+1:]
		n.Update = append(n.Update, &gpb.Update{Path: &gpb.Path{Elem: elems(t, p)}, Val: &gpb.TypedValue{Value: &gpb.TypedValue_StringVal{StringVal: v}}})
	}
	return &gpb.SubscribeResponse{Response: &gpb.SubscribeResponse_Update{Update: n}}
}

// describe prints responses as "sync" or the notification's deletes then
// updates, in order: "-/a /b=1".
func describe(rs []*gpb.SubscribeResponse) []string {
	var out []string
	for _, r := range rs {
		if r.GetSyncResponse() {
			out = append(out, "sync")
			continue
		}
		var parts []string
		for _, d := range r.GetUpdate().GetDelete() {
			parts = append(parts, "-"+pathKey(d.GetElem()))
		}
		for _, u := range r.GetUpdate().GetUpdate() {
			parts = append(parts, pathKey(u.GetPath().GetElem())+"="+u.GetVal().GetStringVal())
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

func mustTake(t *testing.T, q *queue) []*gpb.SubscribeResponse {
	t.Helper()
	items, err := q.take()
	if err != nil {
		t.Fatalf("take: %v", err)
	}
	return items
}

func wantItems(t *testing.T, got []*gpb.SubscribeResponse, want ...string) {
	t.Helper()
	d := describe(got)
	if strings.Join(d, " | ") != strings.Join(want, " | ") {
		t.Fatalf("queued:\n  %q\nwant:\n  %q", d, want)
	}
}

func TestQueueUnderMaxKeepsItems(t *testing.T) {
	q := newQueue(4, 10)
	rs := []*gpb.SubscribeResponse{
		notif(t, 1, "/a=1"), notif(t, 2, "/a=2"), syncResponse, notif(t, 3, "-/a", "/b=1"),
	}
	for _, r := range rs {
		if !q.push(r) {
			t.Fatal("push refused")
		}
	}
	select {
	case <-q.ready:
	default:
		t.Fatal("push did not signal")
	}
	got := mustTake(t, q)
	if len(got) != len(rs) {
		t.Fatalf("took %d items, want %d", len(got), len(rs))
	}
	for i := range rs {
		if got[i] != rs[i] {
			t.Fatalf("item %d is not the response pushed (order or merging changed it): %v", i, describe(got))
		}
	}
	// Nothing left.
	if again := mustTake(t, q); len(again) != 0 {
		t.Fatalf("second take: %v", describe(again))
	}
	// Taking empties the queue: max counts again from zero.
	for i := 0; i < 4; i++ {
		q.push(notif(t, int64(10+i), fmt.Sprintf("/a=%d", 10+i)))
	}
	wantItems(t, mustTake(t, q), "/a=10", "/a=11", "/a=12", "/a=13")
}

func TestQueueMergesPastMax(t *testing.T) {
	q := newQueue(2, 100)
	q.push(notif(t, 1, "/a=1"))
	q.push(notif(t, 2, "/b=1"))
	// Past max: merged, newer values replace older ones, first-seen order.
	q.push(notif(t, 3, "/a=2", "/c=1"))
	q.push(notif(t, 4, "/c=2"))
	q.push(notif(t, 5, "/a=3", "/d=1"))
	got := mustTake(t, q)
	wantItems(t, got, "/a=1", "/b=1", "/a=3 /c=2 /d=1")
	m := got[2].GetUpdate()
	if m.GetTimestamp() != 5 || m.GetPrefix().GetTarget() != "t5" {
		t.Errorf("merged notification has timestamp %d, prefix %v: want those of the newest", m.GetTimestamp(), m.GetPrefix())
	}
	// After a take the queue starts afresh.
	q.push(notif(t, 6, "/a=4"))
	wantItems(t, mustTake(t, q), "/a=4")
}

func TestQueueMergeDeletes(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  [][]string // notifications pushed past max, each a list of ops
		want string
	}{
		{"delete drops pending updates at and below it",
			[][]string{{"/t[name=x]/d=1", "/t[name=x]/p[k=1]/m=1", "/t[name=y]/d=1"}, {"-/t[name=x]"}},
			"-/t[name=x] /t[name=y]/d=1"},
		{"a delete of a leaf drops its update",
			[][]string{{"/t[name=x]/d=1"}, {"-/t[name=x]/d"}},
			"-/t[name=x]/d"},
		{"a delete keeps updates of paths that merely share a prefix",
			[][]string{{"/t[name=x]/dd=1", "/t[name=xy]/d=1", "/t[name=x]/d=1"}, {"-/t[name=x]/d"}},
			"-/t[name=x]/d /t[name=x]/dd=1 /t[name=xy]/d=1"},
		{"a later update re-adds the path",
			[][]string{{"/t[name=x]/d=1", "/t[name=x]/e=1"}, {"-/t[name=x]"}, {"/t[name=x]/d=2"}},
			"-/t[name=x] /t[name=x]/d=2"},
		{"a later update of a deleted leaf replaces the delete",
			[][]string{{"/t[name=x]/d=1"}, {"-/t[name=x]/d"}, {"/t[name=x]/d=3"}},
			"/t[name=x]/d=3"},
		{"deletes then updates within one notification",
			[][]string{{"/t[name=x]/d=1"}, {"-/t[name=x]", "/t[name=x]/d=2"}},
			"-/t[name=x] /t[name=x]/d=2"},
		{"delete after re-add drops it again",
			[][]string{{"-/t[name=x]"}, {"/t[name=x]/d=2"}, {"-/t[name=x]"}},
			"-/t[name=x]"},
		{"deleting the prefix itself drops everything",
			[][]string{{"/a=1", "/b/c=1"}, {"-/"}},
			"-/"},
		{"a key value holding ]/ is not below the delete",
			[][]string{{`/t[name=x\]/d]/d=1`, `/t[name=x]/d=1`}, {"-/t[name=x]"}},
			`-/t[name=x] /t[name=x\]/d]/d=1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newQueue(1, 100)
			q.push(notif(t, 1, "/first=0"))
			for i, ops := range tc.ops {
				q.push(notif(t, int64(i+2), ops...))
			}
			wantItems(t, mustTake(t, q), "/first=0", tc.want)
		})
	}
}

func TestQueueSyncKeepsOrder(t *testing.T) {
	q := newQueue(1, 100)
	q.push(notif(t, 1, "/a=1"))
	q.push(notif(t, 2, "/a=2"))
	q.push(notif(t, 3, "/b=1", "/a=3"))
	q.push(syncResponse)
	q.push(notif(t, 4, "/a=4"))
	q.push(notif(t, 5, "/c=1"))
	q.push(syncResponse)
	q.push(syncResponse)
	q.push(notif(t, 6, "/a=5"))
	wantItems(t, mustTake(t, q),
		"/a=1", "/a=3 /b=1", "sync", "/a=4 /c=1", "sync", "sync", "/a=5")
}

func TestQueueResourceExhausted(t *testing.T) {
	q := newQueue(1, 3)
	if !q.push(notif(t, 1, "/a=1")) {
		t.Fatal("push refused")
	}
	// A backlog of 3 paths is allowed, however many notifications made it.
	for i := 0; i < 10; i++ {
		if !q.push(notif(t, int64(2+i), fmt.Sprintf("/a=%d", i), "/b=1", "-/c")) {
			t.Fatalf("push %d refused with 3 pending paths", i)
		}
	}
	// The fourth path is one too many.
	if q.push(notif(t, 20, "/d=1")) {
		t.Fatal("push past maxPending accepted")
	}
	if q.push(notif(t, 21, "/a=1")) {
		t.Fatal("push after failure accepted")
	}
	if q.push(syncResponse) {
		t.Fatal("sync push after failure accepted")
	}
	for i := 0; i < 2; i++ {
		items, err := q.take()
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("take %d: err %v, want ResourceExhausted", i, err)
		}
		if items != nil {
			t.Fatalf("take returned items with the error: %v", describe(items))
		}
	}
	// The first error wins.
	q.fail(status.Error(codes.InvalidArgument, "later"))
	if _, err := q.take(); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("after fail: %v, want ResourceExhausted still", err)
	}
	select {
	case <-q.ready:
	default:
		t.Fatal("failure did not signal the sender")
	}
}

// TestQueueBacklogMemoryFollowsSize churns a stalled stream's backlog as
// the audit log does (a new path, then the delete of its parent) so that
// the backlog always holds one path: the memory it holds must not grow
// with the number of paths it has ever seen.
func TestQueueBacklogMemoryFollowsSize(t *testing.T) {
	q := newQueue(1, 10)
	q.push(notif(t, 1, "/first=0"))
	parent := &gpb.Path{Elem: []*gpb.PathElem{{Name: "p"}}}
	churn := func(from, to int) {
		for i := from; i < to; i++ {
			leaf := &gpb.Path{Elem: []*gpb.PathElem{{Name: "p"}, {Name: "e", Key: map[string]string{"id": strconv.Itoa(i)}}, {Name: "v"}}}
			up := &gpb.Notification{Update: []*gpb.Update{{Path: leaf, Val: &gpb.TypedValue{Value: &gpb.TypedValue_UintVal{UintVal: uint64(i)}}}}}
			q.push(&gpb.SubscribeResponse{Response: &gpb.SubscribeResponse_Update{Update: up}})
			del := &gpb.Notification{Delete: []*gpb.Path{parent}}
			if !q.push(&gpb.SubscribeResponse{Response: &gpb.SubscribeResponse_Update{Update: del}}) {
				t.Fatalf("push %d refused: the backlog holds one path", i)
			}
		}
	}
	const warm, n = 1000, 100_000
	churn(0, warm)
	before := liveHeap()
	churn(warm, warm+n)
	growth := float64(int64(liveHeap())-int64(before)) / n
	if growth > 8 {
		t.Fatalf("backlog of 1 path grew the heap by %.0f B per notification pair", growth)
	}
	wantItems(t, mustTake(t, q), "/first=0", "-/p")
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func TestQueueFail(t *testing.T) {
	q := newQueue(4, 10)
	q.push(notif(t, 1, "/a=1"))
	q.fail(status.Error(codes.InvalidArgument, "bad"))
	if _, err := q.take(); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("take: %v", err)
	}
	if q.push(notif(t, 2, "/a=2")) {
		t.Fatal("push after fail accepted")
	}
}

// leafState is a client's view: leaf path -> value.
type leafState map[string]string

// apply applies a notification as a client does: deletes (of a leaf or a
// subtree) first, then updates.
func (s leafState) apply(n *gpb.Notification) {
	for _, d := range n.GetDelete() {
		k := pathKey(d.GetElem())
		for p := range s {
			if p == k || strings.HasPrefix(p, k+"/") {
				delete(s, p)
			}
		}
	}
	for _, u := range n.GetUpdate() {
		s[pathKey(u.GetPath().GetElem())] = u.GetVal().GetStringVal()
	}
}

// TestQueueMergeProperty: random update/delete sequences; whatever the
// queue merges, a client applying what it takes ends in the state of one
// applying every notification, and a merged notification names each path
// once.
func TestQueueMergeProperty(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	subtrees := []string{"/t[name=x]", "/t[name=y]", "/t[name=x]/p[k=1]", "/t[name=x]/p[k=2]", "/u"}
	leaves := []string{"/t[name=x]/d", "/t[name=x]/p[k=1]/m", "/t[name=x]/p[k=1]/n", "/t[name=x]/p[k=2]/m",
		"/t[name=y]/d", "/t[name=xy]/d", "/u/v", "/u/w", "/uv"}
	for round := 0; round < 300; round++ {
		max := 1 + rng.Intn(4)
		q := newQueue(max, 1000)
		want, got := leafState{}, leafState{}
		for step := 0; step < 40; step++ {
			// One notification names a path once, as deliver makes them.
			var ops []string
			used := map[string]bool{}
			for i, n := 0, rng.Intn(4); i < n; i++ {
				if rng.Intn(4) == 0 {
					if p := subtrees[rng.Intn(len(subtrees))]; !used[p] {
						used[p] = true
						ops = append(ops, "-"+p)
					}
				} else if p := leaves[rng.Intn(len(leaves))]; !used[p] {
					used[p] = true
					ops = append(ops, fmt.Sprintf("%s=%d.%d", p, step, i))
				}
			}
			if len(ops) == 0 {
				ops = []string{"-" + leaves[rng.Intn(len(leaves))]}
			}
			// Deletes come first in a notification.
			sort.SliceStable(ops, func(i, j int) bool { return ops[i][0] == '-' && ops[j][0] != '-' })
			r := notif(t, int64(step), ops...)
			want.apply(r.GetUpdate())
			if !q.push(r) {
				t.Fatal("push refused")
			}
			if rng.Intn(8) == 0 {
				q.push(syncResponse)
			}
			if rng.Intn(10) == 0 { // the sender catches up now and then
				for _, it := range mustTake(t, q) {
					checkOnce(t, it)
					got.apply(it.GetUpdate())
				}
			}
		}
		for _, it := range mustTake(t, q) {
			checkOnce(t, it)
			got.apply(it.GetUpdate())
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round %d (max %d): client state\n  %v\nwant\n  %v", round, max, got, want)
		}
	}
}

// checkOnce fails if a notification names a path twice.
func checkOnce(t *testing.T, r *gpb.SubscribeResponse) {
	t.Helper()
	seen := map[string]bool{}
	for _, d := range r.GetUpdate().GetDelete() {
		k := pathKey(d.GetElem())
		if seen[k] {
			t.Fatalf("path %s twice in %v", k, describe([]*gpb.SubscribeResponse{r}))
		}
		seen[k] = true
	}
	for _, u := range r.GetUpdate().GetUpdate() {
		k := pathKey(u.GetPath().GetElem())
		if seen[k] {
			t.Fatalf("path %s twice in %v", k, describe([]*gpb.SubscribeResponse{r}))
		}
		seen[k] = true
	}
}

func TestQueueMergedPathsOnce(t *testing.T) {
	q := newQueue(0, 10_000)
	for i := 0; i < 1000; i++ {
		q.push(notif(t, int64(i), fmt.Sprintf("/l[i=%d]/v=%d", i%7, i), fmt.Sprintf("/l[i=%d]/w=%d", i%3, i)))
		if i%50 == 0 {
			q.push(notif(t, int64(i), fmt.Sprintf("-/l[i=%d]", i%5)))
		}
	}
	items := mustTake(t, q)
	if len(items) != 1 {
		t.Fatalf("%d items, want one merged notification", len(items))
	}
	checkOnce(t, items[0])
	n := items[0].GetUpdate()
	if got := len(n.GetUpdate()) + len(n.GetDelete()); got > 7+3+5 {
		t.Fatalf("merged notification has %d paths", got)
	}
	// The newest values won.
	st := leafState{}
	st.apply(n)
	if st["/l[i=6]/v"] != "993" || st["/l[i=0]/w"] != "999" {
		t.Fatalf("merged values %v", st)
	}
}

// The tests below run a stream whose client stops reading during its
// initial sync: the queue's bound must hold then too.

// blockedStream is a Subscribe server stream whose Send blocks until gate
// is closed; it records what it sent.
type blockedStream struct {
	grpc.ServerStream
	ctx     context.Context
	gate    chan struct{}
	entered chan struct{} // a Send is waiting at the gate
	mu      sync.Mutex
	sent    []*gpb.SubscribeResponse
}

func newBlockedStream(ctx context.Context) *blockedStream {
	return &blockedStream{ctx: ctx, gate: make(chan struct{}), entered: make(chan struct{}, 1)}
}

func (b *blockedStream) Context() context.Context { return b.ctx }

func (b *blockedStream) Send(r *gpb.SubscribeResponse) error {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	select {
	case <-b.gate:
	case <-b.ctx.Done():
		return b.ctx.Err()
	}
	b.mu.Lock()
	b.sent = append(b.sent, r)
	b.mu.Unlock()
	return nil
}

func (b *blockedStream) Recv() (*gpb.SubscribeRequest, error) {
	<-b.ctx.Done()
	return nil, io.EOF
}

func (b *blockedStream) responses() []*gpb.SubscribeResponse {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*gpb.SubscribeResponse(nil), b.sent...)
}

// openDatastore is a datastore on a bbolt file without fsync.
func openDatastore(t *testing.T) *datastore.Datastore {
	t.Helper()
	sch := realSchema(t)
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "db"), store.BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := datastore.Open(context.Background(), sch, st, rules.All(), datastore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close(); st.Close() })
	return ds
}

func setJSON(t *testing.T, ds *datastore.Datastore, p, js string) {
	t.Helper()
	tp, err := tree.Resolve(ds.Schema().Root, elems(t, p))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := tree.DecodeJSON(tp, []byte(js), true)
	if err != nil {
		t.Fatal(err)
	}
	req := &datastore.Request{Ops: []datastore.Op{{Kind: datastore.Update, Path: tp, Payload: payload}}}
	if _, err := ds.Apply(context.Background(), req); err != nil {
		t.Fatalf("set %s: %v", p, err)
	}
}

// serveBlocked starts a STREAM ON_CHANGE subscription to /tenants whose
// client does not read, and returns once the server waits to send the
// initial dump.
func serveBlocked(t *testing.T, h *Hub) (*blockedStream, chan error) {
	t.Helper()
	cx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	bs := newBlockedStream(cx)
	errc := make(chan error, 1)
	go func() {
		errc <- h.Serve(bs, &Request{Mode: gpb.SubscriptionList_STREAM, Encoding: gpb.Encoding_JSON_IETF,
			Subs: []Sub{{Pattern: elems(t, "/tenants"), Mode: gpb.SubscriptionMode_ON_CHANGE}}})
	}()
	select {
	case <-bs.entered:
	case err := <-errc:
		t.Fatalf("Serve ended: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("Serve sent nothing")
	}
	return bs, errc
}

func hubStreams(h *Hub) []*stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*stream
	for s := range h.streams {
		out = append(out, s)
	}
	return out
}

// TestStreamStalledInSyncIsBounded: a client that stops reading during its
// initial dump lags like any other: once more than MaxPending paths wait
// for it, the server gives up on it (ResourceExhausted) rather than keep
// every change in memory for as long as the client stays connected.
func TestStreamStalledInSyncIsBounded(t *testing.T) {
	ds := openDatastore(t)
	setJSON(t, ds, "/tenants/tenant[name=t0]", `{"description": "first"}`)
	h := NewHub(ds, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{QueueLen: 2, MaxPending: 20})
	defer h.Close()
	bs, errc := serveBlocked(t, h)

	// 40 transactions, 2 new leaves each: 80 paths wait for the client.
	for i := 1; i <= 40; i++ {
		setJSON(t, ds, fmt.Sprintf("/tenants/tenant[name=t%d]", i), `{"description": "x"}`)
	}
	ss := hubStreams(h)
	if len(ss) != 1 {
		t.Fatalf("%d streams registered", len(ss))
	}
	s := ss[0]
	deadline := time.Now().Add(20 * time.Second)
	for {
		s.q.mu.Lock()
		err := s.q.err
		s.q.mu.Unlock()
		s.mu.Lock()
		buffered := len(s.buffered)
		s.mu.Unlock()
		if status.Code(err) == codes.ResourceExhausted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("client stalled in its sync: %d events held for it, queue error %v; want ResourceExhausted past MaxPending", buffered, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The client reads again: it gets its dump and sync, then the error.
	close(bs.gate)
	select {
	case err := <-errc:
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("Serve: %v, want ResourceExhausted", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not end")
	}
}

// TestStreamChangesDuringSync: changes committed while the dump is being
// sent come after the sync response, none lost and none twice, and the
// stream goes on.
func TestStreamChangesDuringSync(t *testing.T) {
	ds := openDatastore(t)
	setJSON(t, ds, "/tenants/tenant[name=t0]", `{"description": "first"}`)
	h := NewHub(ds, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{QueueLen: 2})
	defer h.Close()
	bs, errc := serveBlocked(t, h)
	for i := 1; i <= 10; i++ {
		setJSON(t, ds, "/tenants/tenant[name=t0]", fmt.Sprintf(`{"description": "v%d"}`, i))
	}
	setJSON(t, ds, "/tenants/tenant[name=t1]", `{"description": "new"}`)
	close(bs.gate)

	st := map[string]string{}
	synced, updatesAfterSync := false, 0
	deadline := time.Now().Add(20 * time.Second)
	for !(synced && st["/tenants/tenant[name=t0]/description"] == `"v10"` && st["/tenants/tenant[name=t1]/description"] == `"new"`) {
		select {
		case err := <-errc:
			t.Fatalf("Serve ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("client state %v (synced %v)", st, synced)
		}
		rs := bs.responses()
		st, synced, updatesAfterSync = map[string]string{}, false, 0
		for _, r := range rs {
			if r.GetSyncResponse() {
				if synced {
					t.Fatal("two sync responses")
				}
				synced = true
				continue
			}
			if synced {
				updatesAfterSync++
			}
			for _, u := range r.GetUpdate().GetUpdate() {
				st[pathKey(u.GetPath().GetElem())] = string(u.GetVal().GetJsonIetfVal())
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	rs := bs.responses()
	if len(rs[0].GetUpdate().GetUpdate()) == 0 {
		t.Fatal("the dump did not come first")
	}
	// The dump shows the tree as it was: t0 "first", no t1.
	dump := rs[0].GetUpdate()
	for _, u := range dump.GetUpdate() {
		k := pathKey(u.GetPath().GetElem())
		if strings.HasPrefix(k, "/tenants/tenant[name=t1]") {
			t.Errorf("dump holds %s, created after the subscription", k)
		}
		if k == "/tenants/tenant[name=t0]/description" && string(u.GetVal().GetJsonIetfVal()) != `"first"` {
			t.Errorf("dump holds description %s, want the value before the changes", u.GetVal().GetJsonIetfVal())
		}
	}
	if updatesAfterSync == 0 {
		t.Fatal("no changes after the sync response")
	}
	// The stream is still live.
	setJSON(t, ds, "/tenants/tenant[name=t0]", `{"description": "later"}`)
	for deadline := time.Now().Add(20 * time.Second); ; {
		rs := bs.responses()
		last := rs[len(rs)-1].GetUpdate().GetUpdate()
		if len(last) == 1 && string(last[0].GetVal().GetJsonIetfVal()) == `"later"` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no notification for a later change")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
