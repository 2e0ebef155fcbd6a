// Package telemetry implements gNMI Subscribe (ONCE, POLL, STREAM with
// ON_CHANGE, SAMPLE and TARGET_DEFINED) over the datastore's tree.
//
// It does not use github.com/openconfig/gnmi/cache: the cache takes and
// publishes leaf updates one by one, so a subscriber could see half of a
// transaction. Here every published transaction (datastore.Event) carries
// its change set, recorded once by the writer (cost of the change, not of
// the tree), and each stream receives the part it subscribed to as ONE
// notification, in commit order.
// Path matching is our own too (match.go): subscriptions hold list keys
// and "..." that github.com/openconfig/gnmi/match does not express.
//
// A stream never slows down a Set or another stream: the hub only appends
// to per-stream queues, which merge superseded values when a client lags
// and give up on it with ResourceExhausted when it lags too far.
package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/live"
	"github.com/netready/netready/server/tree"
)

// Options tune the hub.
type Options struct {
	// QueueLen is how many responses a stream queues before it merges.
	QueueLen int
	// MaxPending is how many paths a lagging stream's merged backlog may
	// hold before the stream is ended with ResourceExhausted.
	MaxPending int
	// MinInterval is the shortest sample and heartbeat interval; a
	// sample_interval of 0 means this.
	MinInterval time.Duration
	// Chunk is how many updates one notification of a full dump carries.
	Chunk int
	// OnCount, if set, learns of Subscribe RPCs opening (+1) and closing (-1).
	OnCount func(delta int)
	// Live, if set, reads the live state (counters) into the values a
	// dump, a sample or a heartbeat sends; changes never carry it.
	Live *live.Reader
}

func (o *Options) defaults() {
	if o.QueueLen <= 0 {
		o.QueueLen = 256
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 1_000_000
	}
	if o.MinInterval <= 0 {
		o.MinInterval = 10 * time.Millisecond
	}
	if o.Chunk <= 0 {
		o.Chunk = 2000
	}
}

// Hub fans published changes out to Subscribe streams.
type Hub struct {
	ds     *datastore.Datastore
	log    *slog.Logger
	opts   Options
	feed   *datastore.Feed
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	streams map[*stream]struct{}
	// running counts Serve calls in progress, of every mode.
	running atomic.Int64
	// reason, once set, is why Close ends the streams.
	reason atomic.Pointer[string]
}

// NewHub starts fanning out the datastore's events.
func NewHub(ds *datastore.Datastore, log *slog.Logger, opts Options) *Hub {
	opts.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{
		ds: ds, log: log, opts: opts, feed: ds.Watch(),
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
		streams: map[*stream]struct{}{},
	}
	go h.run()
	return h
}

// closeWait is how long Close waits for streams to end. A stream whose
// client stopped reading sits in a Send that only closing its connection
// ends; the caller learns how many are left.
const closeWait = time.Second

// Close ends every stream (with Unavailable) and stops the hub. It returns
// the number of Subscribe RPCs still running after a short wait: those
// are blocked on clients that do not read.
func (h *Hub) Close() int { return h.CloseWith("server shutting down") }

// CloseWith is Close ending the streams with reason in their Unavailable
// status (e.g. that the server reloads and clients should resubscribe).
func (h *Hub) CloseWith(reason string) int {
	h.reason.CompareAndSwap(nil, &reason)
	h.cancel()
	<-h.done
	deadline := time.Now().Add(closeWait)
	for h.running.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return int(h.running.Load())
}

func (h *Hub) run() {
	defer close(h.done)
	for {
		evs, err := h.feed.Next(h.ctx)
		if err != nil {
			return
		}
		for _, ev := range evs {
			h.dispatch(ev)
		}
	}
}

// change is one difference of an event: an update of a leaf, or the
// deletion of a leaf or subtree (gone holds the old node).
type change struct {
	path []*gpb.PathElem
	leaf *tree.Node
	gone *tree.Node
}

// dispatch diffs an event once and hands it to every stream.
func (h *Hub) dispatch(ev datastore.Event) {
	h.mu.Lock()
	streams := make([]*stream, 0, len(h.streams))
	for s := range h.streams {
		streams = append(streams, s)
	}
	h.mu.Unlock()
	if len(streams) == 0 {
		return
	}
	changes := changesOf(ev.Changes)
	for _, s := range streams {
		s.onEvent(ev, changes)
	}
}

// changesOf lists what an event changed: every changed leaf, and every
// deleted leaf or subtree (once, at its root). The writer diffed the
// transaction already; this only replays its change set.
func changesOf(cs *changeset.Set) []change {
	var out []change
	var paths tree.ElemsBuilder // the changed leaves of a list share its path
	cs.Walk(func(chain []*tree.Node, o, n *tree.Node) bool {
		switch {
		case n == nil:
			out = append(out, change{path: paths.Elems(chain), gone: o})
			return false
		case !n.Schema().IsDir():
			out = append(out, change{path: paths.Elems(chain), leaf: n})
		}
		return true
	})
	return out
}

func (h *Hub) register(s *stream) {
	h.mu.Lock()
	h.streams[s] = struct{}{}
	h.mu.Unlock()
}

func (h *Hub) unregister(s *stream) {
	h.mu.Lock()
	delete(h.streams, s)
	h.mu.Unlock()
}

func (h *Hub) count(delta int) {
	if h.opts.OnCount != nil {
		h.opts.OnCount(delta)
	}
}

// QueueDepths returns, for every STREAM subscription, how much waits to
// be sent to it (queued responses, merged backlog paths and events held
// while its initial dump runs), for the server's metrics: a depth that
// grows is a collector that does not keep up.
func (h *Hub) QueueDepths() []int {
	h.mu.Lock()
	streams := make([]*stream, 0, len(h.streams))
	for s := range h.streams {
		streams = append(streams, s)
	}
	h.mu.Unlock()
	out := make([]int, len(streams))
	for i, s := range streams {
		s.mu.Lock()
		out[i] = len(s.buffered)
		s.mu.Unlock()
		out[i] += s.q.depth()
	}
	return out
}
