package main_test

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBackupWhileSetsRun takes a backup of a live server while clients
// write: `netreadyd check` finds the copy sound, and a server started on
// it holds every Set acknowledged before the backup began, none by half.
func TestBackupWhileSetsRun(t *testing.T) {
	bin, dir, d, c := running(t)
	w := startWriters(c, 4)
	time.Sleep(time.Second)
	w.mu.Lock()
	ackedBefore := maps.Clone(w.acked)
	w.mu.Unlock()
	backup := filepath.Join(t.TempDir(), "backup.db")
	out, err := exec.Command(bin, "backup", "--data-dir", dir, "--to", backup).CombinedOutput()
	if err != nil {
		t.Fatalf("netreadyd backup: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "backup of commit") || !strings.Contains(string(out), "ok (full check") {
		t.Fatalf("backup output:\n%s", out)
	}
	// The server went on taking Sets during and after the backup.
	time.Sleep(300 * time.Millisecond)
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	d.cmd.Wait()
	if acked := w.wait(); len(acked) <= len(ackedBefore) || len(ackedBefore) < 20 {
		t.Fatalf("%d Sets acknowledged before the backup, %d in all: the test needs Sets before and during it", len(ackedBefore), len(acked))
	}
	// Taking a backup refuses to overwrite an existing file.
	if out, err := exec.Command(bin, "backup", "--data-dir", dir, "--to", backup).CombinedOutput(); err == nil {
		t.Fatalf("second backup over the first succeeded:\n%s", out)
	}

	out, err = exec.Command(bin, "check", "--full", backup).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok (full check") {
		t.Fatalf("netreadyd check --full on the backup: %v\n%s", err, out)
	}
	// The newest commits' rows are only in their log records (the store's
	// window), so the restart below must replay them.
	if !strings.Contains(string(out), "add theirs from the log when the server starts") {
		t.Fatalf("the backup's newest commits all have their rows written; the restore would not replay any:\n%s", out)
	}
	restored := t.TempDir()
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, "netready.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	checkAfterRestart(t, bin, restored, ackedBefore)
}

// TestBackupWithoutServer fails clearly when no server runs on the data
// dir, and leaves no file behind.
func TestBackupWithoutServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	to := filepath.Join(t.TempDir(), "b.db")
	out, err := exec.Command(bin, "backup", "--data-dir", t.TempDir(), "--to", to).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "no server answering") {
		t.Fatalf("backup without a server: %v\n%s", err, out)
	}
	if _, err := os.Stat(to); !os.IsNotExist(err) {
		t.Fatalf("backup file left behind: %v", err)
	}
}
