package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/ygot/ygot"
	"google.golang.org/grpc/codes"
)

// subClient is one Subscribe RPC whose responses a goroutine collects.
type subClient struct {
	stream gpb.GNMI_SubscribeClient
	items  chan subItem // responses, then the error that ended the stream
	cancel context.CancelFunc
}

type subItem struct {
	resp *gpb.SubscribeResponse
	err  error
}

func (ts *testServer) subscribe(t *testing.T, list *gpb.SubscriptionList) *subClient {
	t.Helper()
	return ts.subscribeExt(t, list)
}

// next returns the next response, failing the test if the stream ends or
// nothing comes within the wait.
func (sc *subClient) next(t *testing.T) *gpb.SubscribeResponse {
	t.Helper()
	select {
	case it := <-sc.items:
		if it.err != nil {
			t.Fatalf("stream ended: %v", it.err)
		}
		return it.resp
	case <-time.After(20 * time.Second):
		t.Fatal("no response")
	}
	return nil
}

// untilSync collects the notifications before the sync response.
func (sc *subClient) untilSync(t *testing.T) []*gpb.Notification {
	t.Helper()
	var out []*gpb.Notification
	for {
		r := sc.next(t)
		if r.GetSyncResponse() {
			return out
		}
		out = append(out, r.GetUpdate())
	}
}

// notification returns the next notification (no sync response expected).
func (sc *subClient) notification(t *testing.T) *gpb.Notification {
	t.Helper()
	r := sc.next(t)
	if r.GetUpdate() == nil {
		t.Fatalf("want a notification, got %v", r)
	}
	return r.GetUpdate()
}

// ended waits for the stream to end and returns its error (nil for EOF).
func (sc *subClient) ended(t *testing.T) error {
	t.Helper()
	for {
		select {
		case it := <-sc.items:
			if errors.Is(it.err, io.EOF) {
				return nil
			}
			if it.err != nil {
				return it.err
			}
		case <-time.After(20 * time.Second):
			t.Fatal("stream did not end")
		}
	}
}

// quiet fails if a response arrives within d.
func (sc *subClient) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case it := <-sc.items:
		t.Fatalf("unexpected response %v (%v)", it.resp, it.err)
	case <-time.After(d):
	}
}

func streamList(mode gpb.SubscriptionMode, paths ...string) *gpb.SubscriptionList {
	l := &gpb.SubscriptionList{Mode: gpb.SubscriptionList_STREAM, Encoding: gpb.Encoding_JSON_IETF}
	for _, p := range paths {
		pp, _ := ygot.StringToStructuredPath(p)
		l.Subscription = append(l.Subscription, &gpb.Subscription{Path: pp, Mode: mode})
	}
	return l
}

// flat turns notifications into "path=value" and "-path" lines, with the
// prefix joined in.
func flat(t *testing.T, ns ...*gpb.Notification) []string {
	t.Helper()
	var out []string
	for _, n := range ns {
		for _, d := range n.GetDelete() {
			out = append(out, "-"+joined(t, n.GetPrefix(), d))
		}
		for _, u := range n.GetUpdate() {
			v := u.GetVal()
			var s string
			switch {
			case v.GetJsonIetfVal() != nil:
				s = string(v.GetJsonIetfVal())
			case v.GetJsonVal() != nil:
				s = string(v.GetJsonVal())
			default:
				s = fmt.Sprint(v.GetValue())
			}
			out = append(out, joined(t, n.GetPrefix(), u.GetPath())+"="+s)
		}
	}
	return out
}

func joined(t *testing.T, prefix, p *gpb.Path) string {
	s, err := ygot.PathToString(&gpb.Path{Elem: append(append([]*gpb.PathElem(nil), prefix.GetElem()...), p.GetElem()...)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func has(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func (ts *testServer) mustSet(t testing.TB, req *gpb.SetRequest) {
	t.Helper()
	if _, err := ts.client.Set(ctx(t), req); err != nil {
		t.Fatal(err)
	}
}

const bluePorts = "/tenants/tenant[name=blue]/ports"

func TestSubscribeOnce(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	l := streamList(0, bluePorts+"/port[name=g1-nic0]")
	l.Mode = gpb.SubscriptionList_ONCE
	sc := ts.subscribe(t, l)
	lines := flat(t, sc.untilSync(t)...)
	if !has(lines, bluePorts+"/port[name=g1-nic0]/mtu=1500") || !has(lines, bluePorts+"/port[name=g1-nic0]/status/sync-state=\"pending\"") {
		t.Fatalf("ONCE data: %v", lines)
	}
	if err := sc.ended(t); err != nil {
		t.Fatalf("ONCE must close after sync: %v", err)
	}
}

// TestSubscribeOnChangeCreateDelete: a list entry created then deleted
// arrives as its updates, then as one delete of the entry.
func TestSubscribeOnChangeCreateDelete(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	sc := ts.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE, bluePorts+"/port"))
	if initial := flat(t, sc.untilSync(t)...); !has(initial, bluePorts+"/port[name=g4-nic0]/host=\"host-b\"") {
		t.Fatalf("initial sync: %v", initial)
	}
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, bluePorts+"/port[name=p9]", `{"host": "host-a", "mtu": 9000}`)}})
	created := flat(t, sc.notification(t))
	for _, want := range []string{
		bluePorts + "/port[name=p9]/name=\"p9\"", bluePorts + "/port[name=p9]/host=\"host-a\"",
		bluePorts + "/port[name=p9]/mtu=9000", bluePorts + "/port[name=p9]/admin-state=\"up\"",
		bluePorts + "/port[name=p9]/status/oper-status=\"unknown\"",
	} {
		if !has(created, want) {
			t.Errorf("create: missing %s in %v", want, created)
		}
	}
	ts.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, bluePorts+"/port[name=p9]")}})
	if deleted := flat(t, sc.notification(t)); len(deleted) != 1 || deleted[0] != "-"+bluePorts+"/port[name=p9]" {
		t.Fatalf("delete: %v", deleted)
	}
}

// TestSubscribeDeleteBelowSubscription: a subscriber to a leaf of every
// port gets the deletion of that leaf when its port goes away.
func TestSubscribeDeleteBelowSubscription(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	sc := ts.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE, "/tenants/tenant[name=*]/ports/port[name=*]/mtu"))
	if initial := sc.untilSync(t); len(flat(t, initial...)) != 6 {
		t.Fatalf("initial: %v", flat(t, initial...))
	}
	ts.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, "/tenants/tenant[name=red]/vpns"), path(t, "/tenants/tenant[name=red]/interfaces"), path(t, "/tenants/tenant[name=red]/ports/port[name=g6-nic0]")}})
	got := flat(t, sc.notification(t))
	if len(got) != 1 || got[0] != "-/tenants/tenant[name=red]/ports/port[name=g6-nic0]/mtu" {
		t.Fatalf("got %v", got)
	}
}

// TestSubscribeDefaultReturns: a deleted leaf with a default arrives as an
// update to the default.
func TestSubscribeDefaultReturns(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	mtu := bluePorts + "/port[name=g1-nic0]/mtu"
	sc := ts.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE, mtu))
	sc.untilSync(t)
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, mtu, "9000")}})
	if got := flat(t, sc.notification(t)); len(got) != 1 || got[0] != mtu+"=9000" {
		t.Fatalf("set: %v", got)
	}
	ts.mustSet(t, &gpb.SetRequest{Delete: []*gpb.Path{path(t, mtu)}})
	if got := flat(t, sc.notification(t)); len(got) != 1 || got[0] != mtu+"=1500" {
		t.Fatalf("back to default: %v", got)
	}
}

func TestSubscribeSample(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	mtu := bluePorts + "/port[name=g1-nic0]/mtu"
	l := streamList(gpb.SubscriptionMode_SAMPLE, mtu)
	l.Subscription[0].SampleInterval = uint64(100 * time.Millisecond)
	sc := ts.subscribe(t, l)
	sc.untilSync(t)
	for i := 0; i < 3; i++ {
		if got := flat(t, sc.notification(t)); len(got) != 1 || got[0] != mtu+"=1500" {
			t.Fatalf("sample %d: %v", i, got)
		}
	}
}

func TestSubscribeSampleSuppressRedundant(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	mtu := bluePorts + "/port[name=g1-nic0]/mtu"
	l := streamList(gpb.SubscriptionMode_SAMPLE, mtu)
	l.Subscription[0].SampleInterval = uint64(50 * time.Millisecond)
	l.Subscription[0].SuppressRedundant = true
	sc := ts.subscribe(t, l)
	sc.untilSync(t)
	sc.quiet(t, 300*time.Millisecond)
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, mtu, "9000")}})
	if got := flat(t, sc.notification(t)); len(got) != 1 || got[0] != mtu+"=9000" {
		t.Fatalf("after change: %v", got)
	}
	sc.quiet(t, 300*time.Millisecond)
}

// TestSubscribeHeartbeat: ON_CHANGE with a heartbeat re-sends an unchanged
// value every interval.
func TestSubscribeHeartbeat(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	mtu := bluePorts + "/port[name=g1-nic0]/mtu"
	l := streamList(gpb.SubscriptionMode_ON_CHANGE, mtu)
	l.Subscription[0].HeartbeatInterval = uint64(100 * time.Millisecond)
	sc := ts.subscribe(t, l)
	sc.untilSync(t)
	for i := 0; i < 2; i++ {
		if got := flat(t, sc.notification(t)); len(got) != 1 || got[0] != mtu+"=1500" {
			t.Fatalf("heartbeat %d: %v", i, got)
		}
	}
}

func TestSubscribePollTwice(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	mtu := bluePorts + "/port[name=g1-nic0]/mtu"
	l := streamList(0, mtu)
	l.Mode = gpb.SubscriptionList_POLL
	sc := ts.subscribe(t, l)
	if got := flat(t, sc.untilSync(t)...); len(got) != 1 || got[0] != mtu+"=1500" {
		t.Fatalf("first: %v", got)
	}
	poll := &gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Poll{Poll: &gpb.Poll{}}}
	for _, want := range []string{"1500", "9000"} {
		if want == "9000" {
			ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, mtu, "9000")}})
		}
		if err := sc.stream.Send(poll); err != nil {
			t.Fatal(err)
		}
		if got := flat(t, sc.untilSync(t)...); len(got) != 1 || got[0] != mtu+"="+want {
			t.Fatalf("poll: %v, want %s", got, want)
		}
	}
	sc.stream.CloseSend()
	if err := sc.ended(t); err != nil {
		t.Fatalf("POLL after CloseSend: %v", err)
	}
}

// TestSubscribeEveryVPN: a wildcard subscription to every VPN of every
// tenant sees existing VPNs and ones created later, in any tenant.
func TestSubscribeEveryVPN(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	sc := ts.subscribe(t, streamList(gpb.SubscriptionMode_TARGET_DEFINED, "/tenants/tenant[name=*]/vpns/vpn[name=*]/name"))
	initial := flat(t, sc.untilSync(t)...)
	if len(initial) != 2 || !has(initial, `/tenants/tenant[name=red]/vpns/vpn[name=red]/name="red"`) {
		t.Fatalf("initial: %v", initial)
	}
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=green]", `{"netready-l3vpn:vpns": {"vpn": [{"name": "g"}]}}`)}})
	if got := flat(t, sc.notification(t)); len(got) != 1 || got[0] != `/tenants/tenant[name=green]/vpns/vpn[name=g]/name="g"` {
		t.Fatalf("new VPN: %v", got)
	}
}

// TestSubscribeNoDataYet: a path without data keeps the stream open and
// delivers the data once it appears.
func TestSubscribeNoDataYet(t *testing.T) {
	ts := start(t, "")
	sc := ts.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE, "/tenants/tenant[name=blue]/description"))
	if initial := sc.untilSync(t); len(initial) != 0 {
		t.Fatalf("initial: %v", initial)
	}
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=blue]/description", `"hello"`)}})
	if got := flat(t, sc.notification(t)); len(got) != 1 || got[0] != `/tenants/tenant[name=blue]/description="hello"` {
		t.Fatalf("got %v", got)
	}
}

// TestSubscribeTransactionsArriveWhole: Sets of 100 updates from two
// writers; every notification holds complete transactions only.
func TestSubscribeTransactionsArriveWhole(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	var ports []string
	for i := 0; i < 100; i++ {
		ports = append(ports, fmt.Sprintf(`{"name": "p%d"}`, i))
	}
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, bluePorts, `{"port": [`+strings.Join(ports, ",")+`]}`)}})
	sc := ts.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE, bluePorts+"/port/description"))
	sc.untilSync(t)
	const writers, sets = 2, 25
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < sets; i++ {
				req := &gpb.SetRequest{}
				for p := 0; p < 100; p++ {
					req.Update = append(req.Update, upd(t, fmt.Sprintf(bluePorts+"/port[name=p%d]/description", p), fmt.Sprintf(`"w%d-s%d"`, w, i)))
				}
				if _, err := ts.client.Set(ctx(t), req); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	last := map[int]string{} // the last transaction seen per writer
	for seen := 0; seen < writers; {
		n := sc.notification(t)
		count := map[string]int{}
		for _, line := range flat(t, n) {
			count[line[strings.LastIndex(line, "=")+1:]]++
		}
		for marker, c := range count {
			if c != 100 {
				t.Fatalf("transaction %s arrived with %d of its 100 updates", marker, c)
			}
			var w, s int
			fmt.Sscanf(strings.Trim(marker, `"`), "w%d-s%d", &w, &s)
			last[w] = marker
			if s == sets-1 {
				seen++
			}
		}
	}
}

// TestSubscribeFailedSetSendsNothing: a refused Set publishes nothing.
func TestSubscribeFailedSetSendsNothing(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	sc := ts.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE, "/tenants"))
	sc.untilSync(t)
	_, err := ts.client.Set(ctx(t), &gpb.SetRequest{Update: []*gpb.Update{
		upd(t, "/tenants/tenant[name=blue]/description", `"never"`),
		upd(t, bluePorts+"/port[name=g1-nic0]/host", `"nowhere"`),
	}})
	wantCode(t, err, codes.FailedPrecondition, "nowhere")
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, "/tenants/tenant[name=blue]/description", `"after"`)}})
	if got := flat(t, sc.notification(t)); len(got) != 1 || got[0] != `/tenants/tenant[name=blue]/description="after"` {
		t.Fatalf("got %v", got)
	}
}

func TestSubscribeSystemState(t *testing.T) {
	ts := start(t, "")
	sc := ts.subscribe(t, streamList(gpb.SubscriptionMode_ON_CHANGE, "/system/state/last-commit-id"))
	sc.untilSync(t)
	ts.setRoot(t, scenario(t, "any-to-any"))
	if got := flat(t, sc.notification(t)); len(got) != 1 || got[0] != `/system/state/last-commit-id="1"` {
		t.Fatalf("got %v", got)
	}
}

func TestSubscribeUpdatesOnlyProtoAndPrefix(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	prefix := path(t, bluePorts)
	prefix.Target = "dc1"
	l := &gpb.SubscriptionList{Mode: gpb.SubscriptionList_STREAM, Encoding: gpb.Encoding_PROTO, UpdatesOnly: true, Prefix: prefix,
		Subscription: []*gpb.Subscription{{Path: path(t, "/port[name=g1-nic0]/mtu")}}}
	sc := ts.subscribe(t, l)
	if initial := sc.untilSync(t); len(initial) != 0 {
		t.Fatalf("updates_only sent data first: %v", initial)
	}
	ts.mustSet(t, &gpb.SetRequest{Update: []*gpb.Update{upd(t, bluePorts+"/port[name=g1-nic0]/mtu", "9000")}})
	n := sc.notification(t)
	if n.GetPrefix().GetTarget() != "dc1" || len(n.GetUpdate()) != 1 {
		t.Fatalf("notification %v", n)
	}
	u := n.GetUpdate()[0]
	if p, _ := ygot.PathToString(u.GetPath()); p != "/port[name=g1-nic0]/mtu" || u.GetVal().GetUintVal() != 9000 {
		t.Fatalf("update %v", u)
	}
}

func TestSubscribeErrors(t *testing.T) {
	ts := start(t, "")
	open := func() gpb.GNMI_SubscribeClient {
		s, err := ts.client.Subscribe(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	recvErr := func(s gpb.GNMI_SubscribeClient) error {
		for {
			r, err := s.Recv()
			if err != nil {
				return err
			}
			_ = r
		}
	}
	sub := func(l *gpb.SubscriptionList) error {
		s := open()
		s.Send(&gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Subscribe{Subscribe: l}})
		return recvErr(s)
	}

	s := open()
	s.Send(&gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Poll{Poll: &gpb.Poll{}}})
	wantCode(t, recvErr(s), codes.InvalidArgument, "first message")

	wantCode(t, sub(streamList(gpb.SubscriptionMode_ON_CHANGE, "/tenants/tenant/colour")), codes.Unimplemented, "colour")
	wantCode(t, sub(&gpb.SubscriptionList{Mode: gpb.SubscriptionList_STREAM}), codes.InvalidArgument, "no subscription")
	bad := streamList(gpb.SubscriptionMode_ON_CHANGE, "/tenants")
	bad.Encoding = gpb.Encoding_ASCII
	wantCode(t, sub(bad), codes.Unimplemented, "ASCII")
	fast := streamList(gpb.SubscriptionMode_SAMPLE, "/tenants")
	fast.Subscription[0].SampleInterval = uint64(time.Millisecond)
	wantCode(t, sub(fast), codes.InvalidArgument, "interval")

	s = open()
	s.Send(&gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Subscribe{Subscribe: streamList(gpb.SubscriptionMode_ON_CHANGE, "/tenants")}})
	for r, err := s.Recv(); !r.GetSyncResponse(); r, err = s.Recv() {
		if err != nil {
			t.Fatal(err)
		}
	}
	s.Send(&gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Subscribe{Subscribe: streamList(gpb.SubscriptionMode_ON_CHANGE, "/hosts")}})
	wantCode(t, recvErr(s), codes.InvalidArgument, "second SubscriptionList")
}
