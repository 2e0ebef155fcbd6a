package confirm

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/tree"
)

// TestGateSteps drives the Gate as the writer does: a batch whose store
// write failed leaves no pending commit behind, a stored one does, and a
// cancel restores the configuration from before the pending commit.
func TestGateSteps(t *testing.T) {
	m := &Manager{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	m.ctx, m.stop = context.WithCancel(context.Background())
	defer m.Close()
	begin := func() *datastore.Request {
		return &datastore.Request{Kind: KindRequest, Action: &Action{Step: Begin, ID: "a", Duration: time.Hour}}
	}
	code := tree.KindOf

	// Not stored: as if nothing happened.
	if err := m.Admit(begin()); err != nil {
		t.Fatal(err)
	}
	if m.Accepted(begin(), 5, time.Now()) == nil {
		t.Fatal("a commit request records nothing in its log record")
	}
	if err := m.Admit(&datastore.Request{}); code(err) != tree.KindConflict {
		t.Fatalf("a plain Set after a request in the same batch: %v, want FailedPrecondition", err)
	}
	m.Done(false)
	if err := m.Admit(&datastore.Request{}); err != nil {
		t.Fatalf("after a batch that was not stored: %v", err)
	}

	// Stored: pending, with its timer.
	m.Accepted(begin(), 5, time.Now())
	m.Done(true)
	if m.armed == nil || m.armed.Commit != 5 {
		t.Fatalf("timer set for %v, want commit 5", m.armed)
	}
	if err := m.Admit(&datastore.Request{Action: &Action{Step: Confirm, ID: "b"}}); code(err) != tree.KindInvalid {
		t.Fatalf("confirm with another id: %v", err)
	}
	cancel := &datastore.Request{Action: &Action{Step: Cancel, ID: "a"}}
	if err := m.Admit(cancel); err != nil {
		t.Fatal(err)
	}
	if cancel.Restore == nil || cancel.Restore.To != 4 {
		t.Fatalf("cancel restores %v, want commit 4", cancel.Restore)
	}
	if m.Accepted(cancel, 6, time.Now()) != nil {
		t.Fatal("a cancel records a pending commit")
	}
	m.Done(true)
	if m.armed != nil || m.durable != nil {
		t.Fatalf("still pending after the cancel: %v", m.durable)
	}
	// A timer overtaken by the cancel is refused.
	if err := m.Admit(&datastore.Request{Action: &Action{Step: expire, ID: "a"}}); err != errStale {
		t.Fatalf("stale timer: %v", err)
	}
}
