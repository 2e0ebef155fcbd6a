package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// DefaultCost is the bcrypt cost of new password hashes. 12 takes in the
// order of 100-300 ms per hash on current server CPUs: slow enough to make
// offline guessing against a stolen users file expensive, and affordable
// because the Authenticator caches verified passwords.
const DefaultCost = 12

// Errors returned by Users methods, for errors.Is.
var (
	ErrUserExists   = errors.New("user already exists")
	ErrUnknownUser  = errors.New("no such user")
	ErrInvalidName  = errors.New("invalid name")
	ErrInvalidEntry = errors.New("invalid users file entry")
)

// ValidName reports whether s is acceptable as a user, role or tenant
// name: [A-Za-z0-9][A-Za-z0-9._-]{0,63}. That is the pattern of the YANG
// `name` typedef, so a user name can be used as a list key in the
// configuration (audit, authorization models) without another validation
// step. Hand-written rather than a regexp because the Authenticator runs
// it on every RPC.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// User is one entry of the users file.
type User struct {
	Name string `json:"name"`
	// PasswordHash is a bcrypt hash ("$2a$..."). Empty means the user can
	// only authenticate with a client certificate whose CN is Name: a
	// service account without a password cannot have one guessed.
	PasswordHash string   `json:"password-hash,omitempty"`
	Roles        []string `json:"roles,omitempty"`
	Tenants      []string `json:"tenants,omitempty"`
}

// HasPassword reports whether the user may authenticate with a password.
func (u User) HasPassword() bool { return u.PasswordHash != "" }

func (u User) clone() User {
	u.Roles = slices.Clone(u.Roles)
	u.Tenants = slices.Clone(u.Tenants)
	return u
}

// Users is the set of users netreadyd accepts. It is safe for concurrent
// use: the Authenticator reads it on every RPC. Edits to the Users an
// Authenticator holds take effect at once (a changed password also
// invalidates its cache entry); when the file is re-read into a new Users,
// hand it to Authenticator.Reload, which also drops the cache.
type Users struct {
	// Cost is the bcrypt cost used by Add and SetPassword; 0 means
	// DefaultCost. Tests set bcrypt.MinCost to stay fast. It does not
	// affect existing hashes, which carry their own cost.
	Cost int

	mu    sync.RWMutex
	users map[string]User
}

// NewUsers returns an empty set of users.
func NewUsers() *Users { return &Users{users: map[string]User{}} }

// file is the on-disk format: an object rather than a bare array so the
// format can grow (e.g. a version or groups) without breaking old files.
type file struct {
	Users []User `json:"users"`
}

// LoadUsers reads a users file. It is strict — unknown fields, duplicate
// or invalid names and malformed hashes are errors — because a typo such as
// "password_hash" would otherwise silently turn a user into a
// certificate-only one, and the daemon should refuse to start (or keep the
// previous users on reload) rather than run with a different policy than
// the operator wrote. A missing file yields an error matching
// fs.ErrNotExist.
func LoadUsers(path string) (*Users, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: users file: %w", err)
	}
	us, err := parseUsers(data)
	if err != nil {
		return nil, fmt.Errorf("auth: users file %s: %w", path, err)
	}
	return us, nil
}

func parseUsers(data []byte) (*Users, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode: trailing data after the users object")
	}
	us := NewUsers()
	for i, u := range f.Users {
		if err := checkUser(u); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		if _, dup := us.users[u.Name]; dup {
			return nil, fmt.Errorf("entry %d: %q: %w", i, u.Name, ErrUserExists)
		}
		us.users[u.Name] = u.clone()
	}
	return us, nil
}

func checkUser(u User) error {
	if !ValidName(u.Name) {
		return fmt.Errorf("user %q: %w", u.Name, ErrInvalidName)
	}
	if u.PasswordHash != "" {
		if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
			return fmt.Errorf("user %q: password-hash: %w: %w", u.Name, ErrInvalidEntry, err)
		}
	}
	if err := checkNames("role", u.Roles); err != nil {
		return fmt.Errorf("user %q: %w", u.Name, err)
	}
	if err := checkNames("tenant", u.Tenants); err != nil {
		return fmt.Errorf("user %q: %w", u.Name, err)
	}
	return nil
}

func checkNames(kind string, names []string) error {
	for _, n := range names {
		if !ValidName(n) {
			return fmt.Errorf("%s %q: %w", kind, n, ErrInvalidName)
		}
	}
	return nil
}

// dedup returns names without repeats, in first-seen order.
func dedup(names []string) []string {
	var out []string
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// Save writes the users to path atomically: a temporary file in the same
// directory, fsynced, then renamed over path. A daemon reading the file
// concurrently therefore sees the old or the new contents, never a partial
// write, and a crash leaves one of the two. The file is mode 0600 because
// the hashes, although slow to attack, are still worth keeping private.
func (us *Users) Save(path string) error {
	us.mu.RLock()
	f := file{Users: make([]User, 0, len(us.users))}
	for _, u := range us.users {
		f.Users = append(f.Users, u.clone())
	}
	us.mu.RUnlock()
	sort.Slice(f.Users, func(i, j int) bool { return f.Users[i].Name < f.Users[j].Name })
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("auth: encode users: %w", err)
	}
	data = append(data, '\n')
	if err := writeAtomic(path, data, 0o600); err != nil {
		return fmt.Errorf("auth: save users: %w", err)
	}
	return nil
}

func writeAtomic(path string, data []byte, mode os.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp already uses 0600; Chmod makes the mode explicit and
	// independent of that implementation detail.
	if err = tmp.Chmod(mode); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// Persist the rename itself; failure to sync a directory is not fatal
	// on file systems that do not support it.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func (us *Users) cost() int {
	if us.Cost == 0 {
		return DefaultCost
	}
	return us.Cost
}

// hash returns the bcrypt hash of password, or "" for an empty password
// (certificate-only user).
func (us *Users) hash(password string) (string, error) {
	if password == "" {
		return "", nil
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), us.cost())
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return string(h), nil
}

// Add creates a user. An empty password creates a certificate-only user.
// Hashing happens before the lock is taken, so concurrent readers are not
// held up for the duration of a bcrypt run.
func (us *Users) Add(name, password string, roles, tenants []string) error {
	u := User{Name: name, Roles: dedup(roles), Tenants: dedup(tenants)}
	if err := checkUser(u); err != nil {
		return fmt.Errorf("auth: add: %w", err)
	}
	h, err := us.hash(password)
	if err != nil {
		return err
	}
	u.PasswordHash = h
	us.mu.Lock()
	defer us.mu.Unlock()
	if us.users == nil {
		us.users = map[string]User{}
	}
	if _, ok := us.users[name]; ok {
		return fmt.Errorf("auth: add %q: %w", name, ErrUserExists)
	}
	us.users[name] = u
	return nil
}

// SetPassword replaces a user's password. An empty password removes it,
// leaving the user certificate-only.
func (us *Users) SetPassword(name, password string) error {
	h, err := us.hash(password)
	if err != nil {
		return err
	}
	us.mu.Lock()
	defer us.mu.Unlock()
	u, ok := us.users[name]
	if !ok {
		return fmt.Errorf("auth: set password %q: %w", name, ErrUnknownUser)
	}
	u.PasswordHash = h
	us.users[name] = u
	return nil
}

// Remove deletes a user.
func (us *Users) Remove(name string) error {
	us.mu.Lock()
	defer us.mu.Unlock()
	if _, ok := us.users[name]; !ok {
		return fmt.Errorf("auth: remove %q: %w", name, ErrUnknownUser)
	}
	delete(us.users, name)
	return nil
}

// Lookup returns a copy of the named user.
func (us *Users) Lookup(name string) (User, bool) {
	if us == nil {
		return User{}, false
	}
	us.mu.RLock()
	u, ok := us.users[name]
	us.mu.RUnlock()
	if !ok {
		return User{}, false
	}
	return u.clone(), true
}

// List returns copies of all users sorted by name. The copies include the
// password hashes; callers that display users should show HasPassword
// instead.
func (us *Users) List() []User {
	if us == nil {
		return nil
	}
	us.mu.RLock()
	out := make([]User, 0, len(us.users))
	for _, u := range us.users {
		out = append(out, u.clone())
	}
	us.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// typicalCost is the most common bcrypt cost among the users' hashes (the
// higher one on a tie), or DefaultCost when nobody has a password. The
// Authenticator checks unknown users against a dummy hash of this cost so
// that they take as long as known ones.
func (us *Users) typicalCost() int {
	if us == nil {
		return DefaultCost
	}
	count := map[int]int{}
	us.mu.RLock()
	for _, u := range us.users {
		if c, err := bcrypt.Cost([]byte(u.PasswordHash)); err == nil {
			count[c]++
		}
	}
	us.mu.RUnlock()
	best, bestN := DefaultCost, 0
	for c, n := range count {
		if n > bestN || (n == bestN && c > best) {
			best, bestN = c, n
		}
	}
	return best
}
