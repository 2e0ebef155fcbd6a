package auth

import (
	"slices"
	"sync"
	"time"
)

// limiter counts authentication failures per key and refuses keys that
// failed too often, with a back-off that doubles on every further failure
// up to a cap. The Authenticator keeps three: per client address, per
// (address, user) pair, and per user; only the first two ever refuse an
// attempt (see Authenticator.verify).
//
// Attempts are counted while they run, not only once they have failed: an
// attempt reserves a slot (acquire) before its password is checked and
// gives it back with the outcome (release). A key may have at most as many
// attempts in flight as it has failures left in its budget, so a burst of
// concurrent guesses costs no more bcrypt work than the same guesses one
// after the other.
//
// Why the back-off outlives the failure window: if the counter simply
// reset after a quiet minute, a patient attacker would get budget guesses
// per minute forever. Instead, once a key has been blocked it is on
// probation: one attempt at a time, and every further failure blocks it
// again for twice as long. The key is only forgotten after it has been
// quiet for forgetAfter past the end of its last block. Attempts refused
// while blocked are not counted: they reveal nothing to the attacker.
//
// Memory is bounded by maxEntries: when full, forgettable entries are
// swept, and if that is not enough the least recently used entries without
// attempts in flight are evicted (an attacker who can fail that many times
// from distinct keys could also simply use fresh keys). Entries with
// attempts in flight are never evicted, so the map may exceed maxEntries
// by the number of attempts running at that moment.
type limiter[K comparable] struct {
	budget      int // failures within window before the first block
	window      time.Duration
	minBackoff  time.Duration
	maxBackoff  time.Duration
	forgetAfter time.Duration
	maxEntries  int

	mu      sync.Mutex
	entries map[K]*limitEntry
}

type limitEntry struct {
	count    int           // failures in the current window
	inflight int           // attempts acquired and not yet released
	first    time.Time     // start of the current window
	last     time.Time     // last acquire or counted failure
	backoff  time.Duration // current block length; 0 = never blocked
	until    time.Time     // blocked before this instant
}

func newLimiter[K comparable](o Options, budget int) *limiter[K] {
	return &limiter[K]{
		budget:      budget,
		window:      o.FailureWindow,
		minBackoff:  o.MinBackoff,
		maxBackoff:  o.MaxBackoff,
		forgetAfter: o.FailureWindow + o.MaxBackoff,
		maxEntries:  o.MaxTracked,
		entries:     map[K]*limitEntry{},
	}
}

// blocked reports whether key is currently refused.
func (l *limiter[K]) blocked(key K, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[key]
	return e != nil && now.Before(e.until)
}

// acquire reserves an attempt for key, or reports false when key is
// blocked or already has as many attempts in flight as it may still fail.
// strict allows a single attempt at a time, whatever the budget left.
func (l *limiter[K]) acquire(key K, now time.Time, strict bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(key, now)
	if now.Before(e.until) {
		return false
	}
	if e.backoff == 0 && now.Sub(e.first) > l.window {
		e.count, e.first = 0, now // a few typos spread over time
	}
	allowed := l.budget - e.count
	if e.backoff > 0 || strict {
		allowed = 1 // probation: every failure blocks again
	}
	if e.inflight >= allowed {
		return false
	}
	e.inflight++
	e.last = now
	return true
}

// release ends an attempt acquire admitted; failed counts it as a failure
// and strict makes that failure block key at once.
func (l *limiter[K]) release(key K, now time.Time, failed, strict bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[key]
	if e == nil {
		return // unreachable: entries with attempts in flight stay
	}
	e.inflight--
	if failed {
		l.count(e, now, strict)
	}
}

// fail records a failure for key without an attempt slot: the per-user
// signal, which counts failures but never refuses.
func (l *limiter[K]) fail(key K, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count(l.entry(key, now), now, false)
}

// reset clears key's failures (a successful login for that pair). Attempts
// still in flight keep their slots.
func (l *limiter[K]) reset(key K) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[key]
	switch {
	case e == nil:
	case e.inflight == 0:
		delete(l.entries, key)
	default:
		*e = limitEntry{inflight: e.inflight, first: e.first, last: e.last}
	}
}

// entry returns key's entry, creating it (and making room) if needed.
// Called with l.mu held.
func (l *limiter[K]) entry(key K, now time.Time) *limitEntry {
	e := l.entries[key]
	if e != nil && l.forgettable(e, now) {
		delete(l.entries, key)
		e = nil
	}
	if e == nil {
		if len(l.entries) >= l.maxEntries {
			l.evict(now)
		}
		e = &limitEntry{first: now, last: now}
		l.entries[key] = e
	}
	return e
}

// count records one failure on e. Called with l.mu held.
func (l *limiter[K]) count(e *limitEntry, now time.Time, strict bool) {
	if now.Before(e.until) {
		return // raced with another failure that already blocked the key
	}
	if e.backoff == 0 && now.Sub(e.first) > l.window {
		e.count, e.first = 0, now
	}
	e.count++
	e.last = now
	if e.count < l.budget && !strict {
		return
	}
	if e.backoff == 0 {
		e.backoff = l.minBackoff
	} else {
		e.backoff = min(2*e.backoff, l.maxBackoff)
	}
	e.until = now.Add(e.backoff)
}

func (l *limiter[K]) forgettable(e *limitEntry, now time.Time) bool {
	switch {
	case e.inflight > 0:
		return false
	case e.backoff == 0:
		return now.Sub(e.last) > l.window
	default:
		return now.Sub(e.until) > l.forgetAfter
	}
}

// evict makes room for one entry if it can. Called with l.mu held and the
// map full.
func (l *limiter[K]) evict(now time.Time) {
	for k, e := range l.entries {
		if l.forgettable(e, now) {
			delete(l.entries, k)
		}
	}
	if len(l.entries) < l.maxEntries {
		return
	}
	// Still full: drop the oldest quarter by last use, so that a burst of
	// fresh keys costs one O(n) pass per maxEntries/4 insertions rather
	// than one per insertion.
	type kv struct {
		k    K
		last time.Time
	}
	idle := make([]kv, 0, len(l.entries))
	for k, e := range l.entries {
		if e.inflight == 0 {
			idle = append(idle, kv{k, e.last})
		}
	}
	// Partial selection would do; n log n on a bounded map is fine.
	slices.SortFunc(idle, func(a, b kv) int { return a.last.Compare(b.last) })
	excess := max(len(l.entries)-l.maxEntries*3/4, 1)
	for _, x := range idle[:min(excess, len(idle))] {
		delete(l.entries, x.k)
	}
}

// size is the number of tracked keys (tests).
func (l *limiter[K]) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}
