package auth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// handshake is the server side's view of one TLS connection.
type handshake struct {
	err   error
	state tls.ConnectionState
}

// tlsServer is a real TLS listener on 127.0.0.1 with cfg that reports each
// server-side handshake result and then answers "ok".
func tlsServer(t *testing.T, cfg *tls.Config) (addr string, results <-chan handshake) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan handshake, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := c.(*tls.Conn)
				tc.SetDeadline(time.Now().Add(10 * time.Second))
				err := tc.Handshake()
				ch <- handshake{err: err, state: tc.ConnectionState()}
				if err == nil {
					tc.Write([]byte("ok"))
				}
			}()
		}
	}()
	return ln.Addr().String(), ch
}

// dial connects as a client presenting certs and returns the server
// certificate it saw and the client-side error, if any. With TLS 1.3 a
// rejected client certificate only surfaces on the first read, so dial
// reads the server's "ok".
func dial(t *testing.T, addr string, roots *x509.CertPool, certs ...tls.Certificate) (*x509.Certificate, error) {
	t.Helper()
	d := &net.Dialer{Timeout: 10 * time.Second}
	cfg := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
	if len(certs) > 0 {
		// Send the certificate even when its issuer is not among the CAs
		// the server asks for: Go clients would otherwise silently send
		// none, OpenSSL-based ones (gnmic's peers) send it regardless.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &certs[0], nil }
	}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	return c.ConnectionState().PeerCertificates[0], nil
}

func recv(t *testing.T, ch <-chan handshake) handshake {
	t.Helper()
	select {
	case h := <-ch:
		return h
	case <-time.After(10 * time.Second):
		t.Fatal("no handshake on the server")
		return handshake{}
	}
}

func TestAuthTLSClientCertificates(t *testing.T) {
	ca, other := newCA(t, "netready test CA"), newCA(t, "some other CA")
	files := newTLSFiles(t, ca.server(t), ca)
	cfg, rl, err := ServerTLS(TLSOptions{CertFile: files.cert, KeyFile: files.key, ClientCAFile: files.ca})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.ClientAuth != tls.VerifyClientCertIfGiven {
		t.Fatalf("MinVersion %x ClientAuth %v", cfg.MinVersion, cfg.ClientAuth)
	}
	addr, results := tlsServer(t, cfg)
	now := time.Now()

	t.Run("valid", func(t *testing.T) {
		if _, err := dial(t, addr, ca.pool(), ca.client(t, "alice").tls); err != nil {
			t.Fatalf("client: %v", err)
		}
		h := recv(t, results)
		if h.err != nil {
			t.Fatalf("server: %v", h.err)
		}
		if len(h.state.VerifiedChains) == 0 || h.state.VerifiedChains[0][0].Subject.CommonName != "alice" {
			t.Fatalf("verified chains %v", h.state.VerifiedChains)
		}
	})
	t.Run("no certificate", func(t *testing.T) {
		if _, err := dial(t, addr, ca.pool()); err != nil {
			t.Fatalf("client without certificate refused (VerifyClientCertIfGiven): %v", err)
		}
		if h := recv(t, results); h.err != nil || len(h.state.VerifiedChains) != 0 {
			t.Fatalf("server: %v chains %d", h.err, len(h.state.VerifiedChains))
		}
	})
	refused := []struct {
		name, want string
		cert       leaf
	}{
		{"expired", "expired or is not yet valid", ca.issue(t, "alice", now.Add(-48*time.Hour), now.Add(-24*time.Hour), x509.ExtKeyUsageClientAuth)},
		{"not yet valid", "expired or is not yet valid", ca.issue(t, "alice", now.Add(24*time.Hour), now.Add(48*time.Hour), x509.ExtKeyUsageClientAuth)},
		{"unknown CA", "unknown authority", other.client(t, "alice")},
		{"server-only usage", "incompatible key usage", ca.issue(t, "alice", now.Add(-time.Hour), now.Add(time.Hour), x509.ExtKeyUsageServerAuth)},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, cerr := dial(t, addr, ca.pool(), tc.cert.tls)
			h := recv(t, results)
			if cerr == nil {
				t.Fatal("client: connection accepted")
			}
			if h.err == nil || !strings.Contains(h.err.Error(), tc.want) {
				t.Fatalf("server handshake error %v, want %q", h.err, tc.want)
			}
		})
	}
	if err := rl.LastError(); err != nil {
		t.Fatal(err)
	}
}

func TestAuthTLSRequireClientCert(t *testing.T) {
	ca := newCA(t, "ca")
	files := newTLSFiles(t, ca.server(t), ca)
	cfg, _, err := ServerTLS(TLSOptions{CertFile: files.cert, KeyFile: files.key, ClientCAFile: files.ca, RequireClientCert: true})
	if err != nil {
		t.Fatal(err)
	}
	addr, results := tlsServer(t, cfg)
	if _, err := dial(t, addr, ca.pool()); err == nil {
		t.Fatal("client without certificate accepted")
	}
	if h := recv(t, results); h.err == nil {
		t.Fatal("server handshake without client certificate succeeded")
	}
	if _, err := dial(t, addr, ca.pool(), ca.client(t, "alice").tls); err != nil {
		t.Fatal(err)
	}
	if h := recv(t, results); h.err != nil {
		t.Fatal(h.err)
	}
}

func TestAuthTLSMinVersion(t *testing.T) {
	ca := newCA(t, "ca")
	files := newTLSFiles(t, ca.server(t), nil)
	cfg, _, err := ServerTLS(TLSOptions{CertFile: files.cert, KeyFile: files.key})
	if err != nil {
		t.Fatal(err)
	}
	addr, results := tlsServer(t, cfg)
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.pool(), MaxVersion: tls.VersionTLS11, ServerName: "127.0.0.1"})
	if err == nil {
		c.Close()
		t.Fatal("TLS 1.1 accepted")
	}
	if h := recv(t, results); h.err == nil {
		t.Fatal("server accepted TLS 1.1")
	}
}

func TestAuthTLSReload(t *testing.T) {
	ca := newCA(t, "ca")
	clk := newClock()
	first := ca.server(t)
	files := newTLSFiles(t, first, ca)
	cfg, rl, err := ServerTLS(TLSOptions{CertFile: files.cert, KeyFile: files.key, ClientCAFile: files.ca, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	addr, results := tlsServer(t, cfg)
	alice := ca.client(t, "alice").tls
	serverCert := func() *x509.Certificate {
		t.Helper()
		c, err := dial(t, addr, ca.pool(), alice)
		if err != nil {
			t.Fatal(err)
		}
		if h := recv(t, results); h.err != nil {
			t.Fatal(h.err)
		}
		return c
	}
	same := func(c *x509.Certificate, l leaf) bool { return c.SerialNumber.Cmp(l.x509.SerialNumber) == 0 }

	if c := serverCert(); !same(c, first) {
		t.Fatal("not serving the initial certificate")
	}

	second := ca.server(t)
	files.setServer(t, second)
	if c := serverCert(); !same(c, first) {
		t.Fatal("files re-read within the check interval")
	}
	clk.Advance(1100 * time.Millisecond)
	if c := serverCert(); !same(c, second) {
		t.Fatal("new certificate not picked up after the check interval")
	}
	if err := rl.LastError(); err != nil {
		t.Fatal(err)
	}

	t.Run("broken files keep the old certificate", func(t *testing.T) {
		writeFile(t, files.cert, []byte("-----BEGIN CERTIFICATE-----\ngarbage\n"), files.tick())
		clk.Advance(2 * time.Second)
		if c := serverCert(); !same(c, second) {
			t.Fatal("garbage certificate replaced the working one")
		}
		if rl.LastError() == nil {
			t.Fatal("LastError nil after a broken certificate file")
		}
		// A certificate with somebody else's key (a half-finished rotation).
		third := ca.server(t)
		writeFile(t, files.cert, third.certPEM, files.tick())
		clk.Advance(2 * time.Second)
		if c := serverCert(); !same(c, second) {
			t.Fatal("mismatched certificate and key replaced the working pair")
		}
		if err := rl.LastError(); err == nil || !strings.Contains(err.Error(), "private key does not match") {
			t.Fatalf("LastError %v", err)
		}
		// Finishing the rotation recovers.
		writeFile(t, files.key, third.keyPEM, files.tick())
		clk.Advance(2 * time.Second)
		if c := serverCert(); !same(c, third) {
			t.Fatal("completed rotation not picked up")
		}
		if err := rl.LastError(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("missing file keeps the old certificate", func(t *testing.T) {
		if err := os.Remove(files.key); err != nil {
			t.Fatal(err)
		}
		clk.Advance(2 * time.Second)
		c := serverCert()
		if err := rl.LastError(); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("LastError %v", err)
		}
		if c.NotAfter.IsZero() {
			t.Fatal("no certificate")
		}
	})
}

func TestAuthTLSReloadClientCA(t *testing.T) {
	oldCA, newCA_ := newCA(t, "old client CA"), newCA(t, "new client CA")
	srvCA := newCA(t, "server CA")
	clk := newClock()
	files := newTLSFiles(t, srvCA.server(t), oldCA)
	cfg, rl, err := ServerTLS(TLSOptions{CertFile: files.cert, KeyFile: files.key, ClientCAFile: files.ca, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	addr, results := tlsServer(t, cfg)
	fromOld, fromNew := oldCA.client(t, "alice").tls, newCA_.client(t, "alice").tls
	try := func(cert tls.Certificate) error {
		t.Helper()
		dial(t, addr, srvCA.pool(), cert)
		return recv(t, results).err
	}
	if err := try(fromOld); err != nil {
		t.Fatal(err)
	}
	if try(fromNew) == nil {
		t.Fatal("certificate from the not yet trusted CA accepted")
	}
	files.setCA(t, newCA_.pem)
	clk.Advance(2 * time.Second)
	if try(fromOld) == nil {
		t.Fatal("certificate from the replaced CA still accepted")
	}
	if err := try(fromNew); err != nil {
		t.Fatal(err)
	}
	// A truncated bundle must not silently trust nothing (or less).
	files.setCA(t, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	clk.Advance(2 * time.Second)
	if err := try(fromNew); err != nil {
		t.Fatal(err)
	}
	if rl.LastError() == nil {
		t.Fatal("broken CA bundle not reported")
	}
}

func TestAuthTLSOptionsErrors(t *testing.T) {
	ca := newCA(t, "ca")
	files := newTLSFiles(t, ca.server(t), ca)
	garbage := files.dir + "/garbage.pem"
	if err := os.WriteFile(garbage, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]TLSOptions{
		"no files":                  {},
		"require without CA":        {CertFile: files.cert, KeyFile: files.key, RequireClientCert: true},
		"missing key":               {CertFile: files.cert, KeyFile: files.dir + "/nope"},
		"garbage CA":                {CertFile: files.cert, KeyFile: files.key, ClientCAFile: garbage},
		"key is not the cert's key": {CertFile: files.cert, KeyFile: garbage},
	} {
		if _, _, err := ServerTLS(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
