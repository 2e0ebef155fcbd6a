package datastore

import (
	"context"
	"sync"
	"time"

	"github.com/netready/netready/server/tree"
)

// Event is one published change of the tree: a committed Set transaction
// (CommitID set) or a change of operational state (CommitID 0). Old and New
// are the tree before and after exactly this change, so a subscriber can
// see each transaction whole (tree.Diff(Old, New)) and in order (Seq).
type Event struct {
	Seq      uint64
	CommitID uint64
	Time     time.Time
	Old, New *tree.Node
}

// Feed is the ordered stream of events, for one reader. The writer never
// waits for the reader: events queue until it takes them.
type Feed struct {
	mu     sync.Mutex
	events []Event
	wake   chan struct{}
}

func newFeed() *Feed { return &Feed{wake: make(chan struct{}, 1)} }

func (f *Feed) push(evs []Event) {
	if len(evs) == 0 {
		return
	}
	f.mu.Lock()
	f.events = append(f.events, evs...)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Next returns every event not taken yet, waiting for one if there is none.
func (f *Feed) Next(ctx context.Context) ([]Event, error) {
	for {
		f.mu.Lock()
		evs := f.events
		f.events = nil
		f.mu.Unlock()
		if len(evs) > 0 {
			return evs, nil
		}
		select {
		case <-f.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
