package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

// TestSizes checks the log counts against what was written and pruned,
// and that a closed store says so instead of reporting zeros.
func TestSizes(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "db"), BoltOptions{NoSync: true, Retention: 5, AuditRetention: 4})
	ctx := context.Background()
	if got, err := s.Sizes(); err != nil || got.CommitLog != 0 || got.Audit != 0 || got.FileBytes <= 0 {
		t.Fatalf("new store: %+v, %v; want empty logs and a file", got, err)
	}
	for id := uint64(1); id <= 7; id++ {
		mustApply(t, s, &Commit{ID: id, Audit: []byte("a"), Changes: []RowChange{put(fmt.Sprint("/r", id), "v")}})
	}
	if err := s.AppendAudit(ctx, [][]byte{[]byte("refused")}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Sizes()
	if err != nil {
		t.Fatal(err)
	}
	if got.CommitLog != 5 || got.Audit != 4 {
		t.Fatalf("sizes %+v, want 5 commits (retention) and 4 audit entries (retention)", got)
	}
	mustApply(t, s, &Commit{ID: 8})
	if got, _ := s.Sizes(); got.CommitLog != 5 {
		t.Fatalf("after pruning: %+v, want 5 commits", got)
	}
	s.Close()
	if _, err := s.Sizes(); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed store: %v, want ErrClosed", err)
	}
}
