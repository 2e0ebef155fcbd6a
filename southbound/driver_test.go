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
