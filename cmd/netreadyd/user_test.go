package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/netready/netready/server/auth"
)

// user runs `netreadyd user ARGS...` with stdin and returns the exit code
// and outputs.
func user(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runUser(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func passwordOK(t *testing.T, file, name, pw string) bool {
	t.Helper()
	us, err := auth.LoadUsers(file)
	if err != nil {
		t.Fatal(err)
	}
	u, ok := us.Lookup(name)
	if !ok {
		t.Fatalf("%s not in %s", name, file)
	}
	return bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(pw)) == nil
}

func TestUserCommandEndToEnd(t *testing.T) {
	file := filepath.Join(t.TempDir(), "data", "users.json") // dir created on first add
	cost := "--bcrypt-cost=4"

	if code, _, errOut := user(t, "s3cret pass\n", "add", "alice", "--users-file", file, "--role", "admin", "--role", "ops", "--tenant", "t1", cost); code != 0 {
		t.Fatalf("add alice: %d %s", code, errOut)
	}
	// Flags before the name work too; no trailing newline on stdin.
	if code, _, errOut := user(t, "", "add", "--users-file", file, "--cert-only", "--role", "reader", "robot"); code != 0 {
		t.Fatalf("add robot: %d %s", code, errOut)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("users file: %v %v", err, fi)
	}
	if !passwordOK(t, file, "alice", "s3cret pass") {
		t.Fatal("alice's password (with its space) does not verify")
	}

	code, out, _ := user(t, "", "list", "--users-file", file)
	if code != 0 {
		t.Fatal(code)
	}
	for _, want := range []string{"alice", "admin,ops", "t1", "robot", "reader", "certificate"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "$2") {
		t.Fatalf("list shows a hash:\n%s", out)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[1], "alice") {
		t.Fatalf("list:\n%s", out)
	}

	if code, _, errOut := user(t, "n3w\r\nignored second line\n", "passwd", "alice", "--users-file", file, cost); code != 0 {
		t.Fatalf("passwd: %d %s", code, errOut)
	}
	if !passwordOK(t, file, "alice", "n3w") || passwordOK(t, file, "alice", "s3cret pass") {
		t.Fatal("passwd did not replace the password")
	}

	if code, _, errOut := user(t, "", "del", "robot", "--users-file", file); code != 0 {
		t.Fatalf("del: %d %s", code, errOut)
	}
	if _, out, _ := user(t, "", "list", "--users-file", file); strings.Contains(out, "robot") {
		t.Fatalf("robot still listed:\n%s", out)
	}
	entries, _ := os.ReadDir(filepath.Dir(file))
	if len(entries) != 1 {
		t.Fatalf("left-over files next to the users file: %v", entries)
	}
}

func TestUserCommandErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users.json")
	if code, _, _ := user(t, "pw\n", "add", "alice", "--users-file", file, "--role", "admin", "--bcrypt-cost=4"); code != 0 {
		t.Fatal("setup")
	}
	before, _ := os.ReadFile(file)
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
	}{
		{"no command", "", nil, 2},
		{"unknown command", "", []string{"frobnicate"}, 2},
		{"add without name", "pw\n", []string{"add", "--users-file", file, "--role", "r"}, 2},
		{"add without role", "pw\n", []string{"add", "bob", "--users-file", file}, 2},
		{"two names", "pw\n", []string{"add", "bob", "carol", "--users-file", file, "--role", "r"}, 2},
		{"unknown flag", "", []string{"list", "--users-file", file, "--verbose"}, 2},
		{"bad cost", "pw\n", []string{"passwd", "alice", "--users-file", file, "--bcrypt-cost=99"}, 2},
		{"existing user", "pw\n", []string{"add", "alice", "--users-file", file, "--role", "r"}, 1},
		{"empty password", "\n", []string{"add", "bob", "--users-file", file, "--role", "r"}, 1},
		{"no stdin", "", []string{"add", "bob", "--users-file", file, "--role", "r"}, 1},
		{"invalid name", "pw\n", []string{"add", "bob smith", "--users-file", file, "--role", "r", "--bcrypt-cost=4"}, 1},
		{"passwd unknown", "pw\n", []string{"passwd", "bob", "--users-file", file}, 1},
		{"passwd empty", "\n", []string{"passwd", "alice", "--users-file", file}, 1},
		{"del unknown", "", []string{"del", "bob", "--users-file", file}, 1},
		{"list missing file", "", []string{"list", "--users-file", file + ".missing"}, 1},
	} {
		code, _, errOut := user(t, tc.stdin, tc.args...)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d (%s)", tc.name, code, tc.code, errOut)
		}
		if errOut == "" {
			t.Errorf("%s: nothing on stderr", tc.name)
		}
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(before, after) {
		t.Fatal("a failed command changed the users file")
	}
	if code, out, _ := user(t, "", "help"); code != 0 || !strings.Contains(out, "user add") {
		t.Fatalf("help: %d %s", code, out)
	}
	// passwd --cert-only removes the password.
	if code, _, errOut := user(t, "", "passwd", "alice", "--users-file", file, "--cert-only"); code != 0 {
		t.Fatal(errOut)
	}
	us, _ := auth.LoadUsers(file)
	if u, _ := us.Lookup("alice"); u.HasPassword() {
		t.Fatal("--cert-only kept the password")
	}
}
