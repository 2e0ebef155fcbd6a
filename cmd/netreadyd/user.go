package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"golang.org/x/crypto/bcrypt"

	"github.com/netready/netready/server/auth"
)

// defaultUsersFile is where `netreadyd user` and the daemon look for users
// unless told otherwise: inside the default data dir, next to the database.
const defaultUsersFile = "data/users.json"

const userUsage = `usage: netreadyd user COMMAND [flags]

Manage the users file netreadyd authenticates gNMI clients against.
Passwords are read from the first line of standard input, so they do not
appear in the process list or shell history:

  echo "$PW" | netreadyd user add NAME --role R [--role R2] [--tenant T] [--cert-only]
  echo "$PW" | netreadyd user passwd NAME [--cert-only]
  netreadyd user del NAME
  netreadyd user list

A --cert-only user has no password and can only authenticate with a client
certificate whose subject CN is NAME.

Every command takes --users-file (default ` + defaultUsersFile + `).
A running netreadyd picks up the changes when it reloads the file.
`

// stringList is a repeatable string flag (--role a --role b).
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// errUsage marks errors that are the caller's syntax mistakes (exit 2)
// rather than failures doing what was asked (exit 1).
var errUsage = errors.New("usage")

// runUser implements `netreadyd user ...`; args are the arguments after
// "user". It returns the process exit code: 0 success, 1 failure, 2 usage
// error. main dispatches to it so the subcommand shares the binary (and
// its users file format) with the daemon.
func runUser(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, userUsage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "add":
		err = userAdd(rest, stdin, stderr)
	case "passwd":
		err = userPasswd(rest, stdin, stderr)
	case "del":
		err = userDel(rest, stderr)
	case "list":
		err = userList(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, userUsage)
		return 0
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "netreadyd user %s: %v\n\n%s", cmd, err, userUsage)
		return 2
	default:
		fmt.Fprintf(stderr, "netreadyd user %s: %v\n", cmd, err)
		return 1
	}
}

// userFlags are the flags shared by the subcommands.
type userFlags struct {
	fs       *flag.FlagSet
	file     string
	cost     int
	roles    stringList
	tenants  stringList
	certOnly bool
}

func newUserFlags(name string, stderr io.Writer) *userFlags {
	f := &userFlags{fs: flag.NewFlagSet("netreadyd user "+name, flag.ContinueOnError)}
	f.fs.SetOutput(stderr)
	f.fs.StringVar(&f.file, "users-file", defaultUsersFile, "users file")
	return f
}

func (f *userFlags) passwordFlags() {
	f.fs.IntVar(&f.cost, "bcrypt-cost", auth.DefaultCost, "bcrypt cost of the new hash (each +1 doubles the time)")
	f.fs.BoolVar(&f.certOnly, "cert-only", false, "no password: authenticate by client certificate only")
}

// parse parses flags placed before or after the positional arguments
// (`user add NAME --role R` as well as `user add --role R NAME`), which
// the flag package alone does not: it stops at the first non-flag.
func (f *userFlags) parse(args []string, positional int) ([]string, error) {
	var pos []string
	for {
		if err := f.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = f.fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != positional {
		return nil, fmt.Errorf("%w: want %d argument(s), got %d", errUsage, positional, len(pos))
	}
	if f.cost != 0 && (f.cost < bcrypt.MinCost || f.cost > bcrypt.MaxCost) {
		return nil, fmt.Errorf("%w: --bcrypt-cost must be %d..%d", errUsage, bcrypt.MinCost, bcrypt.MaxCost)
	}
	return pos, nil
}

// load reads the users file; with create, a missing file is an empty set
// (the first `user add`).
func (f *userFlags) load(create bool) (*auth.Users, error) {
	us, err := auth.LoadUsers(f.file)
	if create && errors.Is(err, fs.ErrNotExist) {
		us, err = auth.NewUsers(), nil
	}
	if err != nil {
		return nil, err
	}
	us.Cost = f.cost
	return us, nil
}

func (f *userFlags) save(us *auth.Users) error {
	if err := os.MkdirAll(filepath.Dir(f.file), 0o750); err != nil {
		return fmt.Errorf("users file directory: %w", err)
	}
	return us.Save(f.file)
}

// readPassword returns the first line of stdin without its line ending.
// Only the line ending is stripped: spaces can be part of a password.
func (f *userFlags) readPassword(stdin io.Reader) (string, error) {
	if f.certOnly {
		return "", nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("empty password on standard input (use --cert-only for a user without password)")
	}
	return pw, nil
}

func userAdd(args []string, stdin io.Reader, stderr io.Writer) error {
	f := newUserFlags("add", stderr)
	f.passwordFlags()
	f.fs.Var(&f.roles, "role", "role of the user (repeatable, at least one)")
	f.fs.Var(&f.tenants, "tenant", "tenant the user belongs to (repeatable)")
	pos, err := f.parse(args, 1)
	if err != nil {
		return err
	}
	if len(f.roles) == 0 {
		return fmt.Errorf("%w: at least one --role is required", errUsage)
	}
	us, err := f.load(true)
	if err != nil {
		return err
	}
	// Fail on an existing user before asking for a password.
	if _, ok := us.Lookup(pos[0]); ok {
		return fmt.Errorf("%q: %w", pos[0], auth.ErrUserExists)
	}
	pw, err := f.readPassword(stdin)
	if err != nil {
		return err
	}
	if err := us.Add(pos[0], pw, f.roles, f.tenants); err != nil {
		return err
	}
	return f.save(us)
}

func userPasswd(args []string, stdin io.Reader, stderr io.Writer) error {
	f := newUserFlags("passwd", stderr)
	f.passwordFlags()
	pos, err := f.parse(args, 1)
	if err != nil {
		return err
	}
	us, err := f.load(false)
	if err != nil {
		return err
	}
	if _, ok := us.Lookup(pos[0]); !ok {
		return fmt.Errorf("%q: %w", pos[0], auth.ErrUnknownUser)
	}
	pw, err := f.readPassword(stdin)
	if err != nil {
		return err
	}
	if err := us.SetPassword(pos[0], pw); err != nil {
		return err
	}
	return f.save(us)
}

func userDel(args []string, stderr io.Writer) error {
	f := newUserFlags("del", stderr)
	pos, err := f.parse(args, 1)
	if err != nil {
		return err
	}
	us, err := f.load(false)
	if err != nil {
		return err
	}
	if err := us.Remove(pos[0]); err != nil {
		return err
	}
	return f.save(us)
}

// userList prints users, roles, tenants and how they authenticate; never
// hashes, which are secrets to slow down guessing even if they are not
// passwords.
func userList(args []string, stdout, stderr io.Writer) error {
	f := newUserFlags("list", stderr)
	if _, err := f.parse(args, 0); err != nil {
		return err
	}
	us, err := f.load(false)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLES\tTENANTS\tAUTH")
	for _, u := range us.List() {
		method := "password,certificate"
		if !u.HasPassword() {
			method = "certificate"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, dash(u.Roles), dash(u.Tenants), method)
	}
	return tw.Flush()
}

func dash(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}
