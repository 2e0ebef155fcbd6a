package telemetry

import (
	"sort"
	"sync"

	"github.com/google/btree"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// queue holds what a stream has yet to send. Producers (the hub, timers)
// never wait: up to max responses queue as they are; past that, further
// notifications are merged into one backlog notification in which a newer
// value of a path replaces an older one (ON_CHANGE subscribers want the
// current value, not every step). Merging keeps transactions whole: the
// backlog holds every change of every merged transaction. When the backlog
// holds more than maxPending paths the subscriber is too far behind and the
// queue fails with ResourceExhausted.
type queue struct {
	mu         sync.Mutex
	items      []*gpb.SubscribeResponse
	backlog    *merger
	max        int
	maxPending int
	err        error
	ready      chan struct{}
}

func newQueue(max, maxPending int) *queue {
	return &queue{max: max, maxPending: maxPending, ready: make(chan struct{}, 1)}
}

// push adds a response; it reports false once the queue has failed.
func (q *queue) push(r *gpb.SubscribeResponse) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return false
	}
	n := r.GetUpdate()
	switch {
	case n != nil && (q.backlog != nil || len(q.items) >= q.max):
		if q.backlog == nil {
			q.backlog = newMerger()
		}
		q.backlog.add(n)
		if q.backlog.size() > q.maxPending {
			q.err = status.Errorf(codes.ResourceExhausted,
				"subscriber too slow: more than %d updates waiting; resubscribe", q.maxPending)
			q.items, q.backlog = nil, nil
		}
	case q.backlog != nil:
		// A sync response after a backlog: keep the order.
		q.items = append(q.items, &gpb.SubscribeResponse{Response: &gpb.SubscribeResponse_Update{Update: q.backlog.notification()}}, r)
		q.backlog = nil
	default:
		q.items = append(q.items, r)
	}
	q.signal()
	return q.err == nil
}

// fail ends the queue with err (the first error wins).
func (q *queue) fail(err error) {
	q.mu.Lock()
	if q.err == nil {
		q.err = err
	}
	q.mu.Unlock()
	q.signal()
}

func (q *queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take returns everything queued, or the error that ended the queue.
func (q *queue) take() ([]*gpb.SubscribeResponse, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return nil, q.err
	}
	items := q.items
	if q.backlog != nil {
		items = append(items, &gpb.SubscribeResponse{Response: &gpb.SubscribeResponse_Update{Update: q.backlog.notification()}})
		q.backlog = nil
	}
	q.items = nil
	return items, nil
}

// merger folds notifications into one, keeping the latest operation per
// path in first-seen order. A delete drops pending updates at or below its
// path, since a notification's deletes are applied before its updates.
// Paths are kept in key order so that a delete finds what it covers as one
// range, and nothing is kept for a path that was dropped: the memory held
// follows size(), however many paths went through.
type merger struct {
	ops  *btree.BTreeG[*mergedOp]
	seq  uint64 // first-seen order of the next new path
	last *gpb.Notification
}

type mergedOp struct {
	key    string
	seq    uint64
	update *gpb.Update
	delete *gpb.Path
}

func opLess(a, b *mergedOp) bool { return a.key < b.key }

func newMerger() *merger { return &merger{ops: btree.NewG(16, opLess)} }

func (m *merger) size() int { return m.ops.Len() }

func (m *merger) add(n *gpb.Notification) {
	m.last = n
	for _, d := range n.GetDelete() {
		k := pathKey(d.GetElem())
		m.dropUpdates(k)
		m.put(&mergedOp{key: k, delete: d})
	}
	for _, u := range n.GetUpdate() {
		m.put(&mergedOp{key: pathKey(u.GetPath().GetElem()), update: u})
	}
}

// dropUpdates removes the pending updates at k and below it (the keys
// k+"/..." sort between k+"/" and k+"0").
func (m *merger) dropUpdates(k string) {
	if k == "/" { // the root: every pending update goes
		m.ops.Clear(false)
		return
	}
	var gone []*mergedOp
	if op, ok := m.ops.Get(&mergedOp{key: k}); ok && op.update != nil {
		gone = append(gone, op)
	}
	m.ops.AscendRange(&mergedOp{key: k + "/"}, &mergedOp{key: k + "0"}, func(op *mergedOp) bool {
		if op.update != nil {
			gone = append(gone, op)
		}
		return true
	})
	for _, op := range gone {
		m.ops.Delete(op)
	}
}

// put records op, keeping the position of a path already pending.
func (m *merger) put(op *mergedOp) {
	if old, ok := m.ops.Get(op); ok {
		op.seq = old.seq
	} else {
		op.seq = m.seq
		m.seq++
	}
	m.ops.ReplaceOrInsert(op)
}

// notification returns the merged notification, stamped with the time and
// prefix of the newest notification merged.
func (m *merger) notification() *gpb.Notification {
	ops := make([]*mergedOp, 0, m.ops.Len())
	m.ops.Ascend(func(op *mergedOp) bool { ops = append(ops, op); return true })
	sort.Slice(ops, func(i, j int) bool { return ops[i].seq < ops[j].seq })
	out := &gpb.Notification{Timestamp: m.last.GetTimestamp(), Prefix: m.last.GetPrefix()}
	for _, op := range ops {
		if op.delete != nil {
			out.Delete = append(out.Delete, op.delete)
		} else {
			out.Update = append(out.Update, op.update)
		}
	}
	return out
}

// depth is how many responses wait to be sent: those queued as they are
// plus the paths of the merged backlog.
func (q *queue) depth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.items)
	if q.backlog != nil {
		n += q.backlog.size()
	}
	return n
}
