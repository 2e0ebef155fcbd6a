package telemetry

import (
	"sync"

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
type merger struct {
	order   []string
	ordered map[string]bool
	ops     map[string]mergedOp
	last    *gpb.Notification
}

type mergedOp struct {
	update *gpb.Update
	delete *gpb.Path
}

func newMerger() *merger {
	return &merger{ops: map[string]mergedOp{}, ordered: map[string]bool{}}
}

func (m *merger) size() int { return len(m.ops) }

func (m *merger) add(n *gpb.Notification) {
	m.last = n
	for _, d := range n.GetDelete() {
		k := pathKey(d.GetElem())
		for key, op := range m.ops {
			if op.update != nil && isAtOrBelow(key, k) {
				delete(m.ops, key)
			}
		}
		m.put(k, mergedOp{delete: d})
	}
	for _, u := range n.GetUpdate() {
		m.put(pathKey(u.GetPath().GetElem()), mergedOp{update: u})
	}
}

func (m *merger) put(k string, op mergedOp) {
	if !m.ordered[k] {
		m.ordered[k] = true
		m.order = append(m.order, k)
	}
	m.ops[k] = op
}

// notification returns the merged notification, stamped with the time and
// prefix of the newest notification merged.
func (m *merger) notification() *gpb.Notification {
	out := &gpb.Notification{Timestamp: m.last.GetTimestamp(), Prefix: m.last.GetPrefix()}
	for _, k := range m.order {
		op, ok := m.ops[k]
		if !ok {
			continue
		}
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
