// Package webhook is the "webhook" data driver: it POSTs every change a
// backend carries, as JSON, to an HTTP(S) URL.
//
// A transaction's changes go in one request:
//
//	{"changes": [{"op": "update", "path": "/sites/site[name=dc1]", "value": {"name": "dc1", "kind": "cell"}},
//	             {"op": "delete", "path": "/sites/site[name=dc2]"}]}
//
// A reconciliation sends the full state the receiver must hold:
//
//	{"reconcile": true, "state": [{"op": "update", "path": ..., "value": ...}, ...]}
//
// Any 2xx answer means the changes are in effect; anything else (or no
// answer within the backend's timeout) fails the transaction, which is
// then undone on every backend: the receiver gets the reverse changes in
// a second request, so it must apply requests idempotently (a delete of
// a missing object succeeds). A webhook cannot report drift: a
// reconciliation returns none.
//
// Options: "paths" (the realization engine's), "bearer-token" (sent as
// "Authorization: Bearer ..."), "ca-file" (PEM certificates to verify
// an https endpoint with, instead of the system roots) and "skip-verify"
// ("true" or "false", default false: do not verify the https endpoint's
// certificate at all).
package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/netready/netready/southbound"
)

// Kind is the driver kind backends name.
const Kind = "webhook"

// Register adds the driver to r.
func Register(r southbound.Registry) {
	r[Kind] = southbound.Plugin{Open: Open, Caps: southbound.Capabilities{}}
}

// Option names.
const (
	OptBearerToken = "bearer-token"
	OptCAFile      = "ca-file"
	OptSkipVerify  = "skip-verify"
)

var options = []string{southbound.PathsOption, OptBearerToken, OptBearerToken + "-file", OptCAFile, OptSkipVerify}

// maxBody is how much of an error answer's body a failure quotes.
const maxBody = 200

// The driver carries configuration data.
var _ southbound.DataDriver = (*Driver)(nil)

// Driver posts a backend's changes to its URL.
type Driver struct {
	url string
	// shown is the URL in messages: without its query, which may hold a
	// secret.
	shown  string
	token  string
	client *http.Client
}

// Open is the driver's southbound.Factory.
func Open(_ context.Context, b southbound.Backend) (southbound.Driver, error) {
	d, err := New(b)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// New checks b's endpoint and options and returns a driver for it.
func New(b southbound.Backend) (*Driver, error) {
	if err := southbound.CheckOptions(b, options...); err != nil {
		return nil, err
	}
	u, err := url.Parse(b.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q is not a URL: %w", b.Endpoint, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q: want an http:// or https:// URL with a host", b.Endpoint)
	}
	if u.User != nil {
		return nil, fmt.Errorf("endpoint %q: credentials in the URL are not supported; use the %s option", redact(u), OptBearerToken)
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch v := b.Options[OptSkipVerify]; v {
	case "", "false":
	case "true":
		tlsCfg.InsecureSkipVerify = true //nolint:gosec // asked for by the operator
	default:
		return nil, fmt.Errorf("option %s: %q: want true or false", OptSkipVerify, v)
	}
	if tlsCfg.RootCAs, err = southbound.CertPool(b.Options, OptCAFile); err != nil {
		return nil, err
	}
	if u.Scheme == "http" && (b.Options[OptCAFile] != "" || tlsCfg.InsecureSkipVerify) {
		return nil, fmt.Errorf("options %s and %s need an https endpoint, not %q", OptCAFile, OptSkipVerify, b.Endpoint)
	}
	tok, err := southbound.Secret(b.Options, OptBearerToken)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(tok, "\r\n") {
		return nil, fmt.Errorf("option %s: a token cannot hold a line break", OptBearerToken)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	tr.Proxy = nil // a backend is reached directly
	shown := *u
	shown.RawQuery, shown.ForceQuery, shown.Fragment = "", false, ""
	return &Driver{
		url:   b.Endpoint,
		shown: shown.String(),
		token: tok,
		client: &http.Client{
			Transport: tr,
			// A redirect would resend the changes elsewhere: refuse it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// change is a DataChange as the webhook receives it.
type change struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value,omitempty"`
}

func encode(cs []southbound.DataChange) ([]change, error) {
	out := make([]change, len(cs))
	for i, c := range cs {
		out[i] = change{Op: c.Op.String(), Path: c.Path}
		if c.Op == southbound.DataUpdate {
			v := c.JSON
			if v == nil {
				v = []byte("{}")
			}
			if !json.Valid(v) {
				return nil, fmt.Errorf("%s: the value is not valid JSON", c.Path)
			}
			out[i].Value = v
		}
	}
	return out, nil
}

// ApplyData implements southbound.DataDriver: one POST with every change.
func (d *Driver) ApplyData(ctx context.Context, changes []southbound.DataChange) error {
	if len(changes) == 0 {
		return nil
	}
	cs, err := encode(changes)
	if err != nil {
		return err
	}
	return d.post(ctx, struct {
		Changes []change `json:"changes"`
	}{cs})
}

// ReconcileData implements southbound.DataDriver: one POST with the full
// state. A webhook cannot say what it held, so there is never drift.
func (d *Driver) ReconcileData(ctx context.Context, state []southbound.DataChange) ([]string, error) {
	cs, err := encode(state)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		cs = []change{}
	}
	err = d.post(ctx, struct {
		Reconcile bool     `json:"reconcile"`
		State     []change `json:"state"`
	}{true, cs})
	return nil, err
}

func (d *Driver) post(ctx context.Context, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("POST %s: %w", d.shown, err)
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // reuse the connection
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := strings.TrimSpace(string(head))
		if msg == "" {
			return fmt.Errorf("POST %s: %s", d.shown, resp.Status)
		}
		return fmt.Errorf("POST %s: %s: %s", d.shown, resp.Status, msg)
	}
	return nil
}

// Close implements southbound.Driver.
func (d *Driver) Close() error {
	d.client.CloseIdleConnections()
	return nil
}
