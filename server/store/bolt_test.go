package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

type row struct {
	Key   string
	Value []byte
}

func openTest(t testing.TB, path string, opts BoltOptions) *Bolt {
	t.Helper()
	s, err := OpenBolt(path, opts)
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func loadAll(t testing.TB, s Store) []row {
	t.Helper()
	var rows []row
	err := s.Load(context.Background(), func(k string, v []byte) error {
		rows = append(rows, row{k, v})
		return nil
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return rows
}

func commitIDs(t testing.TB, s Store, from, to uint64) []uint64 {
	t.Helper()
	ids := []uint64{}
	err := s.Commits(context.Background(), from, to, func(c *Commit) error {
		ids = append(ids, c.ID)
		return nil
	})
	if err != nil {
		t.Fatalf("Commits(%d, %d): %v", from, to, err)
	}
	return ids
}

func seq(from, to uint64) []uint64 {
	ids := []uint64{}
	for i := from; i <= to; i++ {
		ids = append(ids, i)
	}
	return ids
}

func put(key, val string) RowChange { return RowChange{Key: key, New: []byte(val)} }

func mustApply(t testing.TB, s Store, commits ...*Commit) {
	t.Helper()
	if err := s.Apply(context.Background(), commits); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func wantRows(t testing.TB, got []row, want ...row) {
	t.Helper()
	if len(want) == 0 {
		want = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows:\n got %q\nwant %q", got, want)
	}
}

// TestApplyRollsBackABoltFailure: a failure inside the bbolt transaction
// (a state key over bbolt's limit) in the second commit of a batch leaves
// the first commit's row invisible too, before and after a reopen, and the
// error says where it came from. A row bbolt would refuse is refused
// before the transaction: its rows may be written only at a later
// checkpoint, whose failure would block every Apply after it. (What every
// store refuses up front is in storetest.)
func TestApplyRollsBackABoltFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	s := openTest(t, path, BoltOptions{})
	mustApply(t, s, &Commit{ID: 1, Changes: []RowChange{put("/a", "1")}})
	err := s.Apply(context.Background(), []*Commit{
		{ID: 2, Changes: []RowChange{put("/partial", "x")}},
		{ID: 3, Changes: []RowChange{put(strings.Repeat("k", bbolt.MaxKeySize+1), "x")}},
	})
	if !errors.Is(err, bbolt.ErrKeyTooLarge) || !strings.HasPrefix(err.Error(), "store: apply") {
		t.Fatalf("oversized row key: err = %v, want ErrKeyTooLarge with context", err)
	}
	err = s.Apply(context.Background(), []*Commit{
		{ID: 2, Changes: []RowChange{put("/partial", "x")}},
		{ID: 3, Changes: []RowChange{put("/c", "3")}, State: map[string][]byte{strings.Repeat("k", bbolt.MaxKeySize+1): []byte("x")}},
	})
	if !errors.Is(err, bbolt.ErrKeyTooLarge) || !strings.HasPrefix(err.Error(), "store: apply commits 2..3: commit 3") {
		t.Fatalf("oversized state key: err = %v, want ErrKeyTooLarge with context", err)
	}
	check := func(s *Bolt) {
		t.Helper()
		if got := s.LastCommitID(); got != 1 {
			t.Fatalf("LastCommitID = %d, want 1", got)
		}
		wantRows(t, loadAll(t, s), row{"/a", []byte("1")})
		if ids := commitIDs(t, s, 0, 0); !reflect.DeepEqual(ids, []uint64{1}) {
			t.Fatalf("commits = %v, want [1]", ids)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path, BoltOptions{})
	check(s)
	mustApply(t, s, &Commit{ID: 2, Changes: []RowChange{put("/b", "2")}})
	wantRows(t, loadAll(t, s), row{"/a", []byte("1")}, row{"/b", []byte("2")})
}

// TestRetentionOnReopen: a lower retention given at reopen prunes
// nothing by itself (the next Apply does, see storetest), and a negative
// one is refused.
func TestRetentionOnReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	s := openTest(t, path, BoltOptions{Retention: 5})
	for id := uint64(1); id <= 7; id++ {
		mustApply(t, s, &Commit{ID: id, Changes: []RowChange{put(fmt.Sprintf("/r%02d", id), fmt.Sprint(id))}})
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path, BoltOptions{Retention: 2})
	if ids := commitIDs(t, s, 0, 0); !reflect.DeepEqual(ids, seq(3, 7)) {
		t.Fatalf("reopen must not prune by itself: %v", ids)
	}
	if _, err := OpenBolt(filepath.Join(t.TempDir(), "neg.db"), BoltOptions{Retention: -1}); err == nil {
		t.Fatal("negative retention accepted")
	}
}

// TestOpenLocked checks a second OpenBolt on an open file fails quickly with
// an error naming the file, and succeeds once the first is closed.
func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	s := openTest(t, path, BoltOptions{})
	start := time.Now()
	s2, err := OpenBolt(path, BoltOptions{OpenTimeout: 50 * time.Millisecond})
	elapsed := time.Since(start)
	if err == nil {
		s2.Close()
		t.Fatal("second OpenBolt succeeded on a locked file")
	}
	if !strings.Contains(err.Error(), "locked by another process") || !strings.Contains(err.Error(), path) {
		t.Fatalf("error does not explain the lock or name the file: %v", err)
	}
	if !errors.Is(err, bbolt.ErrTimeout) {
		t.Fatalf("error does not wrap bbolt.ErrTimeout: %v", err)
	}
	if elapsed > 2*time.Second {
		t.Fatalf("locked open took %v", elapsed)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	openTest(t, path, BoltOptions{OpenTimeout: 50 * time.Millisecond})
}

// TestFormatVersion checks files with an unknown format version, or that
// are not NetReady files at all, are refused and left as they were.
func TestFormatVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	s := openTest(t, path, BoltOptions{})
	mustApply(t, s, &Commit{ID: 1, Changes: []RowChange{put("/a", "1")}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	setMeta := func(key []byte, v []byte) {
		t.Helper()
		db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put(key, v) }); err != nil {
			t.Fatal(err)
		}
	}
	setMeta(metaFormat, u64(99))
	_, err := OpenBolt(path, BoltOptions{})
	if err == nil || !strings.Contains(err.Error(), "unsupported data format version 99") || !strings.Contains(err.Error(), path) {
		t.Fatalf("unknown version: err = %v", err)
	}
	setMeta(metaFormat, []byte{1})
	if _, err := OpenBolt(path, BoltOptions{}); err == nil || !strings.Contains(err.Error(), "malformed format version") {
		t.Fatalf("malformed version: err = %v", err)
	}
	// Restoring the version makes the file usable again, data intact: the
	// refused opens wrote nothing.
	setMeta(metaFormat, u64(formatVersion))
	s = openTest(t, path, BoltOptions{})
	wantRows(t, loadAll(t, s), row{"/a", []byte("1")})
	if s.LastCommitID() != 1 {
		t.Fatalf("LastCommitID = %d", s.LastCommitID())
	}

	// A bbolt file from something else.
	other := filepath.Join(t.TempDir(), "other.db")
	db, err := bbolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("foreign")); return err }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := OpenBolt(other, BoltOptions{}); err == nil || !strings.Contains(err.Error(), "not a NetReady data file") {
		t.Fatalf("foreign file: err = %v", err)
	}
}

// TestLargeBatch writes one commit of 100,000 rows (one fsync) and loads
// them all back.
func TestLargeBatch(t *testing.T) {
	const n = 100_000
	path := filepath.Join(t.TempDir(), "data.db")
	s := openTest(t, path, BoltOptions{})
	changes := make([]RowChange, n)
	for i := range changes {
		changes[i] = RowChange{Key: rowKey(i), New: rowValue(i, 64)}
	}
	mustApply(t, s, &Commit{ID: 1, Summary: "bulk", Changes: changes})

	i := 0
	err := s.Load(context.Background(), func(k string, v []byte) error {
		// rowKey sorts in index order, so Load order is index order.
		if k != rowKey(i) || string(v) != string(rowValue(i, 64)) {
			return fmt.Errorf("row %d: got %q=%q", i, k, v)
		}
		i++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Fatalf("loaded %d rows, want %d", i, n)
	}
	var logged int
	if err := s.Commits(context.Background(), 1, 1, func(c *Commit) error { logged = len(c.Changes); return nil }); err != nil {
		t.Fatal(err)
	}
	if logged != n {
		t.Fatalf("logged commit has %d changes, want %d", logged, n)
	}
}

// TestContextAndClose checks Apply honours cancellation, including while
// queued behind another writer, and that a closed store refuses work.
func TestContextAndClose(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "data.db"), BoltOptions{NoSync: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Apply(ctx, []*Commit{{ID: 1, Changes: []RowChange{put("/a", "1")}}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Apply: %v", err)
	}
	if err := s.Load(ctx, func(string, []byte) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Load: %v", err)
	}

	// Hold the writer slot as a concurrent Apply would; a queued Apply
	// must give up when its deadline passes.
	s.writeSem <- struct{}{}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if err := s.Apply(ctx2, []*Commit{{ID: 1}}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued Apply: %v", err)
	}
	<-s.writeSem
	if s.LastCommitID() != 0 || len(loadAll(t, s)) != 0 {
		t.Fatal("cancelled Apply wrote something")
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(context.Background(), []*Commit{{ID: 1}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Apply after Close: %v", err)
	}
	if err := s.Load(context.Background(), func(string, []byte) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Load after Close: %v", err)
	}
	if err := s.Commits(context.Background(), 0, 0, func(*Commit) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Commits after Close: %v", err)
	}
}

// TestConcurrentApply has several goroutines race to append; the mutex and
// id check must leave a gap-free log with every row present.
func TestConcurrentApply(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "data.db"), BoltOptions{NoSync: true})
	const workers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; {
				id := s.LastCommitID() + 1
				err := s.Apply(context.Background(), []*Commit{{ID: id, Changes: []RowChange{put(fmt.Sprintf("/w%d/%02d", w, i), "v")}}})
				if err == nil {
					i++
				} else if !strings.Contains(err.Error(), "without gaps") {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := s.LastCommitID(); got != workers*each {
		t.Fatalf("LastCommitID = %d, want %d", got, workers*each)
	}
	if ids := commitIDs(t, s, 0, 0); !reflect.DeepEqual(ids, seq(1, workers*each)) {
		t.Fatalf("commit log = %v", ids)
	}
	if rows := loadAll(t, s); len(rows) != workers*each {
		t.Fatalf("rows = %d, want %d", len(rows), workers*each)
	}
}

// rowKey is a realistic canonical path that sorts in index order.
func rowKey(i int) string {
	return fmt.Sprintf("/tenants/tenant[name=t%03d]/ports/port[name=p%06d]", i/1000, i)
}

func rowValue(i, size int) []byte {
	v := make([]byte, size)
	for j := range v {
		v[j] = byte('a' + (i+j)%26)
	}
	return v
}

// TestAuditBytesLoweredOnReopen: a reopen with a lower byte bound on the
// audit log prunes at once (the bound itself is in storetest).
func TestAuditBytesLoweredOnReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	opts := BoltOptions{NoSync: true, AuditRetention: 1000, AuditRetentionBytes: 1000}
	s := openTest(t, path, opts)
	ctx := context.Background()
	for i := 1; i <= 40; i++ {
		if err := s.AppendAudit(ctx, [][]byte{fmt.Appendf(nil, "%03d%s", i, strings.Repeat("x", 297))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	opts.AuditRetentionBytes = 500
	s = openTest(t, path, opts)
	var kept []string
	if err := s.Audit(ctx, func(_ uint64, e []byte) error {
		kept = append(kept, string(e[:3]))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(kept) != 1 || kept[0] != "040" {
		t.Fatalf("after reopening with 500 bytes: %v, want only 040", kept)
	}
}

// TestBulkRowsFillPages: a bulk commit of rows in key order leaves the rows
// bucket's leaf pages nearly full, so a later commit changing rows spread
// over the range rewrites few pages. bbolt's default split leaves them
// half empty (fill 0.49 here, and 1.8x the page writes).
func TestBulkRowsFillPages(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "db"), BoltOptions{NoSync: true})
	const n = 10_000
	bulk := &Commit{ID: 1, Changes: make([]RowChange, n)}
	for i := range bulk.Changes {
		bulk.Changes[i] = RowChange{Key: rowKey(i), New: rowValue(i, 80)}
	}
	if err := s.Apply(context.Background(), []*Commit{bulk}); err != nil {
		t.Fatal(err)
	}
	var st bbolt.BucketStats
	if err := s.db.View(func(tx *bbolt.Tx) error {
		st = tx.Bucket(bucketRows).Stats()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fill := float64(st.LeafInuse) / float64(st.LeafAlloc); fill < 0.8 {
		t.Errorf("rows leaf pages %.2f full after a bulk commit (%d pages for %d rows), want >= 0.8", fill, st.LeafPageN, n)
	}
	// A tenth of the rows, one in ten, changed: every page holds some.
	upd := &Commit{ID: 2}
	for i := 0; i < n; i += 10 {
		upd.Changes = append(upd.Changes, RowChange{Key: rowKey(i), Old: rowValue(i, 80), New: rowValue(i+1, 80)})
	}
	writes := pageWrites(s)
	if err := s.Apply(context.Background(), []*Commit{upd}); err != nil {
		t.Fatal(err)
	}
	// The range's bytes (key, value and bbolt's 16-byte element header
	// per row) fill this many pages.
	full := int64(n*(len(rowKey(0))+80+16)) / int64(s.db.Info().PageSize)
	if got, max := pageWrites(s)-writes, full*5/4+20; got > max {
		t.Errorf("a commit of %d spread rows made %d page writes, want <= %d (%d full pages of rows, a quarter more, branches, log and meta)", len(upd.Changes), got, max, full)
	}
}
