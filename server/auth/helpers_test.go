package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// clock is an injectable time source tests advance by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testCA is a certificate authority generated for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newCA(t testing.TB, name string) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// leaf is an issued certificate with its key, as PEM and as tls.Certificate.
type leaf struct {
	certPEM, keyPEM []byte
	tls             tls.Certificate
	x509            *x509.Certificate
}

// issue signs a certificate for cn valid in [notBefore, notAfter]; server
// certificates get 127.0.0.1 as IP SAN and the serverAuth usage, client
// ones the clientAuth usage.
func (ca *testCA) issue(t testing.TB, cn string, notBefore, notAfter time.Time, usage x509.ExtKeyUsage) leaf {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	l := leaf{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
	if l.tls, err = tls.X509KeyPair(l.certPEM, l.keyPEM); err != nil {
		t.Fatal(err)
	}
	l.x509 = l.tls.Leaf
	return l
}

func (ca *testCA) server(t testing.TB) leaf {
	return ca.issue(t, "netreadyd", time.Now().Add(-time.Hour), time.Now().Add(time.Hour), x509.ExtKeyUsageServerAuth)
}

func (ca *testCA) client(t testing.TB, cn string) leaf {
	return ca.issue(t, cn, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), x509.ExtKeyUsageClientAuth)
}

// writeFile replaces path atomically, as cert-manager and friends do, and
// gives it a distinct modification time so that the test does not depend
// on the file system's timestamp granularity.
func writeFile(t testing.TB, path string, data []byte, mtime time.Time) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// tlsFiles is a server certificate, key and client CA on disk.
type tlsFiles struct {
	dir, cert, key, ca string
	mtime              time.Time
}

func newTLSFiles(t testing.TB, srv leaf, clientCA *testCA) *tlsFiles {
	t.Helper()
	dir := t.TempDir()
	f := &tlsFiles{dir: dir, cert: filepath.Join(dir, "server.crt"), key: filepath.Join(dir, "server.key"),
		ca: filepath.Join(dir, "client-ca.crt"), mtime: time.Now().Add(-time.Hour)}
	f.setServer(t, srv)
	if clientCA != nil {
		f.setCA(t, clientCA.pem)
	}
	return f
}

func (f *tlsFiles) tick() time.Time { f.mtime = f.mtime.Add(time.Second); return f.mtime }

func (f *tlsFiles) setServer(t testing.TB, l leaf) {
	writeFile(t, f.cert, l.certPEM, f.tick())
	writeFile(t, f.key, l.keyPEM, f.tick())
}

func (f *tlsFiles) setCA(t testing.TB, pemData []byte) { writeFile(t, f.ca, pemData, f.tick()) }
