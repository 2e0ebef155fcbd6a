package main_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"go.etcd.io/bbolt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/store"
)

// usedDataDir runs netreadyd on a new data dir, stores a configuration
// with a few hundred Sets and stops it cleanly.
func usedDataDir(t *testing.T) (bin, dir string) {
	t.Helper()
	bin, dir, d, c := running(t)
	w := startWriters(c, 4)
	time.Sleep(time.Second)
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Wait(); err != nil {
		t.Fatalf("netreadyd exited with %v after SIGTERM", err)
	}
	w.wait()
	return bin, dir
}

// copyDir copies the files of a data dir (not its subdirectories).
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// runToExit runs netreadyd on dir until it exits by itself and returns its
// exit code and standard error.
func runToExit(t *testing.T, bin, dir string, extra ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--listen", "127.0.0.1:0", "--data-dir", dir, "--no-southbound"}, extra...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if ctx.Err() != nil || (err != nil && !errors.As(err, &exit)) {
		t.Fatalf("netreadyd did not exit by itself (%v): %s", err, stderr.String())
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// wantRefusal runs netreadyd on dir and wants it to exit 1 with a log line
// holding every one of want, no crash, and the database unchanged.
func wantRefusal(t *testing.T, bin, dir string, want ...string) {
	t.Helper()
	db := filepath.Join(dir, "netready.db")
	before, _ := os.ReadFile(db)
	code, stderr := runToExit(t, bin, dir)
	if code != 1 {
		t.Fatalf("exit code %d, want 1; stderr:\n%s", code, stderr)
	}
	for _, crash := range []string{"SIGBUS", "goroutine ", "panic:", "unexpected fault"} {
		if strings.Contains(stderr, crash) {
			t.Fatalf("netreadyd crashed (%q) instead of refusing:\n%s", crash, stderr)
		}
	}
	for _, w := range append([]string{"netreadyd failed to start"}, want...) {
		if !strings.Contains(stderr, w) {
			t.Fatalf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	if after, _ := os.ReadFile(db); !bytes.Equal(before, after) {
		t.Fatal("the refused database was changed")
	}
}

// wantCheckFails runs `netreadyd check --full` on the database of dir and
// wants exit 1 naming the damage.
func wantCheckFails(t *testing.T, bin, dir string) {
	t.Helper()
	out, err := exec.Command(bin, "check", "--full", "--data-dir", dir).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "data file damaged") {
		t.Fatalf("netreadyd check on a damaged database: %v\n%s", err, out)
	}
}

// leafPages lists the leaf pages of the database of dir.
func leafPages(t *testing.T, dir string) []int {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(copyDir(t, dir), "netready.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ids []int
	err = db.View(func(tx *bbolt.Tx) error {
		for id := 2; ; {
			info, err := tx.Page(id)
			if err != nil || info == nil {
				return err
			}
			if info.Type == "leaf" {
				ids = append(ids, id)
			}
			id += 1 + info.OverflowCount
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestRefusesDamagedData damages a used data dir in the ways an
// independent probe found: the server crashed (SIGBUS, assertion panic)
// or started empty. It must exit 1 with a message saying what is wrong.
func TestRefusesDamagedData(t *testing.T) {
	bin, used := usedDataDir(t)
	if out, err := exec.Command(bin, "check", "--full", "--data-dir", used).CombinedOutput(); err != nil || !strings.Contains(string(out), ": ok (full check") {
		t.Fatalf("netreadyd check on the sound database: %v\n%s", err, out)
	}
	r, err := store.Check(filepath.Join(used, "netready.db"), store.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	end := int64(r.Pages) * int64(r.PageSize)
	for name, size := range map[string]int64{"8KiB": 8192, "half": end / 2, "one page short": end - int64(r.PageSize)} {
		t.Run("truncated "+name, func(t *testing.T) {
			dir := copyDir(t, used)
			if err := os.Truncate(filepath.Join(dir, "netready.db"), size); err != nil {
				t.Fatal(err)
			}
			wantRefusal(t, bin, dir, "data file damaged: truncated", fmt.Sprintf("the file has %d bytes", size))
			wantCheckFails(t, bin, dir)
		})
	}
	leaves := leafPages(t, used)
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, id := range []int{leaves[0], leaves[len(leaves)/2], leaves[len(leaves)-1]} {
		t.Run(fmt.Sprint("random bytes in page ", id), func(t *testing.T) {
			dir := copyDir(t, used)
			page := make([]byte, r.PageSize)
			for i := range page {
				page[i] = byte(rnd.Uint32())
			}
			f, err := os.OpenFile(filepath.Join(dir, "netready.db"), os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt(page, int64(id*r.PageSize)); err != nil {
				t.Fatal(err)
			}
			f.Close()
			wantRefusal(t, bin, dir, "data file damaged")
			wantCheckFails(t, bin, dir)
		})
	}
	t.Run("rows bucket deleted", func(t *testing.T) {
		dir := copyDir(t, used)
		db, err := bbolt.Open(filepath.Join(dir, "netready.db"), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Update(func(tx *bbolt.Tx) error { return tx.DeleteBucket([]byte("rows")) }); err != nil {
			t.Fatal(err)
		}
		db.Close()
		wantRefusal(t, bin, dir, `data file damaged: bucket(s) [\"rows\"] missing`)
		wantCheckFails(t, bin, dir)
	})
}

// TestRefusesLostDatabase removes or empties the database of a used data
// dir: the server started empty and took Sets. It must refuse, until told
// with --init-empty-store.
func TestRefusesLostDatabase(t *testing.T) {
	bin, used := usedDataDir(t)
	for _, how := range []string{"missing", "empty (0 bytes)"} {
		t.Run(how, func(t *testing.T) {
			dir := copyDir(t, used)
			db := filepath.Join(dir, "netready.db")
			if err := os.Remove(db); err != nil {
				t.Fatal(err)
			}
			if how != "missing" {
				if err := os.WriteFile(db, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			wantRefusal(t, bin, dir, "netready.db is "+how, "users.json", "--init-empty-store")
			d := startDaemon(t, bin, dir, "--init-empty-store")
			c := connect(t, d.addr, dir)
			_, err := c.Get(context.Background(), &gpb.GetRequest{Path: []*gpb.Path{mustPath("/tenants")}, Encoding: gpb.Encoding_JSON_IETF})
			if status.Code(err) != codes.NotFound {
				t.Fatalf("Get /tenants on a store started empty: %v", err)
			}
		})
	}
	// Only the marker is left (users file and certificates elsewhere).
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".netready-store"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wantRefusal(t, bin, dir, "netready.db is missing", ".netready-store")
}

// TestRefusesLostServerKey deletes the generated key: the server made a
// new pair over the certificate clients had pinned.
func TestRefusesLostServerKey(t *testing.T) {
	bin, used := usedDataDir(t)
	dir := copyDir(t, used)
	crt, _ := os.ReadFile(filepath.Join(dir, "server.crt"))
	if err := os.Remove(filepath.Join(dir, "server.key")); err != nil {
		t.Fatal(err)
	}
	wantRefusal(t, bin, dir, "server.key is missing", "refusing")
	if after, _ := os.ReadFile(filepath.Join(dir, "server.crt")); !bytes.Equal(crt, after) {
		t.Fatal("server.crt was replaced")
	}
}
