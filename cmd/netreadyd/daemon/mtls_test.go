package daemon_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/server/auth"
	"github.com/netready/netready/server/certs"
)

// testCA issues client certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// client issues a client certificate for cn valid from notBefore to notAfter.
func (ca *testCA) client(t *testing.T, cn string, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestMutualTLS: with a client CA configured, a certificate it signed
// authenticates as the user named by its CN; expired certificates and
// certificates of another CA are refused.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	caFile := filepath.Join(dir, "clients-ca.pem")
	if err := os.WriteFile(caFile, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	users := auth.NewUsers()
	users.Cost = 4
	users.Add("admin", "admin-secret", []string{"admin"}, nil)
	users.Add("alice", "", []string{"tenant-admin"}, []string{"blue"})
	usersFile := filepath.Join(dir, "users.json")
	if err := users.Save(usersFile); err != nil {
		t.Fatal(err)
	}
	ts := startWithCreds(t, daemon.Config{DataDir: dir, UsersFile: usersFile, InitEmptyStore: true, ClientCAFile: caFile}, password{"admin", "admin-secret"})
	ts.setRoot(t, scenario(t, "any-to-any"))

	serverPEM, _ := os.ReadFile(filepath.Join(dir, certs.CertFile))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(serverPEM)
	connect := func(cert tls.Certificate) (*gpb.GetResponse, error) {
		conn, err := grpc.NewClient(ts.d.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
			RootCAs: roots, ServerName: "localhost", Certificates: []tls.Certificate{cert}})))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return gpb.NewGNMIClient(conn).Get(ctx(t), &gpb.GetRequest{Path: []*gpb.Path{path(t, "/tenants/tenant[name=*]/name")}, Encoding: gpb.Encoding_JSON_IETF})
	}
	now := time.Now()
	resp, err := connect(ca.client(t, "alice", now.Add(-time.Hour), now.Add(time.Hour)))
	if err != nil {
		t.Fatalf("valid certificate refused: %v", err)
	}
	if ups := resp.GetNotification()[0].GetUpdate(); len(ups) != 1 || string(ups[0].GetVal().GetJsonIetfVal()) != `"blue"` {
		t.Fatalf("certificate user alice sees %v, want only her tenant", ups)
	}
	if _, err := connect(ca.client(t, "alice", now.Add(-2*time.Hour), now.Add(-time.Hour))); err == nil {
		t.Error("expired certificate accepted")
	}
	if _, err := connect(newTestCA(t).client(t, "alice", now.Add(-time.Hour), now.Add(time.Hour))); err == nil {
		t.Error("certificate of an unknown CA accepted")
	}
	if _, err := connect(ca.client(t, "mallory", now.Add(-time.Hour), now.Add(time.Hour))); err == nil {
		t.Error("certificate of an unknown user accepted")
	}
}
