package daemon_test

// Acceptance tests of the gNMI History extension (gnmi-history.md) over
// gNMI/TLS on a real bbolt file.

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmi/proto/gnmi_ext"
	"google.golang.org/grpc/codes"

	"github.com/netready/netready/cmd/netreadyd/daemon"
)

// subscribeExt opens a Subscribe RPC whose request carries exts.
func (ts *testServer) subscribeExt(t testing.TB, list *gpb.SubscriptionList, exts ...*gnmi_ext.Extension) *subClient {
	t.Helper()
	c, cancel := context.WithCancel(context.Background())
	stream, err := ts.client.Subscribe(c)
	if err != nil {
		t.Fatal(err)
	}
	sc := &subClient{stream: stream, items: make(chan subItem, 10000), cancel: cancel}
	t.Cleanup(cancel)
	req := &gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Subscribe{Subscribe: list}, Extension: exts}
	if err := stream.Send(req); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			r, err := stream.Recv()
			sc.items <- subItem{r, err}
			if err != nil {
				return
			}
		}
	}()
	return sc
}

func snapshotExt(at time.Time) *gnmi_ext.Extension {
	return &gnmi_ext.Extension{Ext: &gnmi_ext.Extension_History{History: &gnmi_ext.History{
		Request: &gnmi_ext.History_SnapshotTime{SnapshotTime: at.UnixNano()}}}}
}

func rangeExt(start, end time.Time) *gnmi_ext.Extension {
	return &gnmi_ext.Extension{Ext: &gnmi_ext.Extension_History{History: &gnmi_ext.History{
		Request: &gnmi_ext.History_Range{Range: &gnmi_ext.TimeRange{Start: start.UnixNano(), End: end.UnixNano()}}}}}
}

func rootList(mode gpb.SubscriptionList_Mode) *gpb.SubscriptionList {
	return &gpb.SubscriptionList{Mode: mode, Encoding: gpb.Encoding_PROTO,
		Subscription: []*gpb.Subscription{{Path: &gpb.Path{}, Mode: gpb.SubscriptionMode_ON_CHANGE}}}
}

// configLeaves is every config leaf as "path=value", from Get CONFIG in
// PROTO encoding (one update per leaf).
func (ts *testServer) configLeaves(t *testing.T) []string {
	t.Helper()
	resp, err := ts.client.Get(ctx(t), &gpb.GetRequest{Encoding: gpb.Encoding_PROTO, Type: gpb.GetRequest_CONFIG})
	if err != nil {
		t.Fatal(err)
	}
	out := flat(t, resp.GetNotification()...)
	slices.Sort(out)
	return out
}

// between returns a time strictly after everything before the call and
// strictly before everything after it.
func between() time.Time {
	time.Sleep(2 * time.Millisecond)
	at := time.Now()
	time.Sleep(2 * time.Millisecond)
	return at
}

func TestHistorySnapshotBetweenCommits(t *testing.T) {
	ts := start(t, "")
	before := between()
	ts.setRoot(t, scenario(t, "any-to-any"))
	first := ts.configLeaves(t)
	mid := between()
	if _, err := ts.client.Set(ctx(t), &gpb.SetRequest{Replace: []*gpb.Update{{Path: &gpb.Path{}, Val: jsonIETF(string(scenario(t, "hub-and-spoke")))}}}); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(first, ts.configLeaves(t)) {
		t.Fatal("the second commit changed nothing; the test proves nothing")
	}

	sc := ts.subscribeExt(t, rootList(gpb.SubscriptionList_ONCE), snapshotExt(mid))
	got := flat(t, sc.untilSync(t)...)
	slices.Sort(got)
	if !slices.Equal(got, first) {
		t.Fatalf("snapshot between the commits:\n got %d leaves %v\nwant %d leaves %v", len(got), got, len(first), first)
	}
	if err := sc.ended(t); err != nil {
		t.Fatalf("ONCE history ended with %v", err)
	}

	sc = ts.subscribeExt(t, rootList(gpb.SubscriptionList_ONCE), snapshotExt(before))
	if got := flat(t, sc.untilSync(t)...); len(got) != 0 {
		t.Fatalf("snapshot before the first commit: %v, want nothing", got)
	}
}

func TestHistoryRangeReplaysCommitsInOrder(t *testing.T) {
	ts := start(t, "")
	ts.setRoot(t, scenario(t, "any-to-any"))
	startAt := between()
	const n = 4
	for i := range n {
		set := &gpb.SetRequest{Update: []*gpb.Update{{Path: path(t, "/hosts/host[name=host-a]/description"), Val: jsonIETF(fmt.Sprintf("%q", fmt.Sprint("rev ", i)))}}}
		if _, err := ts.client.Set(ctx(t), set); err != nil {
			t.Fatal(err)
		}
	}
	endAt := between()
	if _, err := ts.client.Set(ctx(t), &gpb.SetRequest{Delete: []*gpb.Path{path(t, "/hosts/host[name=host-a]/description")}}); err != nil {
		t.Fatal(err)
	}

	list := rootList(gpb.SubscriptionList_STREAM)
	list.UpdatesOnly, list.Encoding = true, gpb.Encoding_JSON_IETF
	sc := ts.subscribeExt(t, list, rangeExt(startAt, endAt))
	if dump := sc.untilSync(t); len(dump) != 0 {
		t.Fatalf("updates_only range sent %d notifications before sync", len(dump))
	}
	var last int64
	for i := range n {
		note := sc.notification(t)
		want := fmt.Sprintf("/hosts/host[name=host-a]/description=%q", fmt.Sprint("rev ", i))
		if got := flat(t, note); !slices.Equal(got, []string{want}) {
			t.Fatalf("notification %d: %v, want [%s]", i, got, want)
		}
		if note.GetTimestamp() < startAt.UnixNano() || note.GetTimestamp() >= endAt.UnixNano() || note.GetTimestamp() <= last {
			t.Fatalf("notification %d: timestamp %d outside [%d, %d) or not after %d", i, note.GetTimestamp(), startAt.UnixNano(), endAt.UnixNano(), last)
		}
		last = note.GetTimestamp()
	}
	if err := sc.ended(t); err != nil {
		t.Fatalf("range replay ended with %v, want the RPC closed", err)
	}

	// Without updates_only the tree as it was at the start comes first.
	list = rootList(gpb.SubscriptionList_STREAM)
	list.Encoding = gpb.Encoding_JSON_IETF
	sc = ts.subscribeExt(t, list, rangeExt(startAt, endAt))
	dump := flat(t, sc.untilSync(t)...)
	if !slices.Contains(dump, `/hosts/host[name=host-a]/description="Host A (compute node of vendor A)"`) {
		t.Fatalf("initial data is not the tree at the range start: %v", dump)
	}
}

func TestHistoryPastRetentionIsOutOfRange(t *testing.T) {
	ts := startWith(t, daemon.Config{Retention: 2})
	ts.setRoot(t, scenario(t, "any-to-any"))
	early := between()
	for i := range 2 {
		set := &gpb.SetRequest{Update: []*gpb.Update{{Path: path(t, "/hosts/host[name=host-b]/description"), Val: jsonIETF(fmt.Sprintf(`"v%d"`, i))}}}
		if _, err := ts.client.Set(ctx(t), set); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			early = between()
		}
	}
	// Commits 2 and 3 are retained; just after commit 2 is still known.
	list := rootList(gpb.SubscriptionList_ONCE)
	list.Encoding = gpb.Encoding_JSON_IETF
	sc := ts.subscribeExt(t, list, snapshotExt(early))
	if got := flat(t, sc.untilSync(t)...); !slices.Contains(got, `/hosts/host[name=host-b]/description="v0"`) {
		t.Fatalf("snapshot after commit 2: %v", got)
	}
	sc = ts.subscribeExt(t, rootList(gpb.SubscriptionList_ONCE), snapshotExt(time.Now().Add(-time.Hour)))
	wantCode(t, sc.ended(t), codes.OutOfRange, "before what the commit log retains")
}

func TestHistoryRequestErrors(t *testing.T) {
	ts := start(t, "")
	now := time.Now()
	for _, tc := range []struct {
		name string
		mode gpb.SubscriptionList_Mode
		ext  *gnmi_ext.Extension
		code codes.Code
		msg  string
	}{
		{"snapshot needs ONCE", gpb.SubscriptionList_STREAM, snapshotExt(now), codes.InvalidArgument, "needs mode ONCE"},
		{"snapshot in POLL", gpb.SubscriptionList_POLL, snapshotExt(now), codes.InvalidArgument, "needs mode ONCE"},
		{"range needs STREAM", gpb.SubscriptionList_ONCE, rangeExt(now.Add(-time.Second), now), codes.InvalidArgument, "needs mode STREAM"},
		{"start after end", gpb.SubscriptionList_STREAM, rangeExt(now, now.Add(-time.Second)), codes.InvalidArgument, "after it ends"},
		{"future snapshot", gpb.SubscriptionList_ONCE, snapshotExt(now.Add(time.Hour)), codes.Unimplemented, "in the future"},
		{"future end", gpb.SubscriptionList_STREAM, rangeExt(now, now.Add(time.Hour)), codes.Unimplemented, "not elapsed"},
		{"empty history", gpb.SubscriptionList_ONCE, &gnmi_ext.Extension{Ext: &gnmi_ext.Extension_History{History: &gnmi_ext.History{}}}, codes.InvalidArgument, "neither"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := ts.subscribeExt(t, rootList(tc.mode), tc.ext)
			wantCode(t, sc.ended(t), tc.code, tc.msg)
		})
	}
}
