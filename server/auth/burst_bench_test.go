package auth

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time (user + system) this process has used so far.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAuthWrongPasswordBurst is a password guesser's opening move:
// 50 concurrent wrong passwords for admin from one address, at the
// production bcrypt cost, against a fresh Authenticator. It reports the
// bcrypt comparisons and the CPU time the server spent on the burst.
func BenchmarkAuthWrongPasswordBurst(b *testing.B) {
	us := NewUsers() // DefaultCost: the cost of the comparisons is the point
	if err := us.Add("admin", "correct horse", []string{"admin"}, nil); err != nil {
		b.Fatal(err)
	}
	var compares atomic.Int64
	var cpu time.Duration
	for b.Loop() {
		a := NewAuthenticator(us, Options{OnHashCompare: func() { compares.Add(1) }})
		start := cpuTime(b)
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				if _, err := a.Authenticate(peerCtx("203.0.113.9", "admin", fmt.Sprint("guess-", i))); err == nil {
					b.Error("wrong password accepted")
				}
			})
		}
		wg.Wait()
		cpu += cpuTime(b) - start
	}
	b.ReportMetric(float64(compares.Load())/float64(b.N), "bcrypts/op")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}
