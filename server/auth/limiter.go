package auth

import (
	"slices"
	"sync"
	"time"
)

// limiter counts authentication failures per key (a client address or a
// username) and refuses keys that failed too often, with a back-off that
// doubles on every further failure up to a cap.
//
// Why the back-off outlives the failure window: if the counter simply
// reset after a quiet minute, a patient attacker would get MaxFailures
// guesses per minute forever. Instead, once a key has been blocked, every
// further failure blocks it again for twice as long, and the key is only
// forgotten after it has been quiet for forgetAfter past the end of its
// last block. Attempts refused while blocked are not counted: they reveal
// nothing to the attacker, and counting them would let anyone extend a
// victim user's lock-out indefinitely at no cost.
//
// Memory is bounded by maxEntries: when full, forgettable entries are
// swept, and if that is not enough the least recently failed entries are
// evicted (an attacker who can fail that many times from distinct keys
// could also simply use fresh keys).
type limiter struct {
	maxFailures int
	window      time.Duration
	minBackoff  time.Duration
	maxBackoff  time.Duration
	forgetAfter time.Duration
	maxEntries  int

	mu      sync.Mutex
	entries map[string]*limitEntry
}

type limitEntry struct {
	count   int           // failures in the current window
	first   time.Time     // start of the current window
	last    time.Time     // last counted failure
	backoff time.Duration // current block length; 0 = never blocked
	until   time.Time     // blocked before this instant
}

func newLimiter(o Options) *limiter {
	return &limiter{
		maxFailures: o.MaxFailures,
		window:      o.FailureWindow,
		minBackoff:  o.MinBackoff,
		maxBackoff:  o.MaxBackoff,
		forgetAfter: o.FailureWindow + o.MaxBackoff,
		maxEntries:  o.MaxTracked,
		entries:     map[string]*limitEntry{},
	}
}

// blocked reports whether key is currently refused.
func (l *limiter) blocked(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[key]
	return e != nil && now.Before(e.until)
}

// fail records a failure for key.
func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[key]
	if e != nil && l.forgettable(e, now) {
		delete(l.entries, key)
		e = nil
	}
	if e == nil {
		if len(l.entries) >= l.maxEntries {
			l.evict(now)
		}
		e = &limitEntry{first: now}
		l.entries[key] = e
	}
	if now.Before(e.until) {
		return // raced with another failure that already blocked the key
	}
	if e.backoff == 0 && now.Sub(e.first) > l.window {
		e.count, e.first = 0, now // a few typos spread over time
	}
	e.count++
	e.last = now
	if e.count < l.maxFailures {
		return
	}
	if e.backoff == 0 {
		e.backoff = l.minBackoff
	} else {
		e.backoff = min(2*e.backoff, l.maxBackoff)
	}
	e.until = now.Add(e.backoff)
}

// reset forgets key (a successful login for that username).
func (l *limiter) reset(key string) {
	l.mu.Lock()
	delete(l.entries, key)
	l.mu.Unlock()
}

func (l *limiter) forgettable(e *limitEntry, now time.Time) bool {
	if e.backoff == 0 {
		return now.Sub(e.last) > l.window
	}
	return now.Sub(e.until) > l.forgetAfter
}

// evict makes room for one entry. Called with l.mu held and the map full.
func (l *limiter) evict(now time.Time) {
	for k, e := range l.entries {
		if l.forgettable(e, now) {
			delete(l.entries, k)
		}
	}
	// Still full: drop the oldest quarter by last failure, so that a burst
	// of fresh keys costs one O(n) pass per maxEntries/4 insertions rather
	// than one per insertion.
	for len(l.entries) >= l.maxEntries {
		excess := len(l.entries) - l.maxEntries*3/4
		type kv struct {
			k    string
			last time.Time
		}
		all := make([]kv, 0, len(l.entries))
		for k, e := range l.entries {
			all = append(all, kv{k, e.last})
		}
		// Partial selection would do; n log n on a bounded map is fine.
		slices.SortFunc(all, func(a, b kv) int { return a.last.Compare(b.last) })
		for _, x := range all[:max(excess, 1)] {
			delete(l.entries, x.k)
		}
	}
}

// size is the number of tracked keys (tests).
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}
