package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestBackupWhileApplying takes a backup while another goroutine keeps
// committing: the copy is sound, holds every commit durable before the
// backup began, and exactly the commits up to the one it announces.
func TestBackupWhileApplying(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "live.db"), BoltOptions{NoSync: true})
	ctx := context.Background()
	apply := func() {
		id := s.LastCommitID() + 1
		mustApply(t, s, &Commit{ID: id, Changes: []RowChange{{Key: rowKey(int(id)), New: rowValue(int(id), 300)}}})
	}
	for range 500 {
		apply()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				if err := s.Apply(ctx, []*Commit{{ID: s.LastCommitID() + 1, Changes: []RowChange{put("/busy", "x")}}}); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	before := s.LastCommitID()
	var buf bytes.Buffer
	var commit uint64
	var size int64
	err := s.Backup(&buf, func(c uint64, n int64) error { commit, size = c, n; return nil })
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if commit < before || int64(buf.Len()) != size {
		t.Fatalf("backup of commit %d (%d before it began), %d bytes announced, %d written", commit, before, size, buf.Len())
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Check(path, CheckOptions{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.LastCommit != commit {
		t.Fatalf("backup holds commit %d, announced %d", r.LastCommit, commit)
	}
	b := openTest(t, path, BoltOptions{})
	rows := map[string][]byte{}
	for _, r := range loadAll(t, b) {
		rows[r.Key] = r.Value
	}
	for id := 1; id <= 500; id++ {
		if !bytes.Equal(rows[rowKey(id)], rowValue(id, 300)) {
			t.Fatalf("row %d missing from the backup", id)
		}
	}
	if b.LastCommitID() != commit || (commit > 500) != (rows["/busy"] != nil) {
		t.Fatalf("backup opens at commit %d (announced %d), /busy %q", b.LastCommitID(), commit, rows["/busy"])
	}
}
