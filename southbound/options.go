package southbound

import (
	"crypto/x509"
	"fmt"
	"os"
	"slices"
	"strings"
)

// PathsOption is the backend option that names, for a DataDriver, the
// data subtrees it carries: comma-separated schema paths of containers or
// lists ("/netready-sfc:chains, /sites").
const PathsOption = "paths"

// CheckOptions refuses an option of b that kind does not know, naming
// the ones it does: a typo in a backend's configuration must fail when it
// is set, not be ignored.
func CheckOptions(b Backend, known ...string) error {
	for name := range b.Options {
		if !slices.Contains(known, name) {
			return fmt.Errorf("unknown option %q (the %s driver has %s)", name, b.Driver, strings.Join(known, ", "))
		}
	}
	return nil
}

// Secret returns a secret backend option: the value of option name, or
// the content of the file named by option name+"-file" (trailing newlines
// removed). The file form keeps the secret out of the configuration,
// which everyone who may read /backends can read. Giving both is an error.
func Secret(opts map[string]string, name string) (string, error) {
	v, inline := opts[name]
	file, fromFile := opts[name+"-file"]
	switch {
	case inline && fromFile:
		return "", fmt.Errorf("options %s and %s-file exclude each other", name, name)
	case !fromFile:
		return v, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("option %s-file: %w", name, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// CertPool reads the PEM certificates in the file an option names (for a
// driver's ca-file); nil when the option is not set.
func CertPool(opts map[string]string, name string) (*x509.CertPool, error) {
	file := opts[name]
	if file == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("option %s: %w", name, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("option %s: %s holds no PEM certificate", name, file)
	}
	return pool, nil
}
