package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"go.uber.org/goleak"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/gnmipath"
)

// Load and robustness tests of Subscribe against a real server: a client
// that stops reading, a thousand streams, shutdown with streams open.
// Every helper here is named load* (another file of the package has its
// own subscribe helpers).

// loadDial connects to ts as admin, like the harness's dial, with extra
// options; the connection closes with the test.
func loadDial(t testing.TB, ts *testServer, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn := dialAs(t, ts.d.Addr(), ts.dir, password{"admin", adminPassword(t, ts.dir)}, opts...)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// loadStalledDial connects with small HTTP/2 windows, so that a stream the
// client does not read blocks the server's sends after 64 KiB.
func loadStalledDial(t testing.TB, ts *testServer) *grpc.ClientConn {
	return loadDial(t, ts, grpc.WithInitialWindowSize(64*1024), grpc.WithInitialConnWindowSize(64*1024))
}

// loadList is a STREAM SubscriptionList in JSON_IETF.
func loadList(t testing.TB, mode gpb.SubscriptionMode, updatesOnly bool, paths ...string) *gpb.SubscriptionList {
	l := &gpb.SubscriptionList{Mode: gpb.SubscriptionList_STREAM, Encoding: gpb.Encoding_JSON_IETF, UpdatesOnly: updatesOnly}
	for _, p := range paths {
		l.Subscription = append(l.Subscription, &gpb.Subscription{Path: path(t, p), Mode: mode})
	}
	return l
}

// loadStream is one raw Subscribe RPC: nothing reads it unless the test does.
type loadStream struct {
	gpb.GNMI_SubscribeClient
	cancel context.CancelFunc
}

func loadSubscribe(t testing.TB, c gpb.GNMIClient, list *gpb.SubscriptionList) *loadStream {
	t.Helper()
	cx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := c.Subscribe(cx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := st.Send(&gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Subscribe{Subscribe: list}}); err != nil {
		cancel()
		t.Fatal(err)
	}
	return &loadStream{st, cancel}
}

// loadUntilSync reads up to the sync response and returns the number of
// updates before it.
func loadUntilSync(s *loadStream) (int, error) {
	n := 0
	for {
		r, err := s.Recv()
		if err != nil {
			return n, err
		}
		if r.GetSyncResponse() {
			return n, nil
		}
		n += len(r.GetUpdate().GetUpdate())
	}
}

// loadSubscriptions returns /system/state/subscriptions.
func loadSubscriptions(t testing.TB, ts *testServer) int {
	t.Helper()
	v, err := ts.get(t, "/system/state/subscriptions", gpb.GetRequest_STATE)
	if err != nil {
		t.Fatalf("get subscriptions: %v", err)
	}
	switch v := v.(type) {
	case float64:
		return int(v)
	case string:
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("subscriptions %q", v)
		}
		return n
	}
	t.Fatalf("subscriptions: unexpected %T %v", v, v)
	return 0
}

// loadWaitSubscriptions polls until the server counts want subscriptions.
func loadWaitSubscriptions(t testing.TB, ts *testServer, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := loadSubscriptions(t, ts)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server counts %d subscriptions, want %d", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// loadLeaf is a leaf the stalled-client test changes, with the value of
// each of its Sets.
type loadLeaf struct {
	path string
	val  func(i int) *gpb.TypedValue
	text func(i int) string // the value as JSON_IETF text
}

// loadLeaves are 8 one-leaf Set targets in the any-to-any scenario.
func loadLeaves() []loadLeaf {
	ports := []struct{ tenant, port string }{
		{"blue", "g1-nic0"}, {"blue", "g2-nic0"}, {"blue", "g3-nic0"}, {"blue", "g4-nic0"},
		{"red", "g5-nic0"}, {"red", "g6-nic0"},
	}
	var out []loadLeaf
	for g := 0; g < 8; g++ {
		p := ports[g%len(ports)]
		base := fmt.Sprintf("/tenants/tenant[name=%s]/ports/port[name=%s]/", p.tenant, p.port)
		if g < len(ports) {
			g := g
			out = append(out, loadLeaf{
				path: base + "description",
				val: func(i int) *gpb.TypedValue {
					return &gpb.TypedValue{Value: &gpb.TypedValue_StringVal{StringVal: fmt.Sprintf("d%d-%d", g, i)}}
				},
				text: func(i int) string { return fmt.Sprintf("%q", fmt.Sprintf("d%d-%d", g, i)) },
			})
			continue
		}
		out = append(out, loadLeaf{
			path: base + "mtu",
			val: func(i int) *gpb.TypedValue {
				return &gpb.TypedValue{Value: &gpb.TypedValue_UintVal{UintVal: uint64(1000 + i)}}
			},
			text: func(i int) string { return strconv.Itoa(1000 + i) },
		})
	}
	return out
}

// loadPathText is a notification's update path joined with its prefix,
// as a gNMI path string.
func loadPathText(prefix, p *gpb.Path) string {
	return gnmipath.String(append(append([]*gpb.PathElem(nil), prefix.GetElem()...), p.GetElem()...))
}

// TestSubscribeStalledClient: a client that subscribes and then never
// reads neither slows nor breaks anything. 10,000 one-leaf Sets from 8
// writers all succeed; a reading subscriber sees every one of them as its
// own notification; the stalled subscriber's backlog is merged, and when
// it finally reads it gets the final values (or, had it fallen too far
// behind, ResourceExhausted).
func TestSubscribeStalledClient(t *testing.T) {
	const writers, perWriter = 8, 1250
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	leaves := loadLeaves()
	want := map[string]bool{}
	for _, l := range leaves {
		want[l.path] = true
	}

	stalled := loadSubscribe(t, gpb.NewGNMIClient(loadStalledDial(t, ts)),
		loadList(t, gpb.SubscriptionMode_ON_CHANGE, false, "/tenants"))

	// The reading subscriber records, per leaf, the values in the order
	// they came, and how many notifications carried them.
	normal := loadSubscribe(t, ts.client, loadList(t, gpb.SubscriptionMode_ON_CHANGE, false, "/tenants"))
	if _, err := loadUntilSync(normal); err != nil {
		t.Fatalf("normal subscriber: %v", err)
	}
	var (
		mu        sync.Mutex
		seen      = map[string][]string{}
		notifs    int // notifications carrying a changed leaf
		badNotifs int // ... carrying more than one
		total     atomic.Int64
		readErr   = make(chan error, 1)
	)
	go func() {
		for {
			r, err := normal.Recv()
			if err != nil {
				readErr <- err
				return
			}
			n := r.GetUpdate()
			hits := 0
			mu.Lock()
			for _, u := range n.GetUpdate() {
				p := loadPathText(n.GetPrefix(), u.GetPath())
				if want[p] {
					seen[p] = append(seen[p], string(u.GetVal().GetJsonIetfVal()))
					hits++
				}
			}
			if hits > 0 {
				notifs++
				if hits > 1 {
					badNotifs++
				}
			}
			mu.Unlock()
			total.Add(int64(hits))
		}
	}()

	// Both subscriptions are registered before the Sets start.
	loadWaitSubscriptions(t, ts, 2)

	var wg sync.WaitGroup
	var failed atomic.Int64
	for g := range leaves {
		wg.Add(1)
		go func(l loadLeaf) {
			defer wg.Done()
			p := path(t, l.path)
			for i := 0; i < perWriter; i++ {
				_, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{{Path: p, Val: l.val(i)}}})
				if err != nil {
					if failed.Add(1) < 5 {
						t.Errorf("set %s #%d: %v", l.path, i, err)
					}
					return
				}
			}
		}(leaves[g])
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d Sets failed", failed.Load())
	}

	// The reading subscriber gets every transaction, one notification each.
	deadline := time.After(60 * time.Second)
	for total.Load() < writers*perWriter {
		select {
		case err := <-readErr:
			t.Fatalf("normal subscriber ended after %d updates: %v", total.Load(), err)
		case <-deadline:
			t.Fatalf("normal subscriber got %d of %d updates", total.Load(), writers*perWriter)
		case <-time.After(10 * time.Millisecond):
		}
	}
	mu.Lock()
	if notifs != writers*perWriter || badNotifs != 0 {
		t.Errorf("normal subscriber: %d notifications with changed leaves (%d with several), want %d with one each",
			notifs, badNotifs, writers*perWriter)
	}
	for _, l := range leaves {
		vals := seen[l.path]
		if len(vals) != perWriter {
			t.Errorf("%s: %d values, want %d", l.path, len(vals), perWriter)
			continue
		}
		for i, v := range vals {
			if v != l.text(i) {
				t.Errorf("%s: value #%d is %s, want %s (order or content)", l.path, i, v, l.text(i))
				break
			}
		}
	}
	mu.Unlock()

	// The stalled subscriber reads at last: its dump, then whatever its
	// merged backlog holds, ending at the final values; or it was given
	// up on with ResourceExhausted.
	final := map[string]string{}
	for _, l := range leaves {
		final[l.path] = l.text(perWriter - 1)
	}
	got := map[string]string{}
	done := func() bool {
		for p, v := range final {
			if got[p] != v {
				return false
			}
		}
		return true
	}
	stalledNotifs, synced := 0, false
	stop := time.AfterFunc(60*time.Second, stalled.cancel)
	defer stop.Stop()
	for !done() {
		r, err := stalled.Recv()
		if status.Code(err) == codes.ResourceExhausted {
			t.Logf("stalled subscriber ended with ResourceExhausted after %d notifications: %v", stalledNotifs, err)
			return
		}
		if err != nil {
			t.Fatalf("stalled subscriber: %v after %d notifications; values %v, want %v", err, stalledNotifs, got, final)
		}
		if r.GetSyncResponse() {
			synced = true
			continue
		}
		n := r.GetUpdate()
		if synced {
			stalledNotifs++
		}
		for _, d := range n.GetDelete() {
			t.Fatalf("stalled subscriber: unexpected delete %s", loadPathText(n.GetPrefix(), d))
		}
		for _, u := range n.GetUpdate() {
			if p := loadPathText(n.GetPrefix(), u.GetPath()); want[p] {
				got[p] = string(u.GetVal().GetJsonIetfVal())
			}
		}
	}
	if !synced {
		t.Fatal("stalled subscriber: final values before the sync response")
	}
	t.Logf("stalled subscriber: final values after %d notifications for %d transactions", stalledNotifs, writers*perWriter)
	if stalledNotifs >= writers*perWriter {
		t.Errorf("stalled subscriber got %d notifications: nothing was merged", stalledNotifs)
	}
}

// TestSubscribe1000Streams: 1,000 STREAM subscriptions over 10
// connections all sync, all see one Set, and once closed leave no count
// and no goroutine behind.
func TestSubscribe1000Streams(t *testing.T) {
	const conns, streams = 10, 1000
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	ignore := goleak.IgnoreCurrent()

	const leaf = "/tenants/tenant[name=blue]/ports/port[name=g1-nic0]/description"
	var clients []*grpc.ClientConn
	for i := 0; i < conns; i++ {
		clients = append(clients, loadDial(t, ts))
	}
	var (
		synced, updated sync.WaitGroup
		failures        atomic.Int64
		firstErr        atomic.Value
	)
	fail := func(err error) {
		if failures.Add(1) == 1 {
			firstErr.Store(err)
		}
	}
	subs := make([]*loadStream, streams)
	readersDone := make(chan struct{}, streams)
	for i := range subs {
		subs[i] = loadSubscribe(t, gpb.NewGNMIClient(clients[i%conns]),
			loadList(t, gpb.SubscriptionMode_ON_CHANGE, false, "/tenants/tenant[name=blue]/ports"))
		synced.Add(1)
		updated.Add(1)
		go func(s *loadStream) {
			defer func() { readersDone <- struct{}{} }()
			n, err := loadUntilSync(s)
			synced.Done()
			if err != nil {
				fail(err)
				updated.Done()
				return
			}
			if n == 0 {
				fail(errors.New("empty dump"))
			}
			for {
				r, err := s.Recv()
				if err != nil {
					fail(err)
					updated.Done()
					return
				}
				n := r.GetUpdate()
				for _, u := range n.GetUpdate() {
					if loadPathText(n.GetPrefix(), u.GetPath()) == leaf && string(u.GetVal().GetJsonIetfVal()) == `"one for all"` {
						updated.Done()
						// Keep reading until the stream is closed.
						for {
							if _, err := s.Recv(); err != nil {
								return
							}
						}
					}
				}
			}
		}(subs[i])
	}
	loadWait(t, &synced, "sync")
	if failures.Load() > 0 {
		t.Fatalf("%d streams failed, first: %v", failures.Load(), firstErr.Load())
	}
	loadWaitSubscriptions(t, ts, streams)

	ts.mustSetLoad(t, &gpb.SetRequest{Update: []*gpb.Update{{Path: path(t, leaf),
		Val: &gpb.TypedValue{Value: &gpb.TypedValue_StringVal{StringVal: "one for all"}}}}})
	loadWait(t, &updated, "the update")
	if failures.Load() > 0 {
		t.Fatalf("%d streams failed, first: %v", failures.Load(), firstErr.Load())
	}

	// Close: half by cancelling the RPC, half by closing the connection.
	for i, s := range subs {
		if i%conns < conns/2 {
			s.cancel()
		}
	}
	for i := conns / 2; i < conns; i++ {
		clients[i].Close()
	}
	for range subs {
		select {
		case <-readersDone:
		case <-time.After(30 * time.Second):
			t.Fatal("client streams did not end")
		}
	}
	loadWaitSubscriptions(t, ts, 0)
	for _, c := range clients {
		c.Close()
	}
	ts.stop()
	verifyNoLeak(t, ignore)
}

// verifyNoLeak fails t if goroutines started by the test are still there
// after a few seconds: a closed gRPC client's connection goroutines end
// on their own schedule, later than goleak's own retries allow when a
// thousand of them end at once on a loaded machine.
func verifyNoLeak(t *testing.T, opts ...goleak.Option) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for err := goleak.Find(opts...); err != nil; err = goleak.Find(opts...) {
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (ts *testServer) mustSetLoad(t testing.TB, req *gpb.SetRequest) {
	t.Helper()
	if _, err := ts.client.Set(ctx(t), req); err != nil {
		t.Fatal(err)
	}
}

// loadWait waits for wg, failing after a generous time (a hang, not a
// performance check).
func loadWait(t testing.TB, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("waiting for %s: timed out", what)
	}
}

// TestSubscribeShutdownEndsStreams: stopping the server ends every open
// stream (ON_CHANGE, SAMPLE, heartbeat) with Unavailable, and leaves no
// goroutine behind.
func TestSubscribeShutdownEndsStreams(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	ignore := goleak.IgnoreCurrent()

	var clients []gpb.GNMIClient
	var conns []*grpc.ClientConn
	for i := 0; i < 3; i++ {
		c := loadDial(t, ts)
		conns = append(conns, c)
		clients = append(clients, gpb.NewGNMIClient(c))
	}
	// Not ts.client: ts.stop closes it before stopping the server.
	lists := []*gpb.SubscriptionList{
		loadList(t, gpb.SubscriptionMode_ON_CHANGE, false, "/tenants"),
		loadList(t, gpb.SubscriptionMode_SAMPLE, false, "/tenants/tenant[name=blue]/ports"),
		loadList(t, gpb.SubscriptionMode_TARGET_DEFINED, true, "/system/state"),
	}
	hb := loadList(t, gpb.SubscriptionMode_ON_CHANGE, false, "/tenants/tenant[name=red]")
	hb.Subscription[0].HeartbeatInterval = uint64(50 * time.Millisecond)
	sl := lists[1]
	sl.Subscription[0].SampleInterval = uint64(50 * time.Millisecond)
	lists = append(lists, hb)

	var subs []*loadStream
	for i := 0; i < 24; i++ {
		s := loadSubscribe(t, clients[i%len(clients)], lists[i%len(lists)])
		if _, err := loadUntilSync(s); err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		subs = append(subs, s)
	}
	loadWaitSubscriptions(t, ts, len(subs))

	ends := make(chan error, len(subs))
	for _, s := range subs {
		go func(s *loadStream) {
			for {
				if _, err := s.Recv(); err != nil {
					ends <- err
					return
				}
			}
		}(s)
	}
	stopped := make(chan struct{})
	go func() { ts.stop(); close(stopped) }()
	for i := range subs {
		select {
		case err := <-ends:
			if errors.Is(err, io.EOF) {
				t.Errorf("stream %d ended without an error", i)
			} else if c := status.Code(err); c != codes.Unavailable {
				t.Errorf("stream ended with %v (%v), want Unavailable", c, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of %d streams still open after the server stopped", len(subs)-i, len(subs))
		}
	}
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop")
	}
	for _, c := range conns {
		c.Close()
	}
	goleak.VerifyNone(t, ignore)
}
