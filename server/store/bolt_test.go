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

// TestApplyLoadReopen covers puts, deletes, in-batch ordering, LastCommitID
// and durability across Close/OpenBolt.
func TestApplyLoadReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	s := openTest(t, path, BoltOptions{})
	if got := s.LastCommitID(); got != 0 {
		t.Fatalf("new store LastCommitID = %d, want 0", got)
	}
	wantRows(t, loadAll(t, s))

	ctx := context.Background()
	mustApply(t, s, &Commit{ID: 1, Changes: []RowChange{
		put("/c", "3"), put("/a", "1"), put("/b", "2"), {Key: "/empty", New: []byte{}},
	}})
	if got := s.LastCommitID(); got != 1 {
		t.Fatalf("LastCommitID = %d, want 1", got)
	}
	wantRows(t, loadAll(t, s), row{"/a", []byte("1")}, row{"/b", []byte("2")}, row{"/c", []byte("3")}, row{"/empty", []byte{}})

	// Delete /b, overwrite /a.
	mustApply(t, s, &Commit{ID: 2, Changes: []RowChange{{Key: "/b", Old: []byte("2")}, put("/a", "1bis")}})
	// A batch: commit 4 overwrites what commit 3 wrote, and deletes a row
	// commit 3 created; deleting a missing key is not an error.
	mustApply(t, s,
		&Commit{ID: 3, Changes: []RowChange{put("/x", "first"), put("/y", "tmp")}},
		&Commit{ID: 4, Changes: []RowChange{put("/x", "second"), {Key: "/y"}, {Key: "/never"}}},
	)
	if got := s.LastCommitID(); got != 4 {
		t.Fatalf("LastCommitID = %d, want 4", got)
	}
	want := []row{{"/a", []byte("1bis")}, {"/c", []byte("3")}, {"/empty", []byte{}}, {"/x", []byte("second")}}
	got := loadAll(t, s)
	wantRows(t, got, want...)
	if got[2].Value == nil {
		t.Fatal("empty row value loaded as nil")
	}
	if err := s.Apply(ctx, nil); err != nil {
		t.Fatalf("empty Apply: %v", err)
	}

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s2 := openTest(t, path, BoltOptions{})
	if got := s2.LastCommitID(); got != 4 {
		t.Fatalf("after reopen LastCommitID = %d, want 4", got)
	}
	wantRows(t, loadAll(t, s2), want...)
	if ids := commitIDs(t, s2, 0, 0); !reflect.DeepEqual(ids, seq(1, 4)) {
		t.Fatalf("after reopen commits = %v", ids)
	}
	mustApply(t, s2, &Commit{ID: 5, Changes: []RowChange{put("/z", "5")}})
	if got := s2.LastCommitID(); got != 5 {
		t.Fatalf("LastCommitID = %d, want 5", got)
	}
}

// TestApplyRejectsBadIDs checks gaps, repeats and non-increasing ids fail
// before anything is written, and that a failure inside the transaction
// rolls back the whole batch.
func TestApplyRejectsBadIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	s := openTest(t, path, BoltOptions{})
	mustApply(t, s, &Commit{ID: 1, Changes: []RowChange{put("/a", "1")}})

	bad := map[string][]*Commit{
		"gap":                  {{ID: 3}},
		"repeat":               {{ID: 1}},
		"zero":                 {{ID: 0}},
		"non-increasing batch": {{ID: 2}, {ID: 2}},
		"gap inside batch":     {{ID: 2}, {ID: 4}},
		"decreasing batch":     {{ID: 3}, {ID: 2}},
		"nil commit":           {{ID: 2}, nil},
		"empty key":            {{ID: 2, Changes: []RowChange{{Key: "", New: []byte("v")}}}},
	}
	for name, batch := range bad {
		// Give every rejected batch a row write, so a partial write would show.
		for _, c := range batch {
			if c != nil && len(c.Changes) == 0 {
				c.Changes = []RowChange{put("/bad/"+name, "x")}
			}
		}
		err := s.Apply(context.Background(), batch)
		if err == nil {
			t.Fatalf("%s: Apply succeeded, want error", name)
		}
		if !strings.HasPrefix(err.Error(), "store: apply") {
			t.Fatalf("%s: error lacks context: %v", name, err)
		}
	}

	// Failure inside the bbolt transaction (key over bbolt's limit) in the
	// second commit: the first commit's row must not be visible either.
	err := s.Apply(context.Background(), []*Commit{
		{ID: 2, Changes: []RowChange{put("/partial", "x")}},
		{ID: 3, Changes: []RowChange{put(strings.Repeat("k", bbolt.MaxKeySize+1), "x")}},
	})
	if !errors.Is(err, bbolt.ErrKeyTooLarge) {
		t.Fatalf("oversized key: err = %v, want ErrKeyTooLarge", err)
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

// TestRetention checks the log keeps only the newest Retention records and
// that pruning leaves rows alone, including after Retention is lowered.
func TestRetention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	s := openTest(t, path, BoltOptions{Retention: 5})
	var id uint64
	next := func() *Commit {
		id++
		return &Commit{ID: id, Summary: fmt.Sprint("commit ", id), Changes: []RowChange{put(fmt.Sprintf("/r%02d", id), fmt.Sprint(id))}}
	}
	for range 7 {
		mustApply(t, s, next())
	}
	if ids := commitIDs(t, s, 0, 0); !reflect.DeepEqual(ids, seq(3, 7)) {
		t.Fatalf("after 7 commits: %v, want 3..7", ids)
	}
	mustApply(t, s, next(), next(), next(), next(), next()) // 8..12 in one batch
	if ids := commitIDs(t, s, 0, 0); !reflect.DeepEqual(ids, seq(8, 12)) {
		t.Fatalf("after 12 commits: %v, want 8..12", ids)
	}
	if ids := commitIDs(t, s, 1, 9); !reflect.DeepEqual(ids, []uint64{8, 9}) {
		t.Fatalf("range over pruned ids: %v, want [8 9]", ids)
	}
	if rows := loadAll(t, s); len(rows) != 12 || rows[0].Key != "/r01" || string(rows[11].Value) != "12" {
		t.Fatalf("rows after pruning: %q", rows)
	}
	if got := s.LastCommitID(); got != 12 {
		t.Fatalf("LastCommitID = %d, want 12", got)
	}

	// Lower retention on reopen: the next Apply catches up.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path, BoltOptions{Retention: 2})
	if ids := commitIDs(t, s, 0, 0); !reflect.DeepEqual(ids, seq(8, 12)) {
		t.Fatalf("reopen must not prune by itself: %v", ids)
	}
	mustApply(t, s, next())
	if ids := commitIDs(t, s, 0, 0); !reflect.DeepEqual(ids, seq(12, 13)) {
		t.Fatalf("after lowering retention: %v, want [12 13]", ids)
	}
	if rows := loadAll(t, s); len(rows) != 13 {
		t.Fatalf("rows = %d, want 13", len(rows))
	}

	if _, err := OpenBolt(filepath.Join(t.TempDir(), "neg.db"), BoltOptions{Retention: -1}); err == nil {
		t.Fatal("negative retention accepted")
	}
}

// TestCommitsRangeAndContents checks from/to bounds and that records come
// back field for field, nil and empty values kept apart.
func TestCommitsRangeAndContents(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "data.db"), BoltOptions{})
	base := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)
	var all []*Commit
	for i := uint64(1); i <= 10; i++ {
		c := &Commit{
			ID:      i,
			Time:    base.Add(time.Duration(i) * time.Second),
			User:    fmt.Sprint("user", i),
			Peer:    fmt.Sprintf("127.0.0.1:%d", 1000+i),
			Summary: fmt.Sprintf("update /t[name=%d]", i),
			Changes: []RowChange{
				{Key: fmt.Sprintf("/t[name=%d]", i), Old: nil, New: []byte(fmt.Sprint("v", i))},
				{Key: "/shared", Old: []byte{}, New: []byte{}},
				{Key: fmt.Sprintf("/gone%d", i), Old: []byte("was"), New: nil},
			},
		}
		all = append(all, c)
	}
	mustApply(t, s, all[:4]...)
	mustApply(t, s, all[4:]...)

	for _, tc := range []struct {
		from, to uint64
		want     []uint64
	}{
		{0, 0, seq(1, 10)},
		{1, 10, seq(1, 10)},
		{3, 6, seq(3, 6)},
		{8, 0, seq(8, 10)},
		{0, 1, []uint64{1}},
		{5, 5, []uint64{5}},
		{6, 3, []uint64{}},
		{11, 0, []uint64{}},
		{9, 100, seq(9, 10)},
	} {
		if got := commitIDs(t, s, tc.from, tc.to); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Commits(%d, %d) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}

	var got []*Commit
	if err := s.Commits(context.Background(), 0, 0, func(c *Commit) error {
		got = append(got, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, all) {
		t.Fatalf("commit records differ:\n got %+v\nwant %+v", got[0], all[0])
	}
	if got[0].Changes[0].Old != nil || got[0].Changes[1].Old == nil || got[0].Changes[1].New == nil || got[0].Changes[2].New != nil {
		t.Fatal("nil/empty not preserved through the log")
	}

	// An error from fn stops the scan and is returned wrapped.
	stop := errors.New("stop")
	n := 0
	err := s.Commits(context.Background(), 0, 0, func(*Commit) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("fn error: err=%v after %d calls", err, n)
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

// TestAudit: entries of commits and refused Sets share one log, in order,
// survive a reopen and are pruned to the retention.
func TestAudit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	s, err := OpenBolt(path, BoltOptions{NoSync: true, AuditRetention: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Apply(ctx, []*Commit{{ID: 1, Audit: []byte("a1")}, {ID: 2}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, [][]byte{[]byte("denied"), []byte("d2")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, []*Commit{{ID: 3, Audit: []byte("a3")}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = OpenBolt(path, BoltOptions{NoSync: true, AuditRetention: 3}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []string
	if err := s.Audit(ctx, func(seq uint64, e []byte) error {
		got = append(got, fmt.Sprintf("%d:%s", seq, e))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := "[2:denied 3:d2 4:a3]"; fmt.Sprint(got) != want {
		t.Fatalf("audit %v, want %s", got, want)
	}
}

// TestAuditBytes: the audit log keeps the newest entries that fit its byte
// bound, whether they come with commits or alone, and a reopen with a
// lower bound prunes at once.
func TestAuditBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	opts := BoltOptions{NoSync: true, AuditRetention: 1000, AuditRetentionBytes: 1000}
	s, err := OpenBolt(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	entry := func(i int) []byte { return []byte(fmt.Sprintf("%03d%s", i, strings.Repeat("x", 297))) }
	for i := 1; i <= 40; i++ {
		if i%2 == 0 {
			err = s.Apply(ctx, []*Commit{{ID: uint64(i / 2), Audit: entry(i)}})
		} else {
			err = s.AppendAudit(ctx, [][]byte{entry(i)})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	stored := func(s *Bolt) (n, size int, first string) {
		t.Helper()
		if err := s.Audit(ctx, func(_ uint64, e []byte) error {
			if n == 0 {
				first = string(e[:3])
			}
			n, size = n+1, size+len(e)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return n, size, first
	}
	if n, size, first := stored(s); n != 3 || size > 1000 || first != "038" {
		t.Fatalf("kept %d entries of %d bytes from %s, want the newest 3 (038..040)", n, size, first)
	}
	s.Close()
	opts.AuditRetentionBytes = 500
	if s, err = OpenBolt(path, opts); err != nil {
		t.Fatal(err)
	}
	if n, _, first := stored(s); n != 1 || first != "040" {
		t.Fatalf("after reopening with 500 bytes: %d entries from %s, want only 040", n, first)
	}
	// An entry larger than the bound is kept alone: the newest always is.
	if err := s.AppendAudit(ctx, [][]byte{[]byte("041" + strings.Repeat("y", 600))}); err != nil {
		t.Fatal(err)
	}
	if n, _, first := stored(s); n != 1 || first != "041" {
		t.Fatalf("after a large entry: %d entries from %s, want only 041", n, first)
	}
	s.Close()
}
