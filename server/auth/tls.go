package auth

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// TLSOptions configure ServerTLS.
type TLSOptions struct {
	CertFile string // PEM certificate (chain), leaf first
	KeyFile  string // PEM private key of CertFile
	// ClientCAFile is a PEM bundle of the CAs whose client certificates
	// are accepted. Empty: no client certificates are requested.
	ClientCAFile string
	// RequireClientCert refuses clients without a certificate at the
	// handshake (mTLS only). Without it a client certificate is verified
	// if presented and password clients are still admitted to the
	// Authenticator.
	RequireClientCert bool

	// Now is the clock for the reload check interval; default time.Now.
	Now func() time.Time
	// CheckInterval is the minimum time between two checks of the files;
	// default 1 s. Checking is a stat of each file, done lazily during a
	// handshake, so an idle server does no work at all.
	CheckInterval time.Duration
}

// ServerTLS returns a TLS 1.2+ server configuration whose certificate, key
// and client CA are re-read from disk when they change, and the Reloader
// that does it. Certificates are rotated routinely (ACME, an internal CA
// with short-lived certificates) and a management server must not need a
// restart — dropping every Subscribe — to pick them up. The initial files
// must load; later broken files are reported by Reloader.LastError while
// the previous material keeps being served.
//
// With ClientCAFile set, client certificates are verified against it (and
// required with RequireClientCert): expired or not yet valid certificates,
// certificates from other CAs and certificates not usable for client
// authentication fail the handshake.
func ServerTLS(opts TLSOptions) (*tls.Config, *Reloader, error) {
	if opts.CertFile == "" || opts.KeyFile == "" {
		return nil, nil, errors.New("auth: TLS: certificate and key files are required")
	}
	if opts.RequireClientCert && opts.ClientCAFile == "" {
		return nil, nil, errors.New("auth: TLS: requiring client certificates needs a client CA file")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CheckInterval <= 0 {
		opts.CheckInterval = time.Second
	}
	r := &Reloader{opts: opts}
	if err := r.Reload(); err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ClientAuth:         r.clientAuth(),
		GetCertificate:     r.GetCertificate,
		GetConfigForClient: r.GetConfigForClient,
	}
	return cfg, r, nil
}

// Reloader holds the current TLS material and refreshes it from disk when
// the files' modification times (or sizes, or identities) change, checking
// at most once per CheckInterval.
type Reloader struct {
	opts TLSOptions

	mu        sync.Mutex
	nextCheck time.Time
	seen      []os.FileInfo // of the files last loaded or attempted
	cert      *tls.Certificate
	cfg       *tls.Config
	lastErr   error
}

func (r *Reloader) clientAuth() tls.ClientAuthType {
	switch {
	case r.opts.ClientCAFile == "":
		return tls.NoClientCert
	case r.opts.RequireClientCert:
		return tls.RequireAndVerifyClientCert
	default:
		return tls.VerifyClientCertIfGiven
	}
}

func (r *Reloader) files() []string {
	fs := []string{r.opts.CertFile, r.opts.KeyFile}
	if r.opts.ClientCAFile != "" {
		fs = append(fs, r.opts.ClientCAFile)
	}
	return fs
}

// GetCertificate is a tls.Config.GetCertificate returning the current
// server certificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.maybeReloadLocked()
	return r.cert, nil
}

// GetConfigForClient is a tls.Config.GetConfigForClient returning a
// configuration with the current certificate and client CA. It is how a
// new client CA takes effect: ClientCAs cannot be swapped through
// GetCertificate. Callers must not modify the returned Config (gRPC
// clones it before adding its defaults).
func (r *Reloader) GetConfigForClient(*tls.ClientHelloInfo) (*tls.Config, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.maybeReloadLocked()
	return r.cfg, nil
}

// LastError is the error of the last reload attempt, nil if the files on
// disk are the ones being served. The Reloader does not log, so the daemon
// can poll this and report it its own way.
func (r *Reloader) LastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

// Reload re-reads the files now if they changed since the last attempt
// (for SIGHUP handling) and returns the error of that attempt.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextCheck = time.Time{}
	r.maybeReloadLocked()
	return r.lastErr
}

func (r *Reloader) maybeReloadLocked() {
	now := r.opts.Now()
	if now.Before(r.nextCheck) {
		return
	}
	r.nextCheck = now.Add(r.opts.CheckInterval)
	files := r.files()
	infos := make([]os.FileInfo, len(files))
	changed := len(r.seen) != len(files)
	for i, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			r.lastErr = fmt.Errorf("auth: TLS reload: %w", err)
			return
		}
		infos[i] = fi
		if !changed {
			old := r.seen[i]
			changed = !os.SameFile(old, fi) || !old.ModTime().Equal(fi.ModTime()) || old.Size() != fi.Size()
		}
	}
	if !changed {
		return
	}
	// Remember the attempt even if it fails: broken files are not parsed
	// again every second, only once they change again. The stat happened
	// before the read, so a write racing with the read shows up as a
	// change at the next check.
	r.seen = infos
	cert, cfg, err := r.load()
	if err != nil {
		r.lastErr = err
		return
	}
	r.cert, r.cfg, r.lastErr = cert, cfg, nil
}

func (r *Reloader) load() (*tls.Certificate, *tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(r.opts.CertFile, r.opts.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("auth: TLS: load %s: %w", r.opts.CertFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, nil, fmt.Errorf("auth: TLS: parse %s: %w", r.opts.CertFile, err)
		}
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   r.clientAuth(),
	}
	if r.opts.ClientCAFile != "" {
		if cfg.ClientCAs, err = loadCAs(r.opts.ClientCAFile); err != nil {
			return nil, nil, err
		}
	}
	return &cert, cfg, nil
}

// loadCAs parses a PEM bundle strictly. x509.CertPool.AppendCertsFromPEM
// skips what it cannot parse, which would turn a truncated bundle into a
// silently smaller set of trusted CAs.
func loadCAs(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: TLS: client CA: %w", err)
	}
	pool := x509.NewCertPool()
	n := 0
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("auth: TLS: client CA %s: %w", path, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("auth: TLS: client CA %s: no PEM certificates", path)
	}
	return pool, nil
}
