package store

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// usedFile returns a closed data file holding 2,000 rows written by 20
// commits, audit entries and state, spread over a few hundred pages.
func usedFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "netready.db")
	s := openTest(t, path, BoltOptions{NoSync: true})
	s.windowCommits = 1 // the rows of every commit in the rows bucket
	for id := uint64(1); id <= 20; id++ {
		c := &Commit{ID: id, Summary: "fill", Audit: []byte("audit"), State: map[string][]byte{"label": u64(id)}}
		for i := range 100 {
			k := int(id-1)*100 + i
			c.Changes = append(c.Changes, RowChange{Key: rowKey(k), New: rowValue(k, 200)})
		}
		mustApply(t, s, c)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Drop the preallocated tail beyond the pages in use, which bbolt
	// never reads, so the many copies the tests make are small.
	r, err := Check(path, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(r.Pages)*int64(r.PageSize)); err != nil {
		t.Fatal(err)
	}
	return path
}

// copyFile copies src into a new temporary file and returns its path.
func copyFile(t *testing.T, src string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// wantRefused opens path and wants an error wrapping ErrDamaged that
// contains every one of want, with the file left byte for byte as it was.
func wantRefused(t *testing.T, path string, want ...string) {
	t.Helper()
	before := fileHash(t, path)
	s, err := OpenBolt(path, BoltOptions{})
	if err == nil {
		s.Close()
		t.Fatalf("OpenBolt accepted a damaged file (want %q)", want)
	}
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("error does not wrap ErrDamaged: %v", err)
	}
	for _, w := range append(want, path) {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error lacks %q: %v", w, err)
		}
	}
	if _, cerr := Check(path, CheckOptions{Full: true}); !errors.Is(cerr, ErrDamaged) {
		t.Fatalf("Check does not report the damage OpenBolt found (%v): %v", err, cerr)
	}
	if fileHash(t, path) != before {
		t.Fatal("refusing the file changed it")
	}
}

// TestOpenRefusesTruncatedFile cuts a used file short in three places.
// Before the check, bbolt mapped it and the process died of SIGBUS.
func TestOpenRefusesTruncatedFile(t *testing.T) {
	good := usedFile(t)
	r, err := Check(good, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	end := int64(r.Pages) * int64(r.PageSize)
	for name, size := range map[string]int64{"8KiB": 8192, "half": end / 2, "one page short": end - int64(r.PageSize)} {
		t.Run(name, func(t *testing.T) {
			path := copyFile(t, good)
			if err := os.Truncate(path, size); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, path, "truncated", fmt.Sprintf("has %d bytes", size))
		})
	}
}

// pagesInUse lists the first page of every branch and leaf page of path.
func pagesInUse(t *testing.T, path string) []int {
	t.Helper()
	db, err := bbolt.Open(copyFile(t, path), 0o600, nil)
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
			if info.Type == "leaf" || info.Type == "branch" {
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

// TestOpenRefusesDamagedPages overwrites each page in use with random
// bytes in turn. Before the guard, bbolt's assertion panics killed the
// process ("assertion failed: Page expected to be ...").
func TestOpenRefusesDamagedPages(t *testing.T) {
	good := usedFile(t)
	rnd := rand.New(rand.NewPCG(1, 2))
	ids := pagesInUse(t, good)
	if len(ids) < 20 {
		t.Fatalf("only %d pages in use", len(ids))
	}
	for i, id := range ids {
		if i%5 != 0 { // every fifth page keeps the test short
			continue
		}
		path := copyFile(t, good)
		page := make([]byte, 4096)
		for i := range page {
			page[i] = byte(rnd.Uint32())
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(page, int64(id)*4096); err != nil {
			t.Fatal(err)
		}
		f.Close()
		t.Run(fmt.Sprint("page", id), func(t *testing.T) { wantRefused(t, path, "damaged") })
	}
}

// editFile changes a closed data file with bbolt directly.
func editFile(t *testing.T, path string, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// TestOpenRefusesMissingBucket deletes each bucket of a used file in turn:
// before, the store recreated it empty and served (and took Sets on) an
// empty configuration.
func TestOpenRefusesMissingBucket(t *testing.T) {
	good := usedFile(t)
	for _, b := range buckets {
		t.Run(string(b), func(t *testing.T) {
			path := copyFile(t, good)
			editFile(t, path, func(tx *bbolt.Tx) error { return tx.DeleteBucket(b) })
			wantRefused(t, path, fmt.Sprintf("%q missing", []string{string(b)}))
		})
	}
	t.Run("unexpected", func(t *testing.T) {
		path := copyFile(t, good)
		editFile(t, path, func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("extra")); return err })
		wantRefused(t, path, `["extra"] unexpected`)
	})
}

// TestOpenChecksNewestCommit damages the agreement between the last
// commit id, the commit log and the rows.
func TestOpenChecksNewestCommit(t *testing.T) {
	good := usedFile(t)
	cases := []damage{
		{"meta rolled back", func(tx *bbolt.Tx) error { return writeMeta(tx.Bucket(bucketMeta), fileMeta{formatVersion, 19, 19, 19}) },
			"last commit id is 19 but the commit log ends at 20"},
		{"newest record lost", func(tx *bbolt.Tx) error { return tx.Bucket(bucketCommits).Delete(u64(20)) },
			"last commit id is 20 but the commit log ends at 19"},
		{"record lost in the middle", func(tx *bbolt.Tx) error { return tx.Bucket(bucketCommits).Delete(u64(7)) },
			"id 8 follows 6"},
		{"row not what the newest commit wrote", func(tx *bbolt.Tx) error { return tx.Bucket(bucketRows).Put([]byte(rowKey(1950)), []byte("x")) },
			fmt.Sprintf("row %q is not what the checkpoint commit (20) wrote", rowKey(1950))},
		{"row deleted", func(tx *bbolt.Tx) error { return tx.Bucket(bucketRows).Delete([]byte(rowKey(1999))) },
			"not what the checkpoint commit"},
		{"rows emptied", func(tx *bbolt.Tx) error {
			if err := tx.DeleteBucket(bucketRows); err != nil {
				return err
			}
			_, err := tx.CreateBucket(bucketRows)
			return err
		}, "not what the checkpoint commit"},
		{"newest record garbage", func(tx *bbolt.Tx) error { return tx.Bucket(bucketCommits).Put(u64(20), []byte{9, 9}) },
			"commit 20"},
	}
	refuseEach(t, good, cases)
}

// damage is one edit of a sound file and what opening it must say.
type damage struct {
	name string
	edit func(tx *bbolt.Tx) error
	want string
}

// refuseEach applies each damage to its own copy of good and checks the
// copy is refused with its message.
func refuseEach(t *testing.T, good string, cases []damage) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := copyFile(t, good)
			editFile(t, path, c.edit)
			wantRefused(t, path, c.want)
		})
	}
}

// TestCheckReport checks what Check reports on a sound, a missing and an
// empty file, and that the full check decodes every commit record.
func TestCheckReport(t *testing.T) {
	good := usedFile(t)
	r, err := Check(good, CheckOptions{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.New || r.Rows != 2000 || r.Commits != 20 || r.OldestCommit != 1 || r.LastCommit != 20 || r.AuditEntries != 20 || r.StateKeys != 1 || !r.Full {
		t.Fatalf("report: %+v", r)
	}
	// An old record that does not decode is found by the full check only.
	path := copyFile(t, good)
	editFile(t, path, func(tx *bbolt.Tx) error { return tx.Bucket(bucketCommits).Put(u64(3), []byte{1, 4}) })
	if _, err := Check(path, CheckOptions{}); err != nil {
		t.Fatalf("quick check: %v", err)
	}
	if _, err := Check(path, CheckOptions{Full: true}); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "commit 3") {
		t.Fatalf("full check: %v", err)
	}

	if _, err := Check(filepath.Join(t.TempDir(), "absent.db"), CheckOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if r, err := Check(empty, CheckOptions{Full: true}); err != nil || !r.New {
		t.Fatalf("empty file: %+v %v", r, err)
	}
	// A check holds a shared lock only: it fails fast on a file a server
	// has open.
	s := openTest(t, good, BoltOptions{})
	if _, err := Check(good, CheckOptions{Timeout: 50 * time.Millisecond}); err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("check of an open file: %v", err)
	}
	wantRows(t, loadAll(t, s)[:1], row{rowKey(0), rowValue(0, 200)})
}
