package main_test

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestHelpExitsZero runs the built binary the way `make run ARGS=--help`
// does: asking for the usage is no mistake, so it must end with status 0
// and without an error line (make reports any other status as a failure),
// while a wrong flag still ends with status 2.
func TestHelpExitsZero(t *testing.T) {
	bin := buildBinary(t)
	for _, c := range []struct {
		args    []string
		code    int
		want    string
		mustNot string
	}{
		{[]string{"--help"}, 0, "-listen string", "help requested"},
		{[]string{"-h"}, 0, "-listen string", "help requested"},
		{[]string{"--no-such-flag"}, 2, "flag provided but not defined: -no-such-flag", ""},
	} {
		var stderr bytes.Buffer
		cmd := exec.Command(bin, c.args...)
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		out := stderr.String()
		if code != c.code {
			t.Errorf("netreadyd %v: exit status %d, want %d\n%s", c.args, code, c.code, out)
		}
		if !strings.Contains(out, c.want) {
			t.Errorf("netreadyd %v: stderr lacks %q:\n%s", c.args, c.want, out)
		}
		if c.mustNot != "" && strings.Contains(out, c.mustNot) {
			t.Errorf("netreadyd %v: stderr has %q:\n%s", c.args, c.mustNot, out)
		}
	}
}
