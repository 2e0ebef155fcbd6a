// Package certs provides the TLS material netreadyd serves with. gNMI
// requires TLS, so a server started without certificates generates a
// self-signed one into its data dir on first start and reuses it after:
// clients connect with --skip-verify (or pin the generated certificate)
// instead of falling back to plaintext.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// File names of the generated certificate and key in the data dir.
const (
	CertFile = "server.crt"
	KeyFile  = "server.key"
)

// validity of a generated certificate: long, because nobody rotates a
// self-signed bootstrap certificate; operators bring their own for real use.
const validity = 5 * 365 * 24 * time.Hour

// EnsureSelfSigned returns the paths of the certificate and key in dir,
// generating an ECDSA P-256 self-signed pair for localhost, the loopback
// addresses and this host's name when neither exists yet. When only one
// of them exists it refuses: generating would replace the certificate
// clients have pinned (or lose the key that goes with it), so the operator
// restores the missing file or removes the other to start over.
func EnsureSelfSigned(dir string) (certPath, keyPath string, err error) {
	certPath, keyPath = filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	haveCert, err := exists(certPath)
	if err != nil {
		return "", "", err
	}
	haveKey, err := exists(keyPath)
	if err != nil {
		return "", "", err
	}
	switch {
	case haveCert && haveKey:
		return certPath, keyPath, nil
	case haveCert:
		return "", "", fmt.Errorf("certs: %s is missing but %s exists: refusing to generate a new key that would replace the certificate clients trust; restore %s, or remove %s to generate a new pair", keyPath, certPath, KeyFile, CertFile)
	case haveKey:
		return "", "", fmt.Errorf("certs: %s is missing but %s exists: refusing to replace the key; restore %s, or remove %s to generate a new pair", certPath, keyPath, CertFile, KeyFile)
	}
	certPEM, keyPEM, err := SelfSigned(hostNames(), time.Now())
	if err != nil {
		return "", "", err
	}
	if err := writeNew(keyPath, keyPEM, 0o600); err != nil {
		return "", "", fmt.Errorf("certs: write key: %w", err)
	}
	if err := writeNew(certPath, certPEM, 0o644); err != nil {
		return "", "", fmt.Errorf("certs: write certificate: %w", err)
	}
	return certPath, keyPath, nil
}

// exists reports whether path exists; errors other than absence (a
// permission problem) are errors, not absence.
func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("certs: %w", err)
	}
	return true, nil
}

// writeNew writes a file that must not exist yet, so two servers starting
// on one data dir never overwrite each other's pair.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func hostNames() []string {
	names := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		names = append(names, h)
	}
	return names
}

// SelfSigned returns a PEM certificate and key valid from now for the given
// DNS names and IP addresses.
func SelfSigned(names []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("certs: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "netreadyd", Organization: []string{"NetReady"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}
