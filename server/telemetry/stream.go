package telemetry

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/tree"
)

// Request is a validated SubscriptionList (see gnmiserver.Subscribe).
type Request struct {
	Mode        gpb.SubscriptionList_Mode
	Encoding    gpb.Encoding
	Prefix      *gpb.Path // echoed in every notification
	Strip       int       // leading elements of full paths that Prefix stands for
	UpdatesOnly bool
	Subs        []Sub
	// Filter is what the initial data includes: All, or Config for a
	// past version (whose state is not kept).
	Filter tree.Filter
	// History, if set, answers from the past instead of the live tree.
	History *History
	// Depth limits how far below each subscribed path data is sent (the
	// Depth extension, see tree.Depth); 0 is no limit.
	Depth uint32
	// Visible, if set, is what the subscriber may see; the rest is left
	// out of every notification, including data created later.
	Visible tree.PathVisibleFunc
}

// Sub is one subscription of a list.
type Sub struct {
	Pattern   []*gpb.PathElem // the full path: prefix and path joined
	Mode      gpb.SubscriptionMode
	Sample    time.Duration
	Heartbeat time.Duration
	Suppress  bool
}

// stream serves one Subscribe RPC.
type stream struct {
	h   *Hub
	ss  gpb.GNMI_SubscribeServer
	req *Request
	// live are the subscriptions fed by events (ON_CHANGE, TARGET_DEFINED).
	live []*Sub
	q    *queue

	mu       sync.Mutex
	syncing  bool
	buffered []bufferedEvent
	startSeq uint64
}

type bufferedEvent struct {
	ev      datastore.Event
	changes []change
}

var syncResponse = &gpb.SubscribeResponse{Response: &gpb.SubscribeResponse_SyncResponse{SyncResponse: true}}

// Serve runs a validated subscription until it ends: ONCE after its data,
// POLL when the client closes, STREAM when the client goes away, falls
// too far behind, or the hub closes.
func (h *Hub) Serve(ss gpb.GNMI_SubscribeServer, req *Request) error {
	s := &stream{h: h, ss: ss, req: req}
	root := h.ds.Schema().Root
	for i := range req.Subs {
		sub := &req.Subs[i]
		sub.Pattern = canonical(root, sub.Pattern)
		if err := h.checkIntervals(sub); err != nil {
			return err
		}
		if sub.Mode == gpb.SubscriptionMode_ON_CHANGE || sub.Mode == gpb.SubscriptionMode_TARGET_DEFINED {
			s.live = append(s.live, sub)
		}
	}
	h.count(1)
	defer h.count(-1)
	h.running.Add(1)
	defer h.running.Add(-1)
	if req.History != nil {
		return s.history()
	}
	switch req.Mode {
	case gpb.SubscriptionList_ONCE:
		return s.once()
	case gpb.SubscriptionList_POLL:
		return s.poll()
	}
	return s.stream()
}

// checkIntervals applies the server's shortest interval: 0 for a sample
// means the shortest; anything shorter is refused, as the specification
// asks of an interval the target cannot honour.
func (h *Hub) checkIntervals(sub *Sub) error {
	min := h.opts.MinInterval
	if (sub.Sample != 0 && sub.Sample < min) || (sub.Heartbeat != 0 && sub.Heartbeat < min) {
		return status.Errorf(codes.InvalidArgument, "subscribe: %s: intervals below %v are not supported", pathKey(sub.Pattern), min)
	}
	if sub.Mode == gpb.SubscriptionMode_SAMPLE && sub.Sample == 0 {
		sub.Sample = min
	}
	return nil
}

func (s *stream) once() error {
	if err := s.sendDump(s.h.ds.Snapshot()); err != nil {
		return err
	}
	return s.ss.Send(syncResponse)
}

func (s *stream) poll() error {
	if err := s.sendDump(s.h.ds.Snapshot()); err != nil {
		return err
	}
	if err := s.ss.Send(syncResponse); err != nil {
		return err
	}
	for {
		m, err := s.ss.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if m.GetPoll() == nil {
			return status.Error(codes.InvalidArgument, "subscribe: a POLL subscription takes only Poll messages")
		}
		if err := s.sendDumpOf(s.h.ds.Snapshot(), s.req.Subs); err != nil {
			return err
		}
		if err := s.ss.Send(syncResponse); err != nil {
			return err
		}
	}
}

// stream registers for events before taking the snapshot it dumps, and
// buffers the events that arrive until it has taken it: afterwards it
// forwards those newer than the snapshot, so nothing is lost or seen twice.
func (s *stream) stream() error {
	ctx, cancel := context.WithCancel(s.ss.Context())
	defer cancel()
	s.q = newQueue(s.h.opts.QueueLen, s.h.opts.MaxPending)
	s.syncing = true
	s.h.register(s)
	defer s.h.unregister(s)
	snap := s.h.ds.Snapshot()
	// From here on, changes newer than the snapshot go to the queue while
	// the dump is sent: the queue bounds them (merging, then
	// ResourceExhausted) if the client stops reading mid-dump, and
	// sendLoop sends them only after the sync response.
	s.mu.Lock()
	s.startSeq = snap.Seq
	for _, b := range s.buffered {
		if b.ev.Seq > snap.Seq {
			s.deliver(b.ev, b.changes)
		}
	}
	s.buffered, s.syncing = nil, false
	s.mu.Unlock()
	if err := s.sendDump(snap); err != nil {
		return err
	}
	if err := s.ss.Send(syncResponse); err != nil {
		return err
	}
	for i := range s.req.Subs {
		sub := &s.req.Subs[i]
		if sub.Mode == gpb.SubscriptionMode_SAMPLE || sub.Heartbeat > 0 {
			go s.tick(ctx, sub, snap)
		}
	}
	go s.recvLoop()
	return s.sendLoop(ctx)
}

// recvLoop watches the client side: a STREAM subscription takes no
// further message. A client closing its sending side keeps the stream.
func (s *stream) recvLoop() {
	m, err := s.ss.Recv()
	if err != nil {
		return
	}
	what := "a second SubscriptionList"
	if m.GetPoll() != nil {
		what = "a Poll"
	}
	s.q.fail(status.Errorf(codes.InvalidArgument, "subscribe: a STREAM subscription takes no further messages (got %s)", what))
}

func (s *stream) sendLoop(ctx context.Context) error {
	for {
		select {
		case <-s.q.ready:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-s.h.ctx.Done():
			reason := "server shutting down"
			if r := s.h.reason.Load(); r != nil {
				reason = *r
			}
			return status.Error(codes.Unavailable, "subscribe: "+reason)
		}
		items, err := s.q.take()
		if err != nil {
			return err
		}
		for _, r := range items {
			if err := s.ss.Send(r); err != nil {
				return err
			}
		}
	}
}

// onEvent takes a published change from the hub.
func (s *stream) onEvent(ev datastore.Event, changes []change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.syncing {
		s.buffered = append(s.buffered, bufferedEvent{ev, changes})
		return
	}
	if ev.Seq > s.startSeq {
		s.deliver(ev, changes)
	}
}

// deliver queues the part of one event the live subscriptions cover, as
// one notification: a transaction arrives whole.
func (s *stream) deliver(ev datastore.Event, changes []change) {
	if len(s.live) == 0 {
		return
	}
	if n := s.notification(ev, changes); n != nil {
		s.q.push(&gpb.SubscribeResponse{Response: &gpb.SubscribeResponse_Update{Update: n}})
	}
}

// notification is the part of one event the live subscriptions cover, nil
// when they cover none of it.
func (s *stream) notification(ev datastore.Event, changes []change) *gpb.Notification {
	n := &gpb.Notification{Timestamp: ev.Time.UnixNano(), Prefix: s.req.Prefix}
	deleted := map[string]bool{}
	del := func(p []*gpb.PathElem) {
		if k := pathKey(p); !deleted[k] {
			deleted[k] = true
			n.Delete = append(n.Delete, s.rel(p))
		}
	}
	vis := s.req.Visible
	// The updates and their paths come from one allocation each, sized
	// for every change: the push of a bulk Set carries 1,000s of them.
	var ups *updateSlab
	for _, c := range changes {
		if vis != nil && vis(c.path) == tree.Hidden {
			continue
		}
		if c.leaf != nil {
			for _, sub := range s.live {
				if covers(sub.Pattern, c.path) && s.withinDepth(sub.Pattern, c.path) {
					if ups == nil {
						ups = newUpdateSlab(len(changes))
					}
					n.Update = append(n.Update, ups.next(s.relElems(c.path), tree.TypedValue(c.leaf, s.req.Encoding)))
					break
				}
			}
			continue
		}
		for _, sub := range s.live {
			if covers(sub.Pattern, c.path) {
				del(c.path)
				break
			}
			for _, rest := range below(sub.Pattern, c.path) {
				tree.Match(c.gone, rest, func(chain []*tree.Node) error {
					p := append(append([]*gpb.PathElem(nil), c.path...), tree.GNMIElems(tree.ChainPath(chain))...)
					if vis == nil || vis(p) != tree.Hidden {
						del(p)
					}
					return nil
				})
			}
		}
	}
	if len(n.Update) > 0 || len(n.Delete) > 0 {
		return n
	}
	return nil
}

// rel is a full data path relative to the request's prefix.
func (s *stream) rel(p []*gpb.PathElem) *gpb.Path { return &gpb.Path{Elem: s.relElems(p)} }

// relElems is the elements of rel(p).
func (s *stream) relElems(p []*gpb.PathElem) []*gpb.PathElem {
	return p[min(s.req.Strip, len(p)):]
}

// updateSlab hands out the updates of one notification and their paths
// from two arrays (messages are filled in place, never copied).
type updateSlab struct {
	ups   []gpb.Update
	paths []gpb.Path
}

func newUpdateSlab(n int) *updateSlab {
	return &updateSlab{ups: make([]gpb.Update, 0, n), paths: make([]gpb.Path, 0, n)}
}

// next returns the next update, at elems with value val. A notification
// has at most one update per change, so the slab, sized for them all,
// never fills.
func (u *updateSlab) next(elems []*gpb.PathElem, val *gpb.TypedValue) *gpb.Update {
	u.ups, u.paths = u.ups[:len(u.ups)+1], u.paths[:len(u.paths)+1]
	up, p := &u.ups[len(u.ups)-1], &u.paths[len(u.paths)-1]
	p.Elem = elems
	up.Path, up.Val = p, val
	return up
}

// tick serves a SAMPLE subscription, or the heartbeat of an ON_CHANGE one.
func (s *stream) tick(ctx context.Context, sub *Sub, snap *datastore.Snapshot) {
	interval := sub.Sample
	if sub.Mode != gpb.SubscriptionMode_SAMPLE {
		interval = sub.Heartbeat
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	last := s.values(s.withLive(snap.Root, *sub), sub)
	lastFull := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		snap := s.h.ds.Snapshot()
		cur := s.values(s.withLive(snap.Root, *sub), sub)
		full := sub.Mode != gpb.SubscriptionMode_SAMPLE || !sub.Suppress ||
			(sub.Heartbeat > 0 && time.Since(lastFull) >= sub.Heartbeat)
		n := &gpb.Notification{Timestamp: time.Now().UnixNano(), Prefix: s.req.Prefix}
		for _, v := range cur.order {
			if full || cur.vals[v] != last.vals[v] {
				n.Update = append(n.Update, cur.updates[v])
			}
		}
		for _, v := range last.order {
			if _, still := cur.vals[v]; !still {
				n.Delete = append(n.Delete, last.updates[v].GetPath())
			}
		}
		if full {
			lastFull = time.Now()
		}
		last = cur
		if len(n.Update) > 0 || len(n.Delete) > 0 {
			if !s.q.push(&gpb.SubscribeResponse{Response: &gpb.SubscribeResponse_Update{Update: n}}) {
				return
			}
		}
	}
}
