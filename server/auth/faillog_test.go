package auth

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// syncBuffer is a bytes.Buffer safe for the FailureLog's timer goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestClip(t *testing.T) {
	if got := clip("alice"); got != "alice" {
		t.Fatalf("short name changed: %q", got)
	}
	// A multi-byte character across the cut is not split.
	long := strings.Repeat("a", 63) + "é" + strings.Repeat("x", 1<<20)
	got := clip(long)
	if !utf8.ValidString(got) || !strings.HasPrefix(got, strings.Repeat("a", 63)+"...") ||
		!strings.HasSuffix(got, "(1048578 more bytes)") || len(got) > 2*maxLoggedLen {
		t.Fatalf("clipped: %q", got)
	}
	if got := clip("bad\xffbyte"); !utf8.ValidString(got) {
		t.Fatalf("invalid UTF-8 passed through: %q", got)
	}
}

// TestAuthFailureLogFlood: 20 failed logins with 1 MiB user names, through
// the Authenticator into a real slog handler, log a few short lines and a
// count of the rest.
func TestAuthFailureLogFlood(t *testing.T) {
	var buf syncBuffer
	fl := NewFailureLog(slog.New(slog.NewTextHandler(&buf, nil)), FailureLogOptions{Burst: 5, Every: time.Hour})
	a := NewAuthenticator(testUsers(t), Options{OnFailure: fl.Record, MaxFailures: 1000})
	huge := strings.Repeat("m", 1<<20)
	for range 20 {
		if _, err := a.Authenticate(peerCtx("203.0.113.9", huge, "x")); !isAuthFailed(err) {
			t.Fatal(err)
		}
	}
	if n := strings.Count(buf.String(), "msg=\"authentication failed\""); n != 5 {
		t.Fatalf("%d lines for 20 failures, want the burst of 5:\n%s", n, buf.String())
	}
	fl.Close()
	out := buf.String()
	if !strings.Contains(out, "authentication failures not logged individually") || !strings.Contains(out, "count=15") {
		t.Fatalf("no summary of the 15 failures left out:\n%s", out)
	}
	if len(out) > 4096 {
		t.Fatalf("%d bytes logged for 20 failures", len(out))
	}
}

// TestFailureLogSummaryTimer: the count of the failures left out is
// written as soon as the bucket refills, without waiting for another
// failure, and only once.
func TestFailureLogSummaryTimer(t *testing.T) {
	var buf syncBuffer
	fl := NewFailureLog(slog.New(slog.NewTextHandler(&buf, nil)), FailureLogOptions{Burst: 5, Every: 50 * time.Millisecond})
	defer fl.Close()
	for range 20 {
		fl.Record(Failure{Peer: "203.0.113.9:1", User: "mallory", Method: MethodPassword, Reason: ErrBadCredentials})
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "count=15") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a second summary would show by now
	out := buf.String()
	if strings.Count(out, "authentication failed") != 5 || strings.Count(out, "not logged individually") != 1 ||
		!strings.Contains(out, "count=15") || !strings.Contains(out, "last_user=mallory") {
		t.Fatalf("want 5 lines and one summary of 15:\n%s", out)
	}
}
