package southbound_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netready/netready/southbound"
)

func TestSecret(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opts      map[string]string
		want, err string
	}{
		{map[string]string{}, "", ""},
		{map[string]string{"password": "inline"}, "inline", ""},
		{map[string]string{"password-file": file}, "s3cret", ""},
		{map[string]string{"password": "x", "password-file": file}, "", "exclude each other"},
		{map[string]string{"password-file": file + ".missing"}, "", "password-file"},
	} {
		got, err := southbound.Secret(c.opts, "password")
		if got != c.want || (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("%v: %q, %v; want %q, error with %q", c.opts, got, err, c.want, c.err)
		}
	}
}

func TestCheckOptions(t *testing.T) {
	b := southbound.Backend{Driver: "gnmi", Options: map[string]string{"paths": "/sites", "pasword": "x"}}
	err := southbound.CheckOptions(b, "paths", "password")
	if err == nil || !strings.Contains(err.Error(), `"pasword"`) || !strings.Contains(err.Error(), "gnmi driver has paths, password") {
		t.Errorf("misspelt option: %v", err)
	}
	b.Options = map[string]string{"paths": "/sites"}
	if err := southbound.CheckOptions(b, "paths", "password"); err != nil {
		t.Errorf("known options: %v", err)
	}
}

func TestCertPool(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "junk")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := southbound.CertPool(map[string]string{}, "ca-file"); p != nil || err != nil {
		t.Errorf("unset: %v, %v", p, err)
	}
	for file, want := range map[string]string{notPEM: "holds no PEM certificate", filepath.Join(dir, "missing"): "ca-file"} {
		if _, err := southbound.CertPool(map[string]string{"ca-file": file}, "ca-file"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", file, err, want)
		}
	}
}
