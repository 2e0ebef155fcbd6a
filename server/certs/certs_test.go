package certs_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
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
