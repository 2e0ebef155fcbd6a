package datastore

import (
	"context"
	"sync"
	"time"

	"github.com/netready/netready/server/changeset"
)

// Event is one published change of the tree: a committed Set transaction
// (CommitID set) or a change of operational state (CommitID 0). Changes
// takes the tree from Changes.Old to Changes.New, exactly this change, so
// a subscriber sees each transaction whole and in order (Seq) without
// diffing the trees again.
type Event struct {
	Seq      uint64
	CommitID uint64
	Time     time.Time
	Changes  *changeset.Set
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
