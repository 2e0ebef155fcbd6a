package auth

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// maxLoggedLen is how many bytes of a client-supplied string (a claimed
// user name, a certificate CN) reach the logs. Valid names are at most 64
// bytes (ValidName), so nothing legitimate is cut; a megabyte of "user
// name" from an unauthenticated client is.
const maxLoggedLen = 64

// clip returns s as valid UTF-8 of at most maxLoggedLen bytes, followed by
// a marker giving the number of bytes left out if it was longer.
func clip(s string) string {
	if len(s) <= maxLoggedLen {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	cut := maxLoggedLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut-- // do not split a character
	}
	return fmt.Sprintf("%s...(%d more bytes)", strings.ToValidUTF8(s[:cut], "\uFFFD"), len(s)-cut)
}

// FailureLog writes failed authentications to a logger at a bounded rate:
// a bucket of Burst lines refilled with one line per Every. Failures past
// that are counted, and one summary line with their number (and the last
// one's peer and user) is written as soon as the bucket has a line again,
// so a flood of failures costs one line per Every instead of one per
// attempt, and the count of what was left out is never lost. The bucket
// is global rather than per client address: a guesser rotating addresses
// must not be able to buy log lines.
type FailureLog struct {
	log   *slog.Logger
	burst float64
	every time.Duration

	mu         sync.Mutex
	tokens     float64   // lines the bucket holds now
	at         time.Time // when tokens was computed
	suppressed int       // failures not logged since the last summary
	last       Failure   // the latest of them
	timer      *time.Timer
}

// FailureLogOptions tune a FailureLog; zero values give the defaults.
type FailureLogOptions struct {
	Burst int           // lines logged at once after a quiet period; default 10
	Every time.Duration // one more line per Every; default 6 s (10 a minute)
}

// NewFailureLog returns a FailureLog writing to log.
func NewFailureLog(log *slog.Logger, o FailureLogOptions) *FailureLog {
	if o.Burst <= 0 {
		o.Burst = 10
	}
	if o.Every <= 0 {
		o.Every = 6 * time.Second
	}
	return &FailureLog{log: log, burst: float64(o.Burst), every: o.Every, tokens: float64(o.Burst), at: time.Now()}
}

// Record logs f, or counts it if the rate is exhausted. Use it as
// Options.OnFailure, which clips f.User: it never blocks on anything but a
// short lock and the logger.
func (l *FailureLog) Record(f Failure) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.suppressed == 0 && l.take() {
		l.write(f)
		return
	}
	l.suppressed++
	l.last = f
	if l.timer == nil {
		l.timer = time.AfterFunc(l.wait(), l.summarize)
	}
}

// Close writes the pending summary, if any, and stops the timer.
func (l *FailureLog) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.flush()
}

// summarize runs when the bucket has a line again after failures were
// counted.
func (l *FailureLog) summarize() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timer == nil || l.suppressed == 0 {
		return // Close came first
	}
	l.timer = nil
	if !l.take() {
		l.timer = time.AfterFunc(l.wait(), l.summarize)
		return
	}
	l.flush()
}

// flush writes the summary of the failures counted. Called with l.mu held.
func (l *FailureLog) flush() {
	if l.suppressed == 0 {
		return
	}
	l.log.Warn("authentication failures not logged individually", "count", l.suppressed,
		"last_peer", l.last.Peer, "last_user", l.last.User, "last_reason", l.last.Reason)
	l.suppressed = 0
	l.last = Failure{}
}

func (l *FailureLog) write(f Failure) {
	l.log.Warn("authentication failed", "peer", f.Peer, "user", f.User, "method", f.Method, "reason", f.Reason)
}

// take refills the bucket and takes a line from it if there is one.
// Called with l.mu held.
func (l *FailureLog) take() bool {
	now := time.Now()
	l.tokens = min(l.burst, l.tokens+float64(now.Sub(l.at))/float64(l.every))
	l.at = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}

// wait is how long until the bucket holds a line. Called with l.mu held
// after take.
func (l *FailureLog) wait() time.Duration {
	return time.Duration((1 - l.tokens) * float64(l.every))
}
