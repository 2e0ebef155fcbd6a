package auth

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// burst runs n concurrent Health.Check calls from client, the i-th with
// the credentials creds(i), and returns how many were refused. answered
// counts the calls that have returned, as they return.
func (r *rig) burst(c healthpb.HealthClient, n int, creds func(i int) context.Context, answered *atomic.Int64) (refused int) {
	r.t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(creds(i), 20*time.Second)
			defer cancel()
			_, err := c.Check(ctx, &healthpb.HealthCheckRequest{})
			answered.Add(1)
			if err != nil {
				if !isAuthFailed(err) {
					r.t.Errorf("call %d: %v", i, err)
				}
				mu.Lock()
				refused++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return refused
}

// holdFirstCompare returns an OnHashCompare hook that keeps the first
// bcrypt comparison waiting until answered reaches want (or 5 s pass):
// every other attempt of a burst then has to be decided while that one is
// still in flight, as on a loaded server with a real bcrypt cost.
func holdFirstCompare(answered *atomic.Int64, want int64) func() {
	var first atomic.Bool
	return func() {
		if !first.CompareAndSwap(false, true) {
			return
		}
		deadline := time.Now().Add(5 * time.Second)
		for answered.Load() < want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
}

// TestAuthConcurrentGuessesCountedInFlight: attempts count against the
// budgets while they run, so a burst of concurrent wrong passwords from
// one address costs no more bcrypt work than the budget.
func TestAuthConcurrentGuessesCountedInFlight(t *testing.T) {
	var answered atomic.Int64
	r := newRig(t, testUsers(t), Options{OnHashCompare: holdFirstCompare(&answered, 45)})
	refused := r.burst(r.client(), 50, func(i int) context.Context {
		return withCreds("alice", fmt.Sprint("guess-", i))
	}, &answered)
	if n := r.compares.Load(); n > 5 || refused != 50 {
		t.Fatalf("50 concurrent guesses for one user: %d bcrypt comparisons (budget 5), %d refused", n, refused)
	}
	// One address spraying 50 user names at once: the address budget.
	answered.Store(0)
	before := r.compares.Load()
	refused = r.burst(r.clientFrom("127.0.0.2"), 50, func(i int) context.Context {
		return withCreds(fmt.Sprint("user", i), "guess")
	}, &answered)
	if n := r.compares.Load() - before; n > 20 || refused != 50 {
		t.Fatalf("50 concurrent guesses for 50 users: %d bcrypt comparisons (budget 20), %d refused", n, refused)
	}
}

// TestAuthConcurrentLoginsShareOneCheck: a client opening many RPCs at
// once with the right password is neither refused for exceeding the
// in-flight budget nor charged one bcrypt each.
func TestAuthConcurrentLoginsShareOneCheck(t *testing.T) {
	hold := func() { time.Sleep(300 * time.Millisecond) } // let the others arrive
	var first atomic.Bool
	r := newRig(t, testUsers(t), Options{OnHashCompare: func() {
		if first.CompareAndSwap(false, true) {
			hold()
		}
	}})
	var answered atomic.Int64
	if refused := r.burst(r.client(), 30, func(int) context.Context {
		return withCreds("alice", "correct horse")
	}, &answered); refused != 0 {
		t.Fatalf("%d of 30 concurrent logins with the right password refused", refused)
	}
	if n := r.compares.Load(); n != 1 {
		t.Fatalf("%d bcrypt comparisons for 30 concurrent identical logins, want 1", n)
	}
}

// TestAuthDistributedGuessesDoNotLockOutUser: one wrong password each from
// 20 addresses must not lock alice out; the right password from a 21st
// address gets in. The guessers themselves are on probation: a second
// wrong password blocks its address's pair at once.
func TestAuthDistributedGuessesDoNotLockOutUser(t *testing.T) {
	r := newRig(t, testUsers(t), Options{CacheTTL: -1})
	for i := range 20 {
		c := r.clientFrom(fmt.Sprintf("127.0.0.%d", 10+i))
		if _, err := r.check(c, withCreds("alice", fmt.Sprint("guess-", i))); !isAuthFailed(err) {
			t.Fatalf("guess from address %d: %v", i, err)
		}
	}
	if id, err := r.check(r.clientFrom("127.0.0.30"), withCreds("alice", "correct horse")); err != nil || id.User != "alice" {
		t.Fatalf("right password from a 21st address after 20 distributed guesses: %v", err)
	}
	guesser := r.clientFrom("127.0.0.10")
	r.check(guesser, withCreds("alice", "second guess"))
	before := r.compares.Load()
	if _, err := r.check(guesser, withCreds("alice", "correct horse")); !isAuthFailed(err) || r.compares.Load() != before {
		t.Fatalf("guesser's pair not blocked after its second guess during the attack: %v", err)
	}
	if id, err := r.check(r.client(r.ca.client(t, "alice").tls), context.Background()); err != nil || id.User != "alice" {
		t.Fatalf("certificate login during the attack: %v", err)
	}
}

// TestAuthSlowGuesserDoesNotLockOutUser: a guesser failing every 300 ms
// from one address for a minute is blocked after its budget and checked
// rarely after that, while alice, logging in every 3 s from another
// address, gets in every time.
func TestAuthSlowGuesserDoesNotLockOutUser(t *testing.T) {
	r := newRig(t, testUsers(t), Options{CacheTTL: -1}) // alice pays bcrypt every time
	guesser, admin := r.clientFrom("127.0.0.2"), r.clientFrom("127.0.0.3")
	var guessed int64
	for i := range 200 {
		before := r.compares.Load()
		if _, err := r.check(guesser, withCreds("alice", fmt.Sprint("guess-", i))); !isAuthFailed(err) {
			t.Fatalf("guess %d: %v", i, err)
		}
		checked := r.compares.Load() - before
		guessed += checked
		if i == 5 && checked != 0 {
			t.Fatal("guesser checked past its budget of 5")
		}
		if i%10 != 9 {
			r.clock.Advance(300 * time.Millisecond)
			continue
		}
		if id, err := r.check(admin, withCreds("alice", "correct horse")); err != nil || id.User != "alice" {
			t.Fatalf("alice refused at %v, after %d guesses: %v", time.Duration(i)*300*time.Millisecond, i+1, err)
		}
		r.clock.Advance(300 * time.Millisecond)
	}
	// 5, then one each time the doubling back-off ends (after 1, 2, 4, 8
	// and 16 s; the 32 s one outlasts the minute).
	if guessed > 10 {
		t.Fatalf("guesser had %d of 200 guesses checked in a minute", guessed)
	}
}

func TestAuthLimiterInFlight(t *testing.T) {
	o := Options{MaxTracked: 4}.withDefaults()
	l := newLimiter[string](o, 3)
	now := time.Now()
	for i := range 3 {
		if !l.acquire("k", now, false) {
			t.Fatalf("attempt %d refused within the budget", i)
		}
	}
	if l.acquire("k", now, false) {
		t.Fatal("fourth attempt admitted while three are in flight")
	}
	l.release("k", now, false, false) // a success or a cancellation
	if !l.acquire("k", now, false) {
		t.Fatal("released slot not reusable")
	}
	for range 3 {
		l.release("k", now, true, false)
	}
	if !l.blocked("k", now) || l.acquire("k", now.Add(time.Second), false) != true {
		t.Fatal("three failures did not block for exactly the first back-off")
	}
	if l.acquire("k", now.Add(time.Second), false) {
		t.Fatal("second attempt admitted on probation")
	}
	// Strict: one at a time, and one failure blocks.
	if !l.acquire("s", now, true) || l.acquire("s", now, true) {
		t.Fatal("strict key admitted other than one attempt")
	}
	l.release("s", now, true, true)
	if !l.blocked("s", now) {
		t.Fatal("strict failure did not block")
	}
	// Entries with attempts in flight survive eviction.
	for i := range 10 {
		l.fail(fmt.Sprint("flood", i), now)
	}
	if _, ok := l.entries["k"]; !ok {
		t.Fatal("entry with an attempt in flight evicted")
	}
	l.release("k", now.Add(time.Second), true, false)
	if !l.blocked("k", now.Add(time.Second)) {
		t.Fatal("failure on probation did not block again")
	}
}

// TestAuthBcryptBoundedServerWide: guesses from many addresses at once,
// each within its budgets, still run at most MaxConcurrentHashes bcrypt
// comparisons at a time.
func TestAuthBcryptBoundedServerWide(t *testing.T) {
	var active, most atomic.Int64
	r := newRig(t, testUsers(t), Options{MaxConcurrentHashes: 2, OnHashCompare: func() {
		n := active.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(20 * time.Millisecond) // inside the comparison's place
		active.Add(-1)
	}})
	var wg sync.WaitGroup
	for i := range 20 {
		c := r.clientFrom(fmt.Sprintf("127.0.0.%d", 10+i))
		wg.Go(func() { r.check(c, withCreds("alice", fmt.Sprint("guess-", i))) })
	}
	wg.Wait()
	if r.compares.Load() != 20 || most.Load() != 2 {
		t.Fatalf("%d comparisons, up to %d at once (want 20, exactly 2)", r.compares.Load(), most.Load())
	}
}
