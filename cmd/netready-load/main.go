// Command netready-load drives a few minutes of varied gNMI traffic at a running
// netreadyd, so that the picture of the example Grafana dashboard
// (docs/grafana/render.sh) shows a server at work rather than flat lines:
// Sets that succeed and Sets refused for each usual reason, Gets, STREAM
// subscribers (one of them slow) and ONCE subscriptions, and a webhook
// backend it serves itself, which takes a few milliseconds per change and
// fails for a while in the middle of the run (realization failures, Sets
// Aborted). The load rises and falls in phases, so the rate panels have
// shape. It is a documentation tool: render.sh runs it; no test does.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/gnmipath"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9339", "netreadyd gNMI address")
	ca := flag.String("ca", "data/server.crt", "the server's certificate (PEM), trusted for TLS")
	adminPass := flag.String("admin-password-file", "", "password of the user admin (role admin)")
	viewerPass := flag.String("viewer-password-file", "", "password of the user vic (role viewer): its Sets are refused")
	duration := flag.Duration("duration", 3*time.Minute, "how long to drive load")
	flag.Parse()
	if err := run(*addr, *ca, *adminPass, *viewerPass, *duration); err != nil {
		log.Fatal(err)
	}
}

// run sets up the webhook backend, then runs writers, readers and
// subscribers until the duration is over.
func run(addr, caFile, adminFile, viewerFile string, d time.Duration) error {
	// Cancelled, not a deadline: RPCs would carry it, and the streams open
	// at the end would count as DeadlineExceeded rather than Canceled.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(d, cancel)
	start := time.Now()
	phase := func() float64 { return float64(time.Since(start)) / float64(d) }

	hookURL, err := serveHook(phase)
	if err != nil {
		return err
	}
	c, err := dialAll(addr, caFile, adminFile, viewerFile)
	if err != nil {
		return err
	}
	backend := fmt.Sprintf(`{"name":"hook","driver":"webhook","endpoint":%q,"timeout":3000,"option":[{"name":"paths","value":"/sites"}]}`, hookURL)
	if _, err := c.admin.Set(ctx, &gpb.SetRequest{Update: []*gpb.Update{update("/backends/backend[name=hook]", backend)}}); err != nil {
		return fmt.Errorf("creating the webhook backend: %w", err)
	}

	var wg sync.WaitGroup
	var sets tally
	var subs atomic.Int64
	spawn := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	for w := range 8 {
		spawn(func() { write(ctx, w, phase, c, &sets) })
	}
	for r := range 2 {
		spawn(func() { read(ctx, r, c.admin) })
	}
	spawn(func() { subscribe(ctx, c.admin, "/tenants", 0, &subs) })
	spawn(func() { subscribe(ctx, c.admin, "/sites", 0, &subs) })
	spawn(func() { subscribe(ctx, c.admin, "/tenants", 30*time.Millisecond, &subs) })
	spawn(func() { once(ctx, c.admin) })
	wg.Wait()
	took := time.Since(start)
	log.Printf("load: %d notifications received in %v; %s", subs.Load(), took.Round(time.Second), sets.summary(took))
	return nil
}

// active says how many of the 8 writers work at a point of the run (0..1):
// a ramp up, a peak, a failing backend in the middle, a quiet end.
func active(p float64) int {
	switch {
	case p < 0.15:
		return 1
	case p < 0.35:
		return 4
	case p < 0.55:
		return 8
	case p < 0.8:
		return 3
	}
	return 1
}

// write sends Sets of every kind while the phase wants writer w working.
func write(ctx context.Context, w int, phase func() float64, cs clients, sets *tally) {
	var lastGuess time.Time
	for i := 0; ctx.Err() == nil; i++ {
		pause(ctx, 15*time.Millisecond, 40*time.Millisecond)
		if w >= active(phase()) {
			continue
		}
		c, req := cs.admin, &gpb.SetRequest{}
		tenant := fmt.Sprintf("/tenants/tenant[name=t%d]", rand.IntN(40))
		name := fmt.Sprintf("s%d-%d", w, rand.IntN(10))
		site := "/sites/site[name=" + name + "]"
		switch i % 12 {
		case 0, 1, 2, 3, 4: // a leaf
			req.Update = []*gpb.Update{update(tenant+"/description", fmt.Sprintf(`"w%d i%d"`, w, i))}
		case 5: // a realized object (webhook backend)
			req.Replace = []*gpb.Update{update(site, fmt.Sprintf(`{"name":%q,"kind":"cell"}`, name))}
		case 6:
			req.Delete = []*gpb.Path{mustPath(site)}
		case 7: // a bulk Set: 50 tenants in one transaction
			req.Update = bulk(w, i)
		case 8: // InvalidArgument: not a string
			req.Update = []*gpb.Update{update(tenant+"/description", `{"not":"a string"}`)}
		case 9: // InvalidArgument: not an enumeration value
			req.Update = []*gpb.Update{update(site, `{"kind":"galaxy"}`)}
		case 10: // PermissionDenied: a viewer writes
			c = cs.viewer
			req.Update = []*gpb.Update{update(tenant+"/description", `"not mine"`)}
		case 11: // Unauthenticated, every 15 s: more would get 127.0.0.1 blocked (auth.Options)
			if w != 0 || time.Since(lastGuess) < 15*time.Second {
				continue
			}
			lastGuess = time.Now()
			c = cs.stranger
			req.Update = []*gpb.Update{update(tenant+"/description", `"who?"`)}
		}
		t0 := time.Now()
		_, err := c.Set(ctx, req) // refusals are the point; the server counts them
		sets.add(status.Code(err), time.Since(t0))
	}
}

// tally counts Sets by the code they got, and times the accepted ones as
// their client saw them, for the run's summary.
type tally struct {
	mu    sync.Mutex
	codes map[codes.Code]int
	ok    []time.Duration
}

func (t *tally) add(c codes.Code, took time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.codes == nil {
		t.codes = map[codes.Code]int{}
	}
	t.codes[c]++
	if c == codes.OK {
		t.ok = append(t.ok, took)
	}
}

// summary says how many Sets got each code, and the accepted ones' rate
// and latency (p50, p99).
func (t *tally) summary(run time.Duration) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.ok) == 0 {
		return fmt.Sprintf("Sets by code %v, none accepted", t.codes)
	}
	slices.Sort(t.ok)
	q := func(f float64) time.Duration { return t.ok[int(f*float64(len(t.ok)-1))].Round(100 * time.Microsecond) }
	return fmt.Sprintf("Sets by code %v; accepted %.0f/s, p50 %v, p99 %v", t.codes, float64(len(t.ok))/run.Seconds(), q(0.5), q(0.99))
}

// bulk is one Set of 50 tenants with descriptions.
func bulk(w, i int) []*gpb.Update {
	var b strings.Builder
	b.WriteString(`{"tenant":[`)
	for k := range 50 {
		if k > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"bulk%d-%d","description":"batch %d"}`, w, k, i)
	}
	b.WriteString(`]}`)
	return []*gpb.Update{update("/tenants", b.String())}
}

// read sends Gets: whole subtrees, one leaf, and a tenant that does not exist (NotFound).
func read(ctx context.Context, r int, c gpb.GNMIClient) {
	paths := []string{"/tenants", "/sites", "/tenants/tenant[name=t1]/description", "/tenants/tenant[name=nobody]", "/system/state"}
	for i := r; ctx.Err() == nil; i++ {
		pause(ctx, 40*time.Millisecond, 120*time.Millisecond)
		_, _ = c.Get(ctx, &gpb.GetRequest{Path: []*gpb.Path{mustPath(paths[i%len(paths)])}, Encoding: gpb.Encoding_JSON_IETF})
	}
}

// subscribe holds a STREAM ON_CHANGE subscription to p, reading each
// notification after delay (a slow collector lets the server's queue grow).
func subscribe(ctx context.Context, c gpb.GNMIClient, p string, delay time.Duration, got *atomic.Int64) {
	for ctx.Err() == nil {
		s, err := c.Subscribe(ctx)
		if err == nil {
			err = s.Send(&gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Subscribe{Subscribe: &gpb.SubscriptionList{
				Mode: gpb.SubscriptionList_STREAM, Encoding: gpb.Encoding_JSON_IETF,
				Subscription: []*gpb.Subscription{{Path: mustPath(p), Mode: gpb.SubscriptionMode_ON_CHANGE}},
			}}})
		}
		for err == nil {
			_, err = s.Recv()
			got.Add(1)
			pause(ctx, delay, delay)
		}
		if ctx.Err() == nil && !errors.Is(err, io.EOF) {
			log.Printf("load: subscription to %s ended: %v; again", p, status.Convert(err).Message())
		}
		pause(ctx, time.Second, time.Second)
	}
}

// once opens a ONCE subscription every few seconds: the initial dump a
// collector waits for.
func once(ctx context.Context, c gpb.GNMIClient) {
	for ctx.Err() == nil {
		pause(ctx, 2*time.Second, 4*time.Second)
		s, err := c.Subscribe(ctx)
		if err != nil {
			continue
		}
		_ = s.Send(&gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Subscribe{Subscribe: &gpb.SubscriptionList{
			Mode: gpb.SubscriptionList_ONCE, Encoding: gpb.Encoding_JSON_IETF,
			Subscription: []*gpb.Subscription{{Path: mustPath("/")}},
		}}})
		for err == nil {
			_, err = s.Recv()
		}
	}
}

// serveHook serves the webhook backend's receiver on loopback: each call
// takes 2-30 ms, and between 55% and 65% of the run every call fails.
func serveHook(phase func() float64) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("webhook receiver: %w", err)
	}
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(time.Duration(2+rand.ExpFloat64()*8) * time.Millisecond)
		if p := phase(); p > 0.55 && p < 0.65 {
			http.Error(w, "receiver down for maintenance", http.StatusServiceUnavailable)
		}
	}))
	return "http://" + l.Addr().String(), nil
}

// clients are the load's users: an administrator, a viewer (whose Sets
// are refused) and a stranger with a wrong password.
type clients struct{ admin, viewer, stranger gpb.GNMIClient }

func dialAll(addr, caFile, adminFile, viewerFile string) (clients, error) {
	var c clients
	var err error
	if c.admin, err = dial(addr, caFile, "admin", adminFile); err != nil {
		return c, err
	}
	if c.viewer, err = dial(addr, caFile, "vic", viewerFile); err != nil {
		return c, err
	}
	c.stranger, err = dial(addr, caFile, "guest", "")
	return c, err
}

// dial connects as user with the password in passFile (a wrong one if empty).
func dial(addr, caFile, user, passFile string) (gpb.GNMIClient, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no certificate", caFile)
	}
	pass := "wrong"
	if passFile != "" {
		b, err := os.ReadFile(passFile)
		if err != nil {
			return nil, err
		}
		pass = strings.TrimSpace(string(b))
	}
	tc := credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12})
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(tc), grpc.WithPerRPCCredentials(password{user, pass}))
	if err != nil {
		return nil, fmt.Errorf("dial %s as %s: %w", addr, user, err)
	}
	return gpb.NewGNMIClient(conn), nil
}

// password sends a user name and password with every RPC, as gnmic does.
type password struct{ user, pass string }

func (p password) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"username": p.user, "password": p.pass}, nil
}

func (password) RequireTransportSecurity() bool { return true }

func update(p, js string) *gpb.Update {
	return &gpb.Update{Path: mustPath(p), Val: &gpb.TypedValue{Value: &gpb.TypedValue_JsonIetfVal{JsonIetfVal: []byte(js)}}}
}

// mustPath parses a path written in this file; a bad one is a bug here.
func mustPath(s string) *gpb.Path {
	elems, err := gnmipath.Parse(s)
	if err != nil {
		panic(err)
	}
	return &gpb.Path{Elem: elems}
}

// pause waits a random time between lo and hi, or until ctx ends.
func pause(ctx context.Context, lo, hi time.Duration) {
	d := lo
	if hi > lo {
		d += rand.N(hi - lo)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
