package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Authentication methods recorded in Identity.Method.
const (
	MethodPassword    = "password"
	MethodCertificate = "certificate"
)

// Metadata keys carrying password credentials, as sent by gnmic
// (--username/--password) and most gNMI clients.
const (
	MetadataUsername = "username"
	MetadataPassword = "password"
)

// ErrAuthenticationFailed is the one error every failed authentication
// returns. Clients learn nothing beyond "no": not whether the user exists,
// whether the password was wrong or whether they are being rate limited.
// It is a gRPC status error (codes.Unauthenticated); compare with errors.Is
// or status.Code. Do not modify.
var ErrAuthenticationFailed = status.Error(codes.Unauthenticated, "authentication failed")

// Reasons passed to Options.OnFailure. They are for the server's logs
// only; clients always get ErrAuthenticationFailed.
var (
	ErrNoCredentials      = errors.New("no client certificate and no username")
	ErrBadCredentials     = errors.New("unknown user or wrong password")
	ErrRateLimited        = errors.New("too many failures: backing off")
	ErrCertUnknownUser    = errors.New("client certificate CN names no user")
	ErrCertUserMismatch   = errors.New("username metadata differs from client certificate CN")
	ErrCertNotValidNow    = errors.New("client certificate expired or not yet valid")
	ErrAmbiguousMetadata  = errors.New("username or password metadata repeated")
	ErrHashQueueCancelled = errors.New("cancelled while waiting to check the password")
)

// Identity is who an RPC runs as.
type Identity struct {
	User    string
	Roles   []string
	Tenants []string
	Method  string // MethodPassword or MethodCertificate
	Peer    string // client address, for logs and audit
}

// HasRole reports whether the identity carries role.
func (id *Identity) HasRole(role string) bool {
	for _, r := range id.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Failure describes a failed authentication, for logging and audit.
type Failure struct {
	Peer   string
	User   string // claimed user name or certificate CN; may be empty or bogus; clipped to maxLoggedLen bytes
	Method string
	Reason error
}

// Options tune an Authenticator. The zero value gives the production
// defaults documented on each field.
type Options struct {
	// Now is the clock; default time.Now. Tests inject one to move
	// through TTLs and back-offs without sleeping.
	Now func() time.Time

	// CacheTTL is how long a verified (user, password) pair is accepted
	// without running bcrypt again; default 5 minutes, negative disables
	// the cache. Long enough that a client issuing many RPCs pays bcrypt
	// once per TTL, short enough to bound how long a password keeps
	// working in memory after the users file stops being reloaded.
	CacheTTL time.Duration
	// MaxCached bounds the cache; default 10000 entries.
	MaxCached int

	// MaxFailures wrong passwords within FailureWindow (defaults 5 and 1
	// minute) from one client address for one user name block that
	// (address, user) pair for MinBackoff (default 1 s), doubling with
	// every failure after that up to MaxBackoff (default 5 minutes).
	// MaxAddressFailures (default 4*MaxFailures) does the same for one
	// address whatever the user names, against one address trying many
	// users. Nothing is ever blocked per user alone: a guesser elsewhere
	// must not be able to lock out the right password. MaxFailures
	// failures for one user from anywhere instead put every pair of that
	// user on probation (see Authenticator.verify).
	MaxFailures        int
	MaxAddressFailures int
	FailureWindow      time.Duration
	MinBackoff         time.Duration
	MaxBackoff         time.Duration
	// MaxTracked bounds each of the three failure trackers (addresses,
	// pairs, usernames); default 10000 keys each.
	MaxTracked int

	// MaxConcurrentHashes bounds how many bcrypt comparisons run at once;
	// default GOMAXPROCS. Without it a flood of wrong passwords from many
	// addresses would occupy every CPU; with it, cached clients and
	// certificate clients keep being served while the flood queues.
	MaxConcurrentHashes int

	// OnHashCompare, if set, is called before every bcrypt comparison. It
	// lets tests count comparisons and servers export a metric.
	OnHashCompare func()
	// OnFailure, if set, is called synchronously for every failed
	// authentication with the reason; it must not block.
	OnFailure func(Failure)
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = 5 * time.Minute
	}
	if o.MaxCached <= 0 {
		o.MaxCached = 10000
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = 5
	}
	if o.MaxAddressFailures <= 0 {
		o.MaxAddressFailures = 4 * o.MaxFailures
	}
	if o.FailureWindow <= 0 {
		o.FailureWindow = time.Minute
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.MaxTracked <= 0 {
		o.MaxTracked = 10000
	}
	if o.MaxConcurrentHashes <= 0 {
		o.MaxConcurrentHashes = runtime.GOMAXPROCS(0)
	}
	return o
}

// dummyHash12 is a bcrypt hash (cost 12) of a random string nobody knows.
// Unknown users are checked against a dummy hash so that they cost as much
// time as known users with a wrong password; a fixed one saves generating
// it at startup in the common case where the users' hashes have cost 12.
const dummyHash12 = "$2a$12$WddbvwysqWTnKD4TxL8r3uqbQ87L8ie2sVLf.GSVIlzEu8VQ/C5Mm"

// bcryptMaxPassword is the longest password bcrypt uses in full; longer
// ones are refused rather than silently truncated.
const bcryptMaxPassword = 72

// Authenticator checks the credentials of an RPC. It is safe for
// concurrent use.
type Authenticator struct {
	opts    Options
	state   atomic.Pointer[authState]
	byAddr  *limiter[string]  // refuses an address that failed too often
	byPair  *limiter[pairKey] // refuses an (address, user) pair that failed too often
	byUser  *limiter[string]  // never refuses: puts a user's pairs on probation
	flights flights
	hashSem chan struct{}
	macs    sync.Pool // of *macState

	cacheMu sync.Mutex
	cache   map[cacheKey]cacheEntry
}

// authState is what Reload swaps in one step.
type authState struct {
	users *Users
	dummy []byte
}

// cacheKey identifies a verified (user, password) pair without keeping
// the password: an HMAC under a key that never leaves this process, so a
// memory dump of the cache is no help offline.
type cacheKey [sha256.Size]byte

type cacheEntry struct {
	hash    string // the user's password hash the pair was verified against
	expires time.Time
}

// NewAuthenticator returns an Authenticator for users (nil: nobody).
func NewAuthenticator(users *Users, opts Options) *Authenticator {
	opts = opts.withDefaults()
	var macKey [32]byte
	rand.Read(macKey[:]) // never fails (crypto/rand panics instead)
	a := &Authenticator{
		opts:    opts,
		byAddr:  newLimiter[string](opts, opts.MaxAddressFailures),
		byPair:  newLimiter[pairKey](opts, opts.MaxFailures),
		byUser:  newLimiter[string](opts, opts.MaxFailures),
		hashSem: make(chan struct{}, opts.MaxConcurrentHashes),
		cache:   map[cacheKey]cacheEntry{},
	}
	a.macs.New = func() any { return &macState{h: hmac.New(sha256.New, macKey[:])} }
	a.state.Store(newAuthState(users))
	return a
}

func newAuthState(users *Users) *authState {
	if users == nil {
		users = NewUsers()
	}
	st := &authState{users: users, dummy: []byte(dummyHash12)}
	if c := users.typicalCost(); c != DefaultCost {
		var pw [32]byte
		rand.Read(pw[:])
		if h, err := bcrypt.GenerateFromPassword(fmt.Appendf(nil, "%x", pw), c); err == nil {
			st.dummy = h
		}
	}
	return st
}

// Reload switches to a new set of users (after the users file changed)
// and drops every cached password verification, so removed users and
// changed passwords stop working immediately. Failure counters are kept.
func (a *Authenticator) Reload(users *Users) {
	st := newAuthState(users) // may run bcrypt: outside the lock
	a.cacheMu.Lock()
	a.state.Store(st)
	clear(a.cache)
	a.cacheMu.Unlock()
}

// Users returns the users the Authenticator currently uses.
func (a *Authenticator) Users() *Users { return a.state.Load().users }

// Authenticate returns the identity of the caller of the RPC whose server
// context is ctx. A verified client certificate takes precedence: its
// Subject CN must name a user. Otherwise the username and password
// metadata are checked. Every failure is ErrAuthenticationFailed.
func (a *Authenticator) Authenticate(ctx context.Context) (*Identity, error) {
	now := a.opts.Now()
	var addr net.Addr
	var leaf *x509.Certificate
	if p, ok := peer.FromContext(ctx); ok {
		addr = p.Addr
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			if ch := ti.State.VerifiedChains; len(ch) > 0 && len(ch[0]) > 0 {
				leaf = ch[0][0]
			}
		}
	}
	peerStr := ""
	if addr != nil {
		peerStr = addr.String()
	}
	username, hasUser, okUser := single(ctx, MetadataUsername)
	password, _, okPass := single(ctx, MetadataPassword)
	st := a.state.Load()

	if leaf != nil {
		return a.certificate(st, leaf, peerStr, username, hasUser, now)
	}
	if !okUser || !okPass {
		return nil, a.fail(peerStr, username, MethodPassword, ErrAmbiguousMetadata)
	}
	if !hasUser {
		return nil, a.fail(peerStr, "", MethodPassword, ErrNoCredentials)
	}
	return a.password(ctx, st, addr, peerStr, username, password, now)
}

func (a *Authenticator) certificate(st *authState, leaf *x509.Certificate, peerStr, username string, hasUser bool, now time.Time) (*Identity, error) {
	cn := leaf.Subject.CommonName
	// The handshake checked validity, but a gNMI connection can stay up
	// for weeks: re-check so a certificate stops working when it expires.
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return nil, a.fail(peerStr, cn, MethodCertificate, ErrCertNotValidNow)
	}
	// A client claiming two different identities is confused or up to
	// something; refuse rather than pick one.
	if hasUser && username != cn {
		return nil, a.fail(peerStr, cn, MethodCertificate, ErrCertUserMismatch)
	}
	u, ok := st.users.Lookup(cn)
	if !ok {
		return nil, a.fail(peerStr, cn, MethodCertificate, ErrCertUnknownUser)
	}
	return identity(u, MethodCertificate, peerStr), nil
}

// attempt names the failure trackers a password login counts against.
type attempt struct {
	addr, user string
	pair       pairKey
}

// pairKey is a client address key and a user key. A struct rather than a
// concatenation, so the check on every RPC allocates no key.
type pairKey struct{ addr, user string }

func newAttempt(addr net.Addr, username string) attempt {
	at := attempt{addr: clientKey(addr), user: username}
	if !ValidName(username) {
		at.user = "" // bogus names share one key instead of one each
	}
	at.pair = pairKey{at.addr, at.user}
	return at
}

func (a *Authenticator) password(ctx context.Context, st *authState, addr net.Addr, peerStr, username, password string, now time.Time) (*Identity, error) {
	at := newAttempt(addr, username)
	// The limiter is consulted before the cache: otherwise a blocked
	// attacker who happens to guess a password a legitimate client has
	// cached would get in despite the block.
	if a.byAddr.blocked(at.addr, now) || a.byPair.blocked(at.pair, now) {
		return nil, a.fail(peerStr, username, MethodPassword, ErrRateLimited)
	}
	u, known := st.users.Lookup(username)
	known = known && u.HasPassword()
	key := a.mac(username, password)
	if known && a.cached(key, u.PasswordHash, now) {
		return identity(u, MethodPassword, peerStr), nil
	}
	reason := a.flights.do(ctx, flightKey{at.addr, key}, func() error {
		return a.verify(ctx, st, at, u, known, key, password)
	})
	if reason != nil {
		return nil, a.fail(peerStr, username, MethodPassword, reason)
	}
	return identity(u, MethodPassword, peerStr), nil
}

// verify checks a password with bcrypt within the limits, and returns the
// reason it is refused or nil. The attempt holds a slot of its (address,
// user) pair and of its address from before the check until it has been
// counted, so concurrent guesses cannot overrun the budgets, and it waits
// (as long as ctx allows) for a place among the MaxConcurrentHashes
// comparisons the server runs at once.
//
// While a user is failing from anywhere more than MaxFailures times a
// window (the per-user signal is blocked), each of the user's pairs is
// strict: one attempt at a time, and one wrong password blocks that pair.
// A guesser spread over many addresses then gets one guess per address
// and back-off instead of MaxFailures, while the right password still gets
// in from any address that is not itself blocked.
func (a *Authenticator) verify(ctx context.Context, st *authState, at attempt, u User, known bool, key cacheKey, password string) error {
	now := a.opts.Now()
	strict := a.byUser.blocked(at.user, now)
	if !a.byPair.acquire(at.pair, now, strict) {
		return ErrRateLimited
	}
	if !a.byAddr.acquire(at.addr, now, false) {
		a.byPair.release(at.pair, now, false, strict)
		return ErrRateLimited
	}
	err := a.compare(ctx, st, u, known, password)
	now = a.opts.Now()
	failed := err != nil && err != ErrHashQueueCancelled
	a.byPair.release(at.pair, now, failed, strict)
	a.byAddr.release(at.addr, now, failed, false)
	switch {
	case err == ErrHashQueueCancelled:
		return err // no answer was given: nothing to count
	case failed:
		a.byUser.fail(at.user, now)
		return ErrBadCredentials
	}
	a.byPair.reset(at.pair)
	a.store(st, key, u.PasswordHash, now)
	return nil
}

// compare runs bcrypt on password against the user's hash (the dummy hash
// for an unknown or certificate-only user, so that those cost the same)
// once one of the MaxConcurrentHashes places is free.
func (a *Authenticator) compare(ctx context.Context, st *authState, u User, known bool, password string) error {
	select {
	case a.hashSem <- struct{}{}:
	case <-ctx.Done():
		return ErrHashQueueCancelled
	}
	defer func() { <-a.hashSem }()
	h := st.dummy
	if known {
		h = []byte(u.PasswordHash)
	}
	if a.opts.OnHashCompare != nil {
		a.opts.OnHashCompare()
	}
	err := bcrypt.CompareHashAndPassword(h, []byte(password))
	if err == nil && (!known || len(password) > bcryptMaxPassword) {
		err = ErrBadCredentials
	}
	return err
}

func identity(u User, method, peerStr string) *Identity {
	return &Identity{User: u.Name, Roles: u.Roles, Tenants: u.Tenants, Method: method, Peer: peerStr}
}

func (a *Authenticator) fail(peerStr, user, method string, reason error) error {
	if a.opts.OnFailure != nil {
		a.opts.OnFailure(Failure{Peer: peerStr, User: clip(user), Method: method, Reason: reason})
	}
	return ErrAuthenticationFailed
}

// single returns the only value of key in the incoming metadata. present
// is false when the key is absent; ok is false when it is repeated.
// ValueFromIncomingContext copies only the values asked for, not the whole
// metadata as FromIncomingContext does: this runs on every RPC.
func single(ctx context.Context, key string) (v string, present, ok bool) {
	vs := metadata.ValueFromIncomingContext(ctx, key)
	switch len(vs) {
	case 0:
		return "", false, true
	case 1:
		return vs[0], true, true
	default:
		return "", true, false
	}
}

// clientKey is the rate-limiting key of a client address: the IP for IPv4
// and the /64 for IPv6, since one IPv6 host usually controls a whole /64
// and could otherwise rotate through addresses to dodge the limit.
func clientKey(addr net.Addr) string {
	if addr == nil {
		return "a:"
	}
	var ip netip.Addr
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		if ap, err := netip.ParseAddrPort(addr.String()); err == nil {
			ip = ap.Addr()
		}
	}
	if !ip.IsValid() {
		return "a:" + addr.Network() + ":" + addr.String()
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return "a:" + p.String()
	}
	return "a:" + ip.String()
}

// macState is a reusable HMAC with a scratch buffer, so computing a
// cache key allocates nothing.
type macState struct {
	h   hash.Hash // HMAC-SHA256 keyed with the per-process key
	buf []byte
	sum []byte
}

func (a *Authenticator) mac(username, password string) cacheKey {
	m := a.macs.Get().(*macState)
	m.buf = append(append(append(m.buf[:0], username...), 0), password...)
	m.h.Reset()
	m.h.Write(m.buf)
	m.sum = m.h.Sum(m.sum[:0])
	var k cacheKey
	copy(k[:], m.sum)
	clear(m.buf) // do not keep the password around in the pool
	a.macs.Put(m)
	return k
}

func (a *Authenticator) cached(key cacheKey, pwHash string, now time.Time) bool {
	if a.opts.CacheTTL < 0 {
		return false
	}
	a.cacheMu.Lock()
	e, ok := a.cache[key]
	a.cacheMu.Unlock()
	// The hash comparison makes an entry die as soon as the user's
	// password changes, even before Reload is called.
	return ok && e.hash == pwHash && now.Before(e.expires)
}

func (a *Authenticator) store(st *authState, key cacheKey, pwHash string, now time.Time) {
	if a.opts.CacheTTL < 0 {
		return
	}
	a.cacheMu.Lock()
	defer a.cacheMu.Unlock()
	if a.state.Load() != st {
		return // verified against users that were reloaded meanwhile
	}
	if len(a.cache) >= a.opts.MaxCached {
		for k, e := range a.cache {
			if !now.Before(e.expires) {
				delete(a.cache, k)
			}
		}
		if len(a.cache) >= a.opts.MaxCached {
			clear(a.cache) // all fresh: costs each client one bcrypt
		}
	}
	a.cache[key] = cacheEntry{hash: pwHash, expires: now.Add(a.opts.CacheTTL)}
}
