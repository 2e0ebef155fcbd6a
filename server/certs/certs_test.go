package certs_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netready/netready/server/certs"
)

// serve accepts connections on lis and completes their handshakes.
func serve(lis net.Listener) {
	for {
		c, err := lis.Accept()
		if err != nil {
			return
		}
		c.(*tls.Conn).Handshake()
		c.Close()
	}
}

// TestSelfSignedServesTLS generates the bootstrap certificate, serves TLS
// with it on loopback and completes verified handshakes against it.
func TestSelfSignedServesTLS(t *testing.T) {
	certPath, keyPath, err := certs.EnsureSelfSigned(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	lis, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	go serve(lis)
	pool := x509.NewCertPool()
	b, _ := os.ReadFile(certPath)
	pool.AppendCertsFromPEM(b)
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		conn, err := tls.Dial("tcp", lis.Addr().String(), &tls.Config{RootCAs: pool, ServerName: name})
		if err != nil {
			t.Fatalf("verified handshake as %s: %v", name, err)
		}
		conn.Close()
	}
	if _, err := tls.Dial("tcp", lis.Addr().String(), &tls.Config{ServerName: "localhost"}); err == nil {
		t.Error("a client without the certificate trusted it")
	}
}

func TestEnsureSelfSignedReuses(t *testing.T) {
	dir := t.TempDir()
	c1, _, err := certs.EnsureSelfSigned(dir)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(c1)
	c2, _, err := certs.EnsureSelfSigned(dir)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(c2)
	if !bytes.Equal(first, second) {
		t.Fatal("certificate regenerated on second start")
	}
	block, _ := pem.Decode(first)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if cert.NotAfter.Before(cert.NotBefore.AddDate(4, 0, 0)) {
		t.Errorf("validity %v..%v", cert.NotBefore, cert.NotAfter)
	}
}

// TestEnsureSelfSignedRefusesHalfAPair deletes the key, then the
// certificate: before, a deleted key made the server generate a new pair
// over the certificate clients had pinned.
func TestEnsureSelfSignedRefusesHalfAPair(t *testing.T) {
	for _, gone := range []string{certs.KeyFile, certs.CertFile} {
		t.Run(gone, func(t *testing.T) {
			dir := t.TempDir()
			certPath, keyPath, err := certs.EnsureSelfSigned(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(dir, gone)); err != nil {
				t.Fatal(err)
			}
			kept := certPath
			if gone == certs.CertFile {
				kept = keyPath
			}
			before, _ := os.ReadFile(kept)
			_, _, err = certs.EnsureSelfSigned(dir)
			if err == nil || !strings.Contains(err.Error(), gone+" is missing") || !strings.Contains(err.Error(), "refusing") {
				t.Fatalf("err = %v", err)
			}
			after, _ := os.ReadFile(kept)
			if !bytes.Equal(before, after) {
				t.Fatalf("%s was rewritten", kept)
			}
			if _, err := os.Stat(filepath.Join(dir, gone)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s was generated: %v", gone, err)
			}
		})
	}
}
