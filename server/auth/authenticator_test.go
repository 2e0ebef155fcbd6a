package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// testUsers: alice has a password, robot is certificate-only.
func testUsers(t testing.TB) *Users {
	t.Helper()
	us := NewUsers()
	us.Cost = bcrypt.MinCost
	if err := us.Add("alice", "correct horse", []string{"admin"}, []string{"t1", "t2"}); err != nil {
		t.Fatal(err)
	}
	if err := us.Add("robot", "", []string{"reader"}, nil); err != nil {
		t.Fatal(err)
	}
	return us
}

// rig is a real gRPC server (the standard health service) behind the
// authentication interceptors, on TLS from ServerTLS with a client CA.
type rig struct {
	t        *testing.T
	addr     string
	ca       *testCA
	auth     *Authenticator
	clock    *clock
	compares atomic.Int64
	failures chan Failure

	mu   sync.Mutex
	seen *Identity // identity the last handler saw
}

func newRig(t *testing.T, users *Users, opts Options) *rig {
	t.Helper()
	r := &rig{t: t, ca: newCA(t, "ca"), clock: newClock(), failures: make(chan Failure, 100)}
	opts.Now = r.clock.Now
	onCompare := opts.OnHashCompare // a test's own hook runs too
	opts.OnHashCompare = func() {
		r.compares.Add(1)
		if onCompare != nil {
			onCompare()
		}
	}
	opts.OnFailure = func(f Failure) {
		select {
		case r.failures <- f:
		default:
		}
	}
	r.auth = NewAuthenticator(users, opts)
	files := newTLSFiles(t, r.ca.server(t), r.ca)
	tc, _, err := ServerTLS(TLSOptions{CertFile: files.cert, KeyFile: files.key, ClientCAFile: files.ca})
	if err != nil {
		t.Fatal(err)
	}
	record := func(ctx context.Context) {
		id, _ := FromContext(ctx)
		r.mu.Lock()
		r.seen = id
		r.mu.Unlock()
	}
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(tc)),
		grpc.ChainUnaryInterceptor(r.auth.UnaryInterceptor(),
			func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				record(ctx)
				return h(ctx, req)
			}),
		grpc.ChainStreamInterceptor(r.auth.StreamInterceptor(),
			func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				record(ss.Context())
				return h(srv, ss)
			}),
	)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	r.addr = lis.Addr().String()
	return r
}

// client connects, optionally with a client certificate.
func (r *rig) client(cert ...tls.Certificate) healthpb.HealthClient {
	return r.clientFrom("127.0.0.1", cert...)
}

// clientFrom connects from the loopback address ip (any of 127.0.0.0/8),
// so that one test can be several client addresses to the server.
func (r *rig) clientFrom(ip string, cert ...tls.Certificate) healthpb.HealthClient {
	r.t.Helper()
	cfg := &tls.Config{RootCAs: r.ca.pool(), ServerName: "127.0.0.1", Certificates: cert}
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	dial := func(ctx context.Context, addr string) (net.Conn, error) { return dialer.DialContext(ctx, "tcp", addr) }
	cc, err := grpc.NewClient(r.addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)), grpc.WithContextDialer(dial))
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { cc.Close() })
	return healthpb.NewHealthClient(cc)
}

func withCreds(user, pw string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "username", user, "password", pw)
}

// check runs Health.Check and returns the identity the handler saw.
func (r *rig) check(c healthpb.HealthClient, ctx context.Context) (*Identity, error) {
	r.t.Helper()
	r.mu.Lock()
	r.seen = nil
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := c.Check(ctx, &healthpb.HealthCheckRequest{})
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen, err
}

func isAuthFailed(err error) bool {
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.Unauthenticated && st.Message() == "authentication failed"
}

func TestAuthPasswordThroughGRPC(t *testing.T) {
	r := newRig(t, testUsers(t), Options{})
	c := r.client()
	id, err := r.check(c, withCreds("alice", "correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if id == nil || id.User != "alice" || id.Method != MethodPassword || !id.HasRole("admin") ||
		fmt.Sprint(id.Tenants) != "[t1 t2]" || id.Peer == "" {
		t.Fatalf("identity %+v", id)
	}
}

func TestAuthFailuresLookAlike(t *testing.T) {
	r := newRig(t, testUsers(t), Options{MaxFailures: 1000})
	c := r.client()
	cases := []struct {
		name       string
		ctx        context.Context
		compares   int64 // bcrypt comparisons the attempt must cost
		wantReason error
	}{
		{"wrong password", withCreds("alice", "wrong"), 1, ErrBadCredentials},
		{"unknown user", withCreds("mallory", "wrong"), 1, ErrBadCredentials},
		{"empty password", withCreds("alice", ""), 1, ErrBadCredentials},
		{"certificate-only user", withCreds("robot", "anything"), 1, ErrBadCredentials},
		{"invalid user name", withCreds("../etc/passwd", "x"), 1, ErrBadCredentials},
		{"no credentials", context.Background(), 0, ErrNoCredentials},
	}
	var first string
	for _, tc := range cases {
		before := r.compares.Load()
		id, err := r.check(c, tc.ctx)
		if !isAuthFailed(err) || id != nil {
			t.Fatalf("%s: err %v identity %v", tc.name, err, id)
		}
		if first == "" {
			first = err.Error()
		} else if err.Error() != first {
			t.Errorf("%s: %q differs from %q", tc.name, err.Error(), first)
		}
		if got := r.compares.Load() - before; got != tc.compares {
			t.Errorf("%s: %d bcrypt comparisons, want %d", tc.name, got, tc.compares)
		}
		if f := <-r.failures; f.Reason != tc.wantReason {
			t.Errorf("%s: reason %v, want %v", tc.name, f.Reason, tc.wantReason)
		}
	}
}

// TestAuthUnknownUserSameCost checks the dummy hash has the users' cost,
// so an unknown user costs the same bcrypt work as a wrong password.
func TestAuthUnknownUserSameCost(t *testing.T) {
	us := testUsers(t)
	a := NewAuthenticator(us, Options{})
	if c, _ := bcrypt.Cost(a.state.Load().dummy); c != bcrypt.MinCost {
		t.Fatalf("dummy cost %d, users' %d", c, bcrypt.MinCost)
	}
	if c, _ := bcrypt.Cost(NewAuthenticator(NewUsers(), Options{}).state.Load().dummy); c != DefaultCost {
		t.Fatalf("dummy cost without users %d", c)
	}
}

func TestAuthBruteForceBackoff(t *testing.T) {
	r := newRig(t, testUsers(t), Options{})
	c := r.client()
	for i := range 20 {
		if _, err := r.check(c, withCreds("alice", fmt.Sprintf("guess-%d", i))); !isAuthFailed(err) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if n := r.compares.Load(); n != 5 {
		t.Fatalf("%d bcrypt comparisons for 20 guesses, want 5 (then refused unchecked)", n)
	}
	// The right password is refused while backed off, without checking.
	if _, err := r.check(c, withCreds("alice", "correct horse")); !isAuthFailed(err) {
		t.Fatalf("right password during back-off: %v", err)
	}
	if n := r.compares.Load(); n != 5 {
		t.Fatalf("password checked during back-off (%d comparisons)", n)
	}
	r.clock.Advance(999 * time.Millisecond)
	if _, err := r.check(c, withCreds("alice", "correct horse")); !isAuthFailed(err) {
		t.Fatalf("right password before the back-off ended: %v", err)
	}
	r.clock.Advance(2 * time.Millisecond)
	if id, err := r.check(c, withCreds("alice", "correct horse")); err != nil || id.User != "alice" {
		t.Fatalf("right password after the back-off: %v", err)
	}
	// The success cleared the pair: one more typo does not block it.
	r.check(c, withCreds("alice", "one more guess"))
	if _, err := r.check(c, withCreds("alice", "correct horse")); err != nil {
		t.Fatalf("pair blocked by one typo after a success: %v", err)
	}
	// But alice has failed six times in a minute, so her pairs are on
	// probation: the next wrong password blocks this one at once.
	r.check(c, withCreds("alice", "yet another guess"))
	if _, err := r.check(c, withCreds("alice", "correct horse")); !isAuthFailed(err) {
		t.Fatalf("pair on probation not blocked by a wrong password: %v", err)
	}
	r.clock.Advance(1001 * time.Millisecond)
	if _, err := r.check(c, withCreds("alice", "correct horse")); err != nil {
		t.Fatalf("after the probation block: %v", err)
	}
	// Certificate clients are not subject to the password limiter: an
	// attacker cannot lock out mTLS users.
	r.check(c, withCreds("robot", "x"))
	for range 10 {
		r.check(c, withCreds("robot", "x"))
	}
	if id, err := r.check(r.client(r.ca.client(t, "robot").tls), context.Background()); err != nil || id.User != "robot" {
		t.Fatalf("certificate login while password attempts are blocked: %v", err)
	}
}

// peerCtx is the context a gRPC server hands to a handler for a client at
// ip sending user/pw.
func peerCtx(ip, user, pw string) context.Context {
	ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP(ip), Port: 50000}})
	return metadata.NewIncomingContext(ctx, metadata.Pairs("username", user, "password", pw))
}

func TestAuthRateLimitPerAddress(t *testing.T) {
	clk := newClock()
	a := NewAuthenticator(testUsers(t), Options{Now: clk.Now})
	// One address guessing many users is blocked for all of them after
	// MaxAddressFailures, although no single pair reached MaxFailures.
	for i := range 20 {
		a.Authenticate(peerCtx("203.0.113.9", fmt.Sprintf("user%d", i), "guess"))
	}
	if _, err := a.Authenticate(peerCtx("203.0.113.9", "alice", "correct horse")); !isAuthFailed(err) {
		t.Fatalf("blocked address got in: %v", err)
	}
	if _, err := a.Authenticate(peerCtx("198.51.100.7", "alice", "correct horse")); err != nil {
		t.Fatalf("other address refused: %v", err)
	}
	clk.Advance(1100 * time.Millisecond)
	if _, err := a.Authenticate(peerCtx("203.0.113.9", "alice", "correct horse")); err != nil {
		t.Fatalf("address refused after the back-off: %v", err)
	}
	// IPv6: the /64 is one client.
	for i := range 20 {
		a.Authenticate(peerCtx(fmt.Sprintf("2001:db8:1:2::%x", i+1), fmt.Sprintf("v6user%d", i), "guess"))
	}
	if _, err := a.Authenticate(peerCtx("2001:db8:1:2:ffff::1", "alice", "correct horse")); !isAuthFailed(err) {
		t.Fatalf("address in a blocked /64 got in: %v", err)
	}
	if _, err := a.Authenticate(peerCtx("2001:db8:1:3::1", "alice", "correct horse")); err != nil {
		t.Fatalf("neighbouring /64 refused: %v", err)
	}
}

func TestAuthLimiterBackoffAndMemory(t *testing.T) {
	o := Options{MaxTracked: 100}.withDefaults()
	l := newLimiter[string](o, o.MaxFailures)
	now := time.Now()
	// Four typos a minute apart never block.
	for range 8 {
		l.fail("k", now)
		if l.blocked("k", now) {
			t.Fatal("blocked by failures spread over time")
		}
		now = now.Add(20 * time.Second)
	}
	// Back-off doubles from 1 s to the 5 minute cap.
	for range 4 {
		l.fail("x", now)
	}
	var got []time.Duration
	for range 12 {
		l.fail("x", now)
		e := l.entries["x"]
		got = append(got, e.until.Sub(now))
		if !l.blocked("x", now) || l.blocked("x", e.until) {
			t.Fatal("block does not span its back-off")
		}
		l.fail("x", now) // ignored while blocked
		if e.until.Sub(now) != got[len(got)-1] {
			t.Fatal("refused attempt extended the block")
		}
		now = e.until
	}
	want := "[1s 2s 4s 8s 16s 32s 1m4s 2m8s 4m16s 5m0s 5m0s 5m0s]"
	if fmt.Sprint(got) != want {
		t.Fatalf("back-offs %v, want %v", got, want)
	}
	// Quiet long enough after the block: forgotten, 5 fresh attempts.
	now = now.Add(o.FailureWindow + o.MaxBackoff + time.Second)
	l.fail("x", now)
	if l.blocked("x", now) {
		t.Fatal("not forgotten after a long quiet period")
	}
	// Memory stays bounded under a flood of distinct keys.
	for i := range 10000 {
		l.fail(fmt.Sprint("flood", i), now)
		if l.size() > o.MaxTracked {
			t.Fatalf("%d entries tracked, limit %d", l.size(), o.MaxTracked)
		}
	}
	// The most recent keys survive eviction.
	for range 4 {
		l.fail("flood9999", now)
	}
	if !l.blocked("flood9999", now) {
		t.Fatal("recent key evicted")
	}
}

func TestAuthCacheAvoidsBcrypt(t *testing.T) {
	us := testUsers(t)
	r := newRig(t, us, Options{CacheTTL: time.Minute})
	c := r.client()
	for i := range 50 {
		if _, err := r.check(c, withCreds("alice", "correct horse")); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n := r.compares.Load(); n != 1 {
		t.Fatalf("%d bcrypt comparisons for 50 calls, want 1", n)
	}
	// The cache is keyed by the password: a wrong one is still checked.
	if _, err := r.check(c, withCreds("alice", "correct horsE")); !isAuthFailed(err) {
		t.Fatal(err)
	}
	if n := r.compares.Load(); n != 2 {
		t.Fatalf("wrong password not checked (%d)", n)
	}
	r.clock.Advance(61 * time.Second)
	r.check(c, withCreds("alice", "correct horse"))
	if n := r.compares.Load(); n != 3 {
		t.Fatalf("cache entry outlived its TTL (%d)", n)
	}
	r.auth.Reload(us)
	r.check(c, withCreds("alice", "correct horse"))
	if n := r.compares.Load(); n != 4 {
		t.Fatalf("cache survived Reload (%d)", n)
	}
	// A password change invalidates the cached pair at once, even before
	// Reload is called.
	if err := us.SetPassword("alice", "battery staple"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.check(c, withCreds("alice", "correct horse")); !isAuthFailed(err) {
		t.Fatalf("old password accepted from the cache: %v", err)
	}
	// A removed user is refused after Reload.
	if _, err := r.check(c, withCreds("alice", "battery staple")); err != nil {
		t.Fatal(err)
	}
	others := NewUsers()
	others.Cost = bcrypt.MinCost
	if err := others.Add("bob", "pw", []string{"admin"}, nil); err != nil {
		t.Fatal(err)
	}
	r.auth.Reload(others)
	if _, err := r.check(c, withCreds("alice", "battery staple")); !isAuthFailed(err) {
		t.Fatalf("removed user accepted: %v", err)
	}
}

func TestAuthCertificateThroughGRPC(t *testing.T) {
	r := newRig(t, testUsers(t), Options{})
	robot := r.ca.client(t, "robot").tls
	id, err := r.check(r.client(robot), context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if id.User != "robot" || id.Method != MethodCertificate || !id.HasRole("reader") {
		t.Fatalf("identity %+v", id)
	}
	// Roles come from the users file; the certificate only names the user.
	if id, err = r.check(r.client(r.ca.client(t, "alice").tls), withCreds("alice", "")); err != nil || !id.HasRole("admin") {
		t.Fatalf("alice by certificate: %v %+v", err, id)
	}
	// A certificate for a user not in the file.
	if _, err := r.check(r.client(r.ca.client(t, "mallory").tls), context.Background()); !isAuthFailed(err) {
		t.Fatalf("unknown CN: %v", err)
	}
	// A certificate plus a different username.
	if _, err := r.check(r.client(robot), withCreds("alice", "correct horse")); !isAuthFailed(err) {
		t.Fatalf("CN/username mismatch: %v", err)
	}
	// The certificate-only user cannot use a password, and an empty one
	// does not match the empty hash.
	if _, err := r.check(r.client(), withCreds("robot", "")); !isAuthFailed(err) {
		t.Fatalf("robot without certificate: %v", err)
	}
}

func TestAuthCertificateExpiresOnLongConnection(t *testing.T) {
	clk := newClock()
	a := NewAuthenticator(testUsers(t), Options{Now: clk.Now})
	ca := newCA(t, "ca")
	cert := ca.client(t, "robot").x509
	ctx := peer.NewContext(context.Background(), &peer.Peer{
		Addr:     &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1},
		AuthInfo: credentials.TLSInfo{State: tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert, ca.cert}}}},
	})
	if _, err := a.Authenticate(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	if _, err := a.Authenticate(ctx); !isAuthFailed(err) {
		t.Fatalf("expired certificate on an old connection: %v", err)
	}
}

func TestAuthStreamInterceptor(t *testing.T) {
	r := newRig(t, testUsers(t), Options{})
	c := r.client()
	ctx, cancel := context.WithCancel(withCreds("alice", "correct horse"))
	defer cancel()
	w, err := c.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	id := r.seen
	r.mu.Unlock()
	if id == nil || id.User != "alice" {
		t.Fatalf("stream identity %+v", id)
	}
	w, err = c.Watch(withCreds("alice", "nope"), &healthpb.HealthCheckRequest{})
	if err == nil {
		_, err = w.Recv()
	}
	if !isAuthFailed(err) {
		t.Fatalf("stream with a wrong password: %v", err)
	}
}

func TestAuthContext(t *testing.T) {
	if _, ok := FromContext(context.Background()); ok {
		t.Fatal("identity in an empty context")
	}
	id := &Identity{User: "alice"}
	if got, ok := FromContext(NewContext(context.Background(), id)); !ok || got != id {
		t.Fatal("NewContext/FromContext round trip")
	}
	if _, ok := FromContext(NewContext(context.Background(), nil)); ok {
		t.Fatal("nil identity reported as present")
	}
}

func TestAuthConcurrent(t *testing.T) {
	clk := newClock()
	a := NewAuthenticator(testUsers(t), Options{Now: clk.Now, MaxFailures: 1 << 20})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				pw := "correct horse"
				if i%25 == 0 {
					pw = "wrong"
				}
				_, err := a.Authenticate(peerCtx(fmt.Sprintf("10.0.0.%d", g), "alice", pw))
				if (err == nil) != (pw == "correct horse") {
					t.Errorf("goroutine %d call %d: %v", g, i, err)
					return
				}
				if i == 50 && g == 0 {
					a.Reload(a.Users())
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkAuthenticateCached(b *testing.B) {
	us := NewUsers()
	us.Cost = DefaultCost // production cost: the point is not paying it
	if err := us.Add("alice", "correct horse", []string{"admin"}, []string{"t1"}); err != nil {
		b.Fatal(err)
	}
	a := NewAuthenticator(us, Options{})
	ctx := peerCtx("192.0.2.1", "alice", "correct horse")
	if _, err := a.Authenticate(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthenticateCachedParallel(b *testing.B) {
	us := NewUsers()
	if err := us.Add("alice", "correct horse", []string{"admin"}, nil); err != nil {
		b.Fatal(err)
	}
	a := NewAuthenticator(us, Options{})
	ctx := peerCtx("192.0.2.1", "alice", "correct horse")
	a.Authenticate(ctx)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.Authenticate(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkAuthenticateCertificate(b *testing.B) {
	a := NewAuthenticator(testUsers(b), Options{})
	ca := newCA(b, "ca")
	cert := ca.client(b, "robot").x509
	ctx := peer.NewContext(context.Background(), &peer.Peer{
		Addr:     &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1},
		AuthInfo: credentials.TLSInfo{State: tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert, ca.cert}}}},
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticateUncached is the price without the cache, at the
// production cost: what every RPC would pay.
func BenchmarkAuthenticateUncached(b *testing.B) {
	us := NewUsers()
	if err := us.Add("alice", "correct horse", []string{"admin"}, nil); err != nil {
		b.Fatal(err)
	}
	a := NewAuthenticator(us, Options{CacheTTL: -1})
	ctx := peerCtx("192.0.2.1", "alice", "correct horse")
	for b.Loop() {
		if _, err := a.Authenticate(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
