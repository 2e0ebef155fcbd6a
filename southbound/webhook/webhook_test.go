package webhook

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netready/netready/southbound"
)

// recorder is a webhook receiver keeping every request body.
type recorder struct {
	mu     sync.Mutex
	bodies []string
	auth   []string
	ctype  []string
	status int
	answer string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies = append(r.bodies, string(b))
	r.auth = append(r.auth, req.Header.Get("Authorization"))
	r.ctype = append(r.ctype, req.Header.Get("Content-Type"))
	status, answer := r.status, r.answer
	r.mu.Unlock()
	if status == 0 {
		status = http.StatusNoContent
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, answer)
}

func (r *recorder) last(t *testing.T) map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bodies) == 0 {
		t.Fatal("no request")
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(r.bodies[len(r.bodies)-1]), &v); err != nil {
		t.Fatalf("body %q: %v", r.bodies[len(r.bodies)-1], err)
	}
	return v
}

func open(t *testing.T, endpoint string, opts map[string]string) *Driver {
	t.Helper()
	if opts == nil {
		opts = map[string]string{}
	}
	opts[southbound.PathsOption] = "/sites"
	d, err := New(southbound.Backend{Name: "hook", Driver: Kind, Endpoint: endpoint, Options: opts, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

var changes = []southbound.DataChange{
	{Op: southbound.DataDelete, Path: "/sites/site[name=dc2]"},
	{Op: southbound.DataUpdate, Path: "/sites/site[name=dc1]", JSON: []byte(`{"name":"dc1","kind":"cell"}`)},
}

func TestApplyAndReconcile(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	d := open(t, srv.URL+"/hook", map[string]string{OptBearerToken: "s3cret"})

	if err := d.ApplyData(ctx(t), changes); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(rec.last(t))
	want := `{"changes":[{"op":"delete","path":"/sites/site[name=dc2]"},{"op":"update","path":"/sites/site[name=dc1]","value":{"kind":"cell","name":"dc1"}}]}`
	if string(got) != want {
		t.Errorf("apply body\n%s\nwant\n%s", got, want)
	}
	if rec.auth[0] != "Bearer s3cret" || rec.ctype[0] != "application/json" {
		t.Errorf("headers: Authorization %q, Content-Type %q", rec.auth[0], rec.ctype[0])
	}

	// Nothing to say: no request.
	if err := d.ApplyData(ctx(t), nil); err != nil || len(rec.bodies) != 1 {
		t.Errorf("empty apply: %v, %d requests", err, len(rec.bodies))
	}

	drift, err := d.ReconcileData(ctx(t), changes[1:])
	if err != nil || drift != nil {
		t.Fatalf("reconcile: %v, %v", drift, err)
	}
	got, _ = json.Marshal(rec.last(t))
	want = `{"reconcile":true,"state":[{"op":"update","path":"/sites/site[name=dc1]","value":{"kind":"cell","name":"dc1"}}]}`
	if string(got) != want {
		t.Errorf("reconcile body\n%s\nwant\n%s", got, want)
	}
	if _, err := d.ReconcileData(ctx(t), nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(rec.last(t)); string(got) != `{"reconcile":true,"state":[]}` {
		t.Errorf("empty reconcile body %s", got)
	}
}

func TestFailures(t *testing.T) {
	rec := &recorder{status: http.StatusInternalServerError, answer: strings.Repeat("x", 150) + strings.Repeat("y", 300)}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	d := open(t, srv.URL+"/hook?token=s3cret", nil)
	err := d.ApplyData(ctx(t), changes)
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), srv.URL+"/hook") {
		t.Errorf("error %v: want the URL without its query", err)
	}
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), strings.Repeat("x", 150)+strings.Repeat("y", 50)) ||
		strings.Contains(err.Error(), strings.Repeat("y", 51)) {
		t.Errorf("500: %v", err)
	}
	if _, err := d.ReconcileData(ctx(t), changes[1:]); err == nil {
		t.Error("reconcile answered 500 succeeded")
	}

	rec.status, rec.answer = http.StatusFound, ""
	if err := d.ApplyData(ctx(t), changes); err == nil || !strings.Contains(err.Error(), "302") {
		t.Errorf("redirect: %v", err)
	}

	// The context bounds the request.
	done := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	defer slow.Close()
	defer close(done)
	c, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := open(t, slow.URL, nil).ApplyData(c, changes); err == nil || time.Since(start) > 3*time.Second {
		t.Errorf("slow receiver: %v after %v", err, time.Since(start))
	}

	// Nobody listening.
	gone := httptest.NewServer(rec)
	url := gone.URL
	gone.Close()
	if err := open(t, url, nil).ApplyData(ctx(t), changes); err == nil || !strings.Contains(err.Error(), url) {
		t.Errorf("closed receiver: %v", err)
	}
}

func TestTLS(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewTLSServer(rec)
	defer srv.Close()

	// Unknown certificate: refused.
	if err := open(t, srv.URL, nil).ApplyData(ctx(t), changes); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("unverified server: %v", err)
	}
	if err := open(t, srv.URL, map[string]string{OptSkipVerify: "true"}).ApplyData(ctx(t), changes); err != nil {
		t.Errorf("skip-verify: %v", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := open(t, srv.URL, map[string]string{OptCAFile: ca, OptSkipVerify: "false"}).ApplyData(ctx(t), changes); err != nil {
		t.Errorf("ca-file: %v", err)
	}
	if len(rec.bodies) != 2 {
		t.Errorf("%d requests reached the server, want 2", len(rec.bodies))
	}
}

func TestBadConfig(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "x.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		endpoint string
		opts     map[string]string
		want     string
	}{
		{"https://h/x", map[string]string{"colour": "red"}, `unknown option "colour"`},
		{"h:80", nil, "http:// or https://"},
		{"ftp://h/x", nil, "http:// or https://"},
		{"http://", nil, "with a host"},
		{"http://a b/", nil, "not a URL"},
		{"https://u:p@h/", nil, "credentials in the URL"},
		{"https://h/", map[string]string{OptSkipVerify: "yes"}, "want true or false"},
		{"https://h/", map[string]string{OptCAFile: filepath.Join(dir, "none")}, "ca-file"},
		{"https://h/", map[string]string{OptCAFile: notPEM}, "no PEM certificate"},
		{"http://h/", map[string]string{OptSkipVerify: "true"}, "need an https endpoint"},
		{"https://h/", map[string]string{OptBearerToken: "a\nb"}, "line break"},
	} {
		_, err := Open(context.Background(), southbound.Backend{Name: "b", Driver: Kind, Endpoint: c.endpoint, Options: c.opts})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: error %v, want one with %q", c.endpoint, c.opts, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "u:p") {
			t.Errorf("error shows credentials: %v", err)
		}
	}
}
