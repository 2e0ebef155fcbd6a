package auth

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestUsersFileRoundTrip(t *testing.T) {
	us := NewUsers()
	us.Cost = bcrypt.MinCost
	if err := us.Add("alice", "correct horse", []string{"admin", "admin", "ops"}, []string{"t1"}); err != nil {
		t.Fatal(err)
	}
	if err := us.Add("robot", "", []string{"reader"}, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "users.json")
	if err := us.Save(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	for _, want := range []string{`"users"`, `"password-hash": "$2a$04$`, `"roles"`, `"tenants"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("file lacks %s:\n%s", want, raw)
		}
	}
	got, err := LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.List(), us.List()) {
		t.Fatalf("round trip:\n%+v\n%+v", got.List(), us.List())
	}
	alice, ok := got.Lookup("alice")
	if !ok || !reflect.DeepEqual(alice.Roles, []string{"admin", "ops"}) {
		t.Fatalf("alice %+v", alice)
	}
	if bcrypt.CompareHashAndPassword([]byte(alice.PasswordHash), []byte("correct horse")) != nil {
		t.Fatal("stored hash does not verify the password")
	}
	if robot, _ := got.Lookup("robot"); robot.HasPassword() {
		t.Fatal("certificate-only user got a password")
	}
	// Lookup returns copies: editing them does not edit the set.
	alice.Roles[0] = "root"
	if a2, _ := got.Lookup("alice"); a2.Roles[0] != "admin" {
		t.Fatal("Lookup aliases internal state")
	}

	// Overwriting: still 0600 even if somebody loosened the mode, and no
	// temporary files left behind.
	os.Chmod(path, 0o644)
	got.Cost = bcrypt.MinCost // a loaded set hashes at DefaultCost unless told
	if err := got.SetPassword("alice", "battery staple"); err != nil {
		t.Fatal(err)
	}
	if err := got.Remove("robot"); err != nil {
		t.Fatal(err)
	}
	if err := got.Save(path); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode after overwrite %v", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only users.json", len(entries))
	}
	again, err := LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if names := again.List(); len(names) != 1 || names[0].Name != "alice" {
		t.Fatalf("after remove: %+v", names)
	}
	a3, _ := again.Lookup("alice")
	if bcrypt.CompareHashAndPassword([]byte(a3.PasswordHash), []byte("battery staple")) != nil {
		t.Fatal("new password not saved")
	}
}

func TestUsersValidation(t *testing.T) {
	us := NewUsers()
	us.Cost = bcrypt.MinCost
	long := strings.Repeat("a", 65)
	for _, name := range []string{"", "-alice", ".alice", "al ice", "alice/x", "älice", long} {
		if err := us.Add(name, "pw", nil, nil); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Add(%q): %v", name, err)
		}
	}
	for _, name := range []string{"a", "A1", "alice.b-c_d", strings.Repeat("a", 64)} {
		if err := us.Add(name, "pw", nil, nil); err != nil {
			t.Errorf("Add(%q): %v", name, err)
		}
	}
	if err := us.Add("bob", "pw", []string{"bad role"}, nil); !errors.Is(err, ErrInvalidName) {
		t.Errorf("bad role: %v", err)
	}
	if err := us.Add("bob", "pw", nil, []string{""}); !errors.Is(err, ErrInvalidName) {
		t.Errorf("bad tenant: %v", err)
	}
	if err := us.Add("a", "pw", nil, nil); !errors.Is(err, ErrUserExists) {
		t.Errorf("duplicate: %v", err)
	}
	if err := us.Remove("nobody"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("Remove unknown: %v", err)
	}
	if err := us.SetPassword("nobody", "pw"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("SetPassword unknown: %v", err)
	}
	if err := us.Add("bob", strings.Repeat("x", 73), nil, nil); !errors.Is(err, bcrypt.ErrPasswordTooLong) {
		t.Errorf("73-byte password: %v", err)
	}
}

func TestUsersLoadStrict(t *testing.T) {
	dir := t.TempDir()
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	for name, content := range map[string]string{
		"typo in a field": `{"users":[{"name":"alice","password_hash":"` + string(hash) + `"}]}`,
		"duplicate":       `{"users":[{"name":"alice"},{"name":"alice"}]}`,
		"bad hash":        `{"users":[{"name":"alice","password-hash":"plaintext"}]}`,
		"bad name":        `{"users":[{"name":"al ice"}]}`,
		"bad role":        `{"users":[{"name":"alice","roles":["a b"]}]}`,
		"trailing data":   `{"users":[]} {}`,
		"not json":        `users: []`,
	} {
		path := filepath.Join(dir, "u.json")
		os.WriteFile(path, []byte(content), 0o600)
		if _, err := LoadUsers(path); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	if _, err := LoadUsers(filepath.Join(dir, "missing.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	path := filepath.Join(dir, "ok.json")
	os.WriteFile(path, []byte(`{"users":[{"name":"alice","password-hash":"`+string(hash)+`","roles":["admin"]},{"name":"robot"}]}`), 0o600)
	us, err := LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(us.List()) != 2 {
		t.Fatalf("%+v", us.List())
	}
}

// TestUsersValidNameMatchesPattern checks the hand-written ValidName
// against the YANG pattern it implements.
func TestUsersValidNameMatchesPattern(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "aZ09._-/ \x00é"
	for range 20000 {
		b := make([]byte, rng.IntN(70))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if s := string(b); ValidName(s) != re.MatchString(s) {
			t.Fatalf("ValidName(%q) = %v, pattern says %v", s, ValidName(s), re.MatchString(s))
		}
	}
}
