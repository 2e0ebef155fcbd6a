package auth

import (
	"context"
	"sync"
)

// flights lets concurrent attempts with the same credentials from the same
// client address share one password check. A client that opens many RPCs
// at once before its password is cached would otherwise pay bcrypt for
// each, and with attempts counted while they run, the ones past the
// address's budget would be refused although the password is right. An
// attacker gains nothing from it: repeating one guess concurrently learns
// the same answer as asking once.
type flights struct {
	mu sync.Mutex
	m  map[flightKey]*flight
}

// flightKey is a client address key and the HMAC of the credentials.
type flightKey struct {
	addr  string
	creds cacheKey
}

// flight is one password check in progress; reason is its outcome (nil:
// the password is right), valid once done is closed.
type flight struct {
	done   chan struct{}
	reason error
}

// do returns the outcome of check for key, running it unless an attempt
// with the same key is already running, in which case it waits for that
// one's outcome (bounded by ctx). If the running attempt gave up while
// waiting for its turn at bcrypt, a waiter checks again itself rather than
// failing for another RPC's cancellation.
func (fs *flights) do(ctx context.Context, key flightKey, check func() error) error {
	for {
		f, lead := fs.join(key)
		if lead {
			f.reason = check()
			fs.finish(key, f)
			return f.reason
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return ErrHashQueueCancelled
		}
		if f.reason != ErrHashQueueCancelled {
			return f.reason
		}
	}
}

func (fs *flights) join(key flightKey) (f *flight, lead bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f := fs.m[key]; f != nil {
		return f, false
	}
	if fs.m == nil {
		fs.m = map[flightKey]*flight{}
	}
	f = &flight{done: make(chan struct{})}
	fs.m[key] = f
	return f, true
}

func (fs *flights) finish(key flightKey, f *flight) {
	fs.mu.Lock()
	delete(fs.m, key)
	fs.mu.Unlock()
	close(f.done)
}
