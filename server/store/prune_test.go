package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestPruneInChunks: at their retention, the commit log and the audit log
// are pruned once per pruneSlack commits, not in every batch, so a batch
// at steady state writes fewer pages; both keep between their retention
// and retention+pruneSlack records.
func TestPruneInChunks(t *testing.T) {
	const retention, batch, slack = 1600, 16, 100 // slack: pruneSlack(retention)
	s := openTest(t, filepath.Join(t.TempDir(), "db"), BoltOptions{NoSync: true, Retention: retention, AuditRetention: retention})
	ctx := context.Background()
	apply := func() {
		t.Helper()
		commits := make([]*Commit, batch)
		for i := range commits {
			id := s.LastCommitID() + 1 + uint64(i)
			key := fmt.Sprintf("/tenants/tenant[name=t]/ports/port[name=p%d]", id%64)
			commits[i] = &Commit{ID: id, Time: time.Unix(1700000000, 0), User: "admin", Peer: "127.0.0.1:5000",
				Summary: "update " + key + "/mtu",
				Changes: []RowChange{{Key: key, Old: []byte(`{"mtu":1500}`), New: fmt.Appendf(nil, `{"mtu":%d}`, 1500+id%1000)}},
				Audit:   fmt.Appendf(nil, `{"id":%d,"result":"accepted","user":"admin","operations":["update %s/mtu"]}`, id, key)}
		}
		if err := s.Apply(ctx, commits); err != nil {
			t.Fatal(err)
		}
	}
	for s.LastCommitID() < 2*retention { // past the retention and a first chunk
		apply()
	}
	const steady = 100 // batches: 1,600 commits, 16 chunks of 100
	writes, pruned := pageWrites(s), 0
	first := func() uint64 {
		var id uint64
		if err := s.Commits(ctx, 0, 0, func(c *Commit) error {
			id = c.ID
			return errStop
		}); err != nil && !errors.Is(err, errStop) {
			t.Fatal(err)
		}
		return id
	}
	oldest := first()
	for range steady {
		apply()
		sz, err := s.Sizes()
		if err != nil {
			t.Fatal(err)
		}
		for name, n := range map[string]uint64{"commit log": sz.CommitLog, "audit log": sz.Audit} {
			if n < retention || n > uint64(retention+slack) {
				t.Fatalf("%s holds %d records, want %d..%d", name, n, retention, retention+slack)
			}
		}
		if f := first(); f != oldest {
			pruned, oldest = pruned+1, f
		}
	}
	perCommit := float64(pageWrites(s)-writes) / (steady * batch)
	t.Logf("%d of %d batches pruned; %.2f page writes per commit", pruned, steady, perCommit)
	if want := steady*batch/slack + 1; pruned > want {
		t.Errorf("the log was pruned in %d of %d batches, want at most %d (once per %d commits)", pruned, steady, want, slack)
	}
	// Measured: 0.80 page writes per commit (12.8 per batch) when every
	// batch pruned both logs, 0.66 in chunks.
	if perCommit > 0.72 {
		t.Errorf("%.2f page writes per commit at the retention, want at most 0.72", perCommit)
	}
}

var errStop = errors.New("stop")
