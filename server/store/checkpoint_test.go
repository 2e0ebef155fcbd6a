package store

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
)

// snapshot copies the open store's file as a crash right now would leave
// it (bbolt's Backup holds exactly the committed transactions) and opens
// the copy.
func snapshot(t *testing.T, s *Bolt, opts BoltOptions) *Bolt {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crash.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(f, func(uint64, int64) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return openTest(t, path, opts)
}

// meta reads the store's meta bucket.
func meta(t *testing.T, s *Bolt) fileMeta {
	t.Helper()
	var m fileMeta
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		m, err = readMetaBucket(tx.Bucket(bucketMeta))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDeferredRowsLoadAsApplied applies random batches (puts, deletes,
// empty values, the same key in several commits of the window, bulk
// commits over the window's rows) and after each compares what Load
// gives, on the store and on a copy of its file taken as a crash would
// leave it (which opening checks), with the rows a plain map says were
// applied. It also checks the window's bounds, and that the test saw
// the window both grow and move.
func TestDeferredRowsLoadAsApplied(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 11))
	opts := BoltOptions{NoSync: true, Retention: 100}
	s := openTest(t, filepath.Join(t.TempDir(), "data.db"), opts)
	want := map[string][]byte{}
	var id uint64
	grew, moved := false, false
	for round := range 150 {
		var batch []*Commit
		for range 1 + rnd.IntN(4) {
			id++
			c := &Commit{ID: id}
			n := 1 + rnd.IntN(20)
			if round%50 == 49 {
				n = windowRows // a bulk Set: written at once
			}
			for range n {
				key := fmt.Sprintf("/k%04d", rnd.IntN(3000))
				var val []byte
				switch rnd.IntN(5) {
				case 0: // delete
				case 1:
					val = []byte{}
				default:
					val = fmt.Appendf(nil, "v%d-%d", id, rnd.IntN(1000))
				}
				c.Changes = append(c.Changes, RowChange{Key: key, New: val})
				want[key] = val
			}
			batch = append(batch, c)
		}
		before := s.checkpoint
		mustApply(t, s, batch...)
		m := meta(t, s)
		if m.checkpoint != s.checkpoint || m.last != id || id-m.checkpoint >= windowCommits || s.win.rows > windowRows || len(s.win.commits) != int(id-m.checkpoint) {
			t.Fatalf("round %d: checkpoint %d (store says %d), last %d, window of %d commits and %d rows", round, m.checkpoint, s.checkpoint, m.last, len(s.win.commits), s.win.rows)
		}
		grew = grew || m.checkpoint == before
		moved = moved || m.checkpoint != before
		checkLoad(t, s, want)
		if round%15 == 0 {
			crashed := snapshot(t, s, opts)
			checkLoad(t, crashed, want)
			if !reflect.DeepEqual(crashed.win, s.win) {
				t.Fatalf("reopened with a window of %d commits and %d rows, the store had %d and %d", len(crashed.win.commits), crashed.win.rows, len(s.win.commits), s.win.rows)
			}
		}
	}
	if !grew || !moved {
		t.Fatalf("window grew %v, moved %v: the test covers neither path alone", grew, moved)
	}
}

// checkLoad compares Load's rows (present ones, in key order, values
// non-nil) with want.
func checkLoad(t *testing.T, s *Bolt, want map[string][]byte) {
	t.Helper()
	var keys []string
	for _, r := range loadAll(t, s) {
		w, ok := want[r.Key]
		if !ok || w == nil {
			t.Fatalf("Load gives %q, which is deleted or was never written", r.Key)
		}
		if r.Value == nil || !bytes.Equal(r.Value, w) {
			t.Fatalf("Load gives %q = %q, want %q", r.Key, r.Value, w)
		}
		keys = append(keys, r.Key)
	}
	if !slices.IsSorted(keys) {
		t.Fatal("Load's keys are not in order")
	}
	n := 0
	for v := range maps.Values(want) {
		if v != nil {
			n++
		}
	}
	if len(keys) != n {
		t.Fatalf("Load gives %d rows, want %d", len(keys), n)
	}
}

// pendingFile returns a closed file whose rows are checkpointed at commit
// 20 and whose commits 21 to 25 (a changed row, a deleted row and a new
// one each) are only in the log.
func pendingFile(t *testing.T) string {
	t.Helper()
	path := copyFile(t, usedFile(t))
	s := openTest(t, path, BoltOptions{NoSync: true, Retention: 20})
	for id := uint64(21); id <= 25; id++ {
		k := int(id)
		mustApply(t, s, &Commit{ID: id, Changes: []RowChange{
			{Key: rowKey(k), New: []byte("changed")},
			{Key: rowKey(k + 100)},
			{Key: rowKey(5000 + k), New: []byte("new")},
		}})
	}
	if m := meta(t, s); m.checkpoint != 20 || m.last != 25 {
		t.Fatalf("checkpoint %d, last %d: want 20 and 25", m.checkpoint, m.last)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenChecksPendingCommits: the commits after the checkpoint are the
// only copy of their rows, so a file missing one, or whose checkpoint
// says otherwise than its log, is refused as damaged.
func TestOpenChecksPendingCommits(t *testing.T) {
	good := pendingFile(t)
	r, err := Check(good, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Checkpoint != 20 || r.LastCommit != 25 || r.Rows != 2000 {
		t.Fatalf("report: %+v", r)
	}
	cases := []damage{
		{"pending record garbage", func(tx *bbolt.Tx) error { return tx.Bucket(bucketCommits).Put(u64(23), []byte{3, 9}) },
			"commit 23"},
		{"checkpoint moved back past the log", func(tx *bbolt.Tx) error { return writeMeta(tx.Bucket(bucketMeta), fileMeta{formatVersion, 25, 2, 25}) },
			"commit 3 is missing from the commit log, which must hold every commit after 2"},
		{"audit_at moved back past the log", func(tx *bbolt.Tx) error { return writeMeta(tx.Bucket(bucketMeta), fileMeta{formatVersion, 25, 20, 3}) },
			"commit 4 is missing from the commit log, which must hold every commit after 3"},
		{"audit_at past the last commit", func(tx *bbolt.Tx) error { return writeMeta(tx.Bucket(bucketMeta), fileMeta{formatVersion, 25, 20, 27}) },
			"audit_at 27 is past the last commit 25"},
		{"checkpoint past the last commit", func(tx *bbolt.Tx) error { return writeMeta(tx.Bucket(bucketMeta), fileMeta{formatVersion, 25, 26, 25}) },
			"checkpoint 26 is past the last commit 25"},
		{"checkpoint lost", func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Delete(metaCheckpoint) },
			"missing or malformed checkpoint"},
		{"audit_at lost", func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Delete(metaAuditAt) },
			"missing or malformed audit_at"},
		{"row not what the checkpoint wrote", func(tx *bbolt.Tx) error { return tx.Bucket(bucketRows).Put([]byte(rowKey(1901)), []byte("x")) },
			"not what the checkpoint commit (20) wrote"},
	}
	refuseEach(t, good, cases)
	s := openTest(t, good, BoltOptions{})
	got := map[string]string{}
	for _, r := range loadAll(t, s) {
		got[r.Key] = string(r.Value)
	}
	if len(got) != 2000 || got[rowKey(21)] != "changed" || got[rowKey(5025)] != "new" {
		t.Fatalf("Load after reopening: %d rows, %q = %q, %q = %q", len(got), rowKey(21), got[rowKey(21)], rowKey(5025), got[rowKey(5025)])
	}
	if _, ok := got[rowKey(121)]; ok {
		t.Fatalf("row %q deleted by commit 21 is loaded", rowKey(121))
	}
}

// TestFormatOneIsUpgraded: a file written before rows were deferred
// (format 1, no checkpoint key) opens with its rows as they are, is not
// written by opening, and becomes format 2 with its first Apply, so a
// binary that knows only format 1 refuses it from then on.
func TestFormatOneIsUpgraded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	s := openTest(t, path, BoltOptions{Retention: 1}) // checkpoints every commit
	mustApply(t, s, &Commit{ID: 1, Changes: []RowChange{put("/a", "1")}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	editFile(t, path, func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		for _, k := range [][]byte{metaCheckpoint, metaAuditAt} {
			if err := meta.Delete(k); err != nil {
				return err
			}
		}
		return meta.Put(metaFormat, u64(formatRowsWithCommit))
	})
	before := fileHash(t, path)
	s = openTest(t, path, BoltOptions{})
	wantRows(t, loadAll(t, s), row{"/a", []byte("1")})
	if m := meta(t, s); m.format != formatRowsWithCommit || m.checkpoint != 1 {
		t.Fatalf("format 1 file read as %+v", m)
	}
	if fileHash(t, path) != before {
		t.Fatal("opening a format 1 file wrote to it")
	}
	mustApply(t, s, &Commit{ID: 2, Changes: []RowChange{put("/b", "2")}})
	if m := meta(t, s); m.format != formatVersion || m.checkpoint != 1 || m.last != 2 {
		t.Fatalf("after the first Apply: %+v, want format %d, checkpoint 1, last 2", m, formatVersion)
	}
	wantRows(t, loadAll(t, s), row{"/a", []byte("1")}, row{"/b", []byte("2")})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Check(path, CheckOptions{Full: true})
	if err != nil || r.Checkpoint != 1 || r.LastCommit != 2 {
		t.Fatalf("check after the upgrade: %+v, %v", r, err)
	}
}

// TestRowsWrittenAgainAreSkipped: commits that keep changing the same
// rows, spread over the store, write their log records and not the rows,
// which a later commit in the window writes again. Without the skip each
// commit would rewrite a leaf page per row (about 100 here).
func TestRowsWrittenAgainAreSkipped(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "data.db"), BoltOptions{NoSync: true})
	var fill []RowChange
	for i := range 5000 {
		fill = append(fill, RowChange{Key: rowKey(i), New: rowValue(i, 200)})
	}
	mustApply(t, s, &Commit{ID: 1, Changes: fill})
	again := func(id uint64) *Commit {
		c := &Commit{ID: id}
		for i := range 100 {
			c.Changes = append(c.Changes, RowChange{Key: rowKey(i * 50), New: rowValue(int(id)+i, 200)})
		}
		return c
	}
	for id := uint64(2); id <= 2*windowCommits; id++ {
		mustApply(t, s, again(id))
	}
	before := pageWrites(s)
	const commits = 100
	for range commits {
		mustApply(t, s, again(s.LastCommitID()+1))
	}
	if perCommit := float64(pageWrites(s)-before) / commits; perCommit > 20 {
		t.Fatalf("%.1f page writes per commit, want the log's few", perCommit)
	}
}

// TestAuditWaitingShowsAsStored runs random Applies (commits with and
// without audit entries, of random sizes), refused Sets' entries and
// reopenings after a crash against two stores: one whose entries wait in
// their commits' records, and one that stores every entry with its commit
// as before. Both must show the same audit log, sequence numbers and
// retention included (a count retention under 16 is exact, and the byte
// bound keeps the newest entries that fit, whenever it is applied).
func TestAuditWaitingShowsAsStored(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 5))
	opts := BoltOptions{NoSync: true, AuditRetention: 12, AuditRetentionBytes: 3000}
	got := openTest(t, filepath.Join(t.TempDir(), "waiting.db"), opts)
	ref := openTest(t, filepath.Join(t.TempDir(), "stored.db"), opts)
	ref.windowCommits = 1
	ctx := context.Background()
	var id uint64
	entry := func() []byte { return fmt.Appendf(nil, "%d:%s", id, strings.Repeat("e", rnd.IntN(400))) }
	waited := false
	for round := range 400 {
		if rnd.IntN(8) == 0 {
			e := [][]byte{entry()}
			for _, s := range []*Bolt{got, ref} {
				if err := s.AppendAudit(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
		} else {
			var batch []*Commit
			for range 1 + rnd.IntN(3) {
				id++
				c := &Commit{ID: id, Changes: []RowChange{put(fmt.Sprintf("/k%d", rnd.IntN(50)), "v")}}
				if rnd.IntN(4) != 0 {
					c.Audit = entry()
				}
				batch = append(batch, c)
			}
			mustApply(t, got, batch...)
			mustApply(t, ref, batch...)
		}
		waited = waited || len(got.auditWaiting) > 0
		want := fmt.Sprint(auditOf(t, ref))
		if a := fmt.Sprint(auditOf(t, got)); a != want {
			t.Fatalf("round %d: audit log\n got %.300s\nwant %.300s", round, a, want)
		}
		if round%40 == 0 {
			crashed := snapshot(t, got, opts)
			if a := fmt.Sprint(auditOf(t, crashed)); a != want {
				t.Fatalf("round %d, after a crash: audit log\n got %.300s\nwant %.300s", round, a, want)
			}
			if fmt.Sprintf("%q", crashed.auditWaiting) != fmt.Sprintf("%q", got.auditWaiting) {
				t.Fatalf("round %d: reopened with %d entries waiting, the store had %d", round, len(crashed.auditWaiting), len(got.auditWaiting))
			}
		}
	}
	if !waited || got.auditAt == 0 {
		t.Fatalf("entries waited %v, audit_at %d: the test covers neither path alone", waited, got.auditAt)
	}
}

// auditOf is the store's audit log as "seq:entry" strings.
func auditOf(t *testing.T, s *Bolt) []string {
	t.Helper()
	var out []string
	if err := s.Audit(context.Background(), func(seq uint64, e []byte) error {
		out = append(out, fmt.Sprintf("%d:%s", seq, e))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}
