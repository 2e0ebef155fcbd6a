package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/server/store"
)

const checkUsage = `usage: netreadyd check [--full] [--data-dir DIR] [FILE]

Checks a database offline (FILE, default DIR/netready.db) without changing
it: what every start checks, and with --full bbolt's page-level check and
every commit-log record. Exit 0 sound, 1 damaged or unreadable, 2 usage.
A running server holds the file's lock: check a backup of it instead.
`

const backupUsage = `usage: netreadyd backup --to FILE [--data-dir DIR]

Asks the server running on DIR (default data) for a consistent copy of its
database over DIR/admin.sock while it keeps serving, writes it to FILE
(which must not exist), and checks the copy. The copy holds every Set
acknowledged before the backup began. Exit 0 written and sound, 1 failed,
2 usage.
`

// runStoreCommand runs `netreadyd check` or `netreadyd backup`; it returns
// the process exit code (0 success, 1 failure, 2 usage error).
func runStoreCommand(name string, args []string, stdout, stderr io.Writer) int {
	usage, run := checkUsage, runCheck
	if name == "backup" {
		usage, run = backupUsage, runBackup
	}
	fs := flag.NewFlagSet("netreadyd "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := run(fs, args, stdout)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "netreadyd %s: %v\n\n%s", name, err, usage)
		return 2
	}
	fmt.Fprintf(stderr, "netreadyd %s: %v\n", name, err)
	return 1
}

func parseStoreFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

func runCheck(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	dir := fs.String("data-dir", "data", "data dir whose database to check")
	full := fs.Bool("full", false, "also run bbolt's page-level check and decode every commit record")
	if err := parseStoreFlags(fs, args); err != nil {
		return err
	}
	path := filepath.Join(*dir, daemon.DBFile)
	switch fs.NArg() {
	case 0:
	case 1:
		path = fs.Arg(0)
	default:
		return fmt.Errorf("%w: at most one FILE", errUsage)
	}
	start := time.Now()
	r, err := store.Check(path, store.CheckOptions{Full: *full})
	if err != nil {
		return err
	}
	printReport(stdout, r, time.Since(start))
	return nil
}

func printReport(w io.Writer, r *store.Report, took time.Duration) {
	depth := "quick"
	if r.Full {
		depth = "full"
	}
	if r.New {
		fmt.Fprintf(w, "%s: ok (%s check, %v): new, nothing stored yet\n", r.Path, depth, took.Round(time.Millisecond))
		return
	}
	fmt.Fprintf(w, "%s: ok (%s check, %v)\n", r.Path, depth, took.Round(time.Millisecond))
	fmt.Fprintf(w, "  last commit %d; commit log %d..%d (%d records)\n", r.LastCommit, r.OldestCommit, r.LastCommit, r.Commits)
	fmt.Fprintf(w, "  %d rows, %d audit entries, %d state keys\n", r.Rows, r.AuditEntries, r.StateKeys)
	if r.Checkpoint < r.LastCommit {
		fmt.Fprintf(w, "  rows as of commit %d; commits %d..%d add theirs from the log when the server starts\n", r.Checkpoint, r.Checkpoint+1, r.LastCommit)
	}
	fmt.Fprintf(w, "  %d bytes, %d pages of %d bytes in use, bbolt transaction %d\n", r.Size, r.Pages, r.PageSize, r.TxID)
}

func runBackup(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	dir := fs.String("data-dir", "data", "data dir of the running server")
	to := fs.String("to", "", "file to write the backup to (must not exist)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	if err := parseStoreFlags(fs, args); err != nil {
		return err
	}
	if *to == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: --to FILE is required, and nothing else", errUsage)
	}
	start := time.Now()
	commit, err := fetchBackup(filepath.Join(*dir, daemon.AdminSocket), *to, *timeout)
	if err != nil {
		return err
	}
	r, err := store.Check(*to, store.CheckOptions{Full: true})
	if err != nil {
		return fmt.Errorf("the backup written to %s does not check: %w", *to, err)
	}
	fmt.Fprintf(stdout, "backup of commit %d written to %s\n", commit, *to)
	printReport(stdout, r, time.Since(start))
	return nil
}

// fetchBackup asks the server for a backup and writes it to a new file,
// synced; on any failure the file is removed rather than left partial.
func fetchBackup(socket, to string, timeout time.Duration) (uint64, error) {
	c, err := net.DialTimeout("unix", socket, 5*time.Second)
	if err != nil {
		return 0, fmt.Errorf("no server answering on %s (is netreadyd running on that data dir?): %w", socket, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, "backup\n"); err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	rd := bufio.NewReaderSize(c, 1<<20)
	line, err := rd.ReadBytes('\n')
	if err != nil {
		return 0, fmt.Errorf("reading the server's reply: %w", err)
	}
	var reply daemon.AdminReply
	if err := json.Unmarshal(line, &reply); err != nil {
		return 0, fmt.Errorf("malformed reply %q: %w", line, err)
	}
	if reply.Error != "" {
		return 0, fmt.Errorf("the server refused: %s", reply.Error)
	}
	if err := writeNewFile(to, io.LimitReader(rd, reply.Size), reply.Size); err != nil {
		return 0, err
	}
	return reply.Commit, nil
}

func writeNewFile(path string, r io.Reader, size int64) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	n, err := io.Copy(f, r)
	if err != nil {
		return fmt.Errorf("receiving the backup: %w", err)
	}
	if n != size {
		return fmt.Errorf("receiving the backup: got %d of %d bytes", n, size)
	}
	return f.Sync()
}
