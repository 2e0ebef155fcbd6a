// Package storetest is the conformance test every store.Store backend
// passes (bbolt, etcd): the semantics the datastore relies on, written
// once, so a second backend cannot drift from the first.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/netready/netready/server/store"
)

// Options are the bounds a test opens a store with (0: the default).
type Options struct {
	Retention           int
	AuditRetention      int
	AuditRetentionBytes int64
}

// Open opens (creating if needed) the datastore called name with o; a
// second Open of the same name in the same test sees what the first
// wrote. The opener closes the store when the test ends.
type Open func(t *testing.T, name string, o Options) store.Store

// Run runs the conformance tests as subtests of t.
func Run(t *testing.T, open Open) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Open)
	}{
		{"ApplyLoadReopen", applyLoadReopen},
		{"RejectsBadBatches", rejectsBadBatches},
		{"Retention", retention},
		{"CommitsRoundTrip", commitsRoundTrip},
		{"Audit", audit},
		{"AuditBytes", auditBytes},
		{"State", state},
		{"Closed", closed},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

type row struct {
	Key   string
	Value []byte
}

func loadAll(t *testing.T, s store.Store) []row {
	t.Helper()
	var rows []row
	if err := s.Load(context.Background(), func(k string, v []byte) error {
		rows = append(rows, row{k, v})
		return nil
	}); err != nil {
		t.Fatalf("Load: %v", err)
	}
	return rows
}

func wantRows(t *testing.T, got []row, want ...row) {
	t.Helper()
	if len(want) == 0 {
		want = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows:\n got %q\nwant %q", got, want)
	}
}

func commitIDs(t *testing.T, s store.Store, from, to uint64) []uint64 {
	t.Helper()
	ids := []uint64{}
	if err := s.Commits(context.Background(), from, to, func(c *store.Commit) error {
		ids = append(ids, c.ID)
		return nil
	}); err != nil {
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

func put(key, val string) store.RowChange { return store.RowChange{Key: key, New: []byte(val)} }

func mustApply(t *testing.T, s store.Store, commits ...*store.Commit) {
	t.Helper()
	if err := s.Apply(context.Background(), commits); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

// applyLoadReopen: puts, deletes, a later change to a key in the same
// batch winning, nil and empty kept apart, durability across a reopen.
func applyLoadReopen(t *testing.T, open Open) {
	s := open(t, "data", Options{})
	if got := s.LastCommitID(); got != 0 {
		t.Fatalf("new store LastCommitID = %d, want 0", got)
	}
	wantRows(t, loadAll(t, s))
	mustApply(t, s, &store.Commit{ID: 1, Changes: []store.RowChange{put("/c", "3"), put("/a", "1"), put("/b", "2"), {Key: "/empty", New: []byte{}}}})
	mustApply(t, s, &store.Commit{ID: 2, Changes: []store.RowChange{{Key: "/b", Old: []byte("2")}, put("/a", "1bis")}})
	mustApply(t, s,
		&store.Commit{ID: 3, Changes: []store.RowChange{put("/x", "first"), put("/y", "tmp")}},
		&store.Commit{ID: 4, Changes: []store.RowChange{put("/x", "second"), {Key: "/y"}, {Key: "/never"}}},
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
	if err := s.Apply(context.Background(), nil); err != nil {
		t.Fatalf("empty Apply: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = open(t, "data", Options{})
	if got := s.LastCommitID(); got != 4 {
		t.Fatalf("after reopen LastCommitID = %d, want 4", got)
	}
	wantRows(t, loadAll(t, s), want...)
	if ids := commitIDs(t, s, 0, 0); !reflect.DeepEqual(ids, seq(1, 4)) {
		t.Fatalf("after reopen commits = %v", ids)
	}
	mustApply(t, s, &store.Commit{ID: 5, Changes: []store.RowChange{put("/z", "5")}})
}

// rejectsBadBatches: gaps, repeats, nil commits and empty keys fail
// before anything is written, and the store goes on from where it was.
func rejectsBadBatches(t *testing.T, open Open) {
	s := open(t, "data", Options{})
	mustApply(t, s, &store.Commit{ID: 1, Changes: []store.RowChange{put("/a", "1")}})
	bad := map[string][]*store.Commit{
		"gap":                  {{ID: 3}},
		"repeat":               {{ID: 1}},
		"zero":                 {{ID: 0}},
		"non-increasing batch": {{ID: 2}, {ID: 2}},
		"gap inside batch":     {{ID: 2}, {ID: 4}},
		"nil commit":           {{ID: 2}, nil},
		"empty key":            {{ID: 2, Changes: []store.RowChange{{Key: "", New: []byte("v")}}}},
		"empty state key":      {{ID: 2, State: map[string][]byte{"": []byte("v")}}},
	}
	for name, batch := range bad {
		for _, c := range batch {
			if c != nil && len(c.Changes) == 0 {
				c.Changes = []store.RowChange{put("/bad/"+name, "x")}
			}
		}
		if err := s.Apply(context.Background(), batch); err == nil {
			t.Fatalf("%s: Apply succeeded, want error", name)
		}
	}
	if got := s.LastCommitID(); got != 1 {
		t.Fatalf("LastCommitID = %d, want 1", got)
	}
	wantRows(t, loadAll(t, s), row{"/a", []byte("1")})
	if ids := commitIDs(t, s, 0, 0); !reflect.DeepEqual(ids, []uint64{1}) {
		t.Fatalf("commits = %v, want [1]", ids)
	}
	mustApply(t, s, &store.Commit{ID: 2, Changes: []store.RowChange{put("/b", "2")}})
	wantRows(t, loadAll(t, s), row{"/a", []byte("1")}, row{"/b", []byte("2")})
}

// retention: the log keeps the newest Retention records, a batch longer
// than the retention included, and pruning leaves rows alone; a lower
// retention takes effect at the next Apply.
func retention(t *testing.T, open Open) {
	s := open(t, "data", Options{Retention: 5})
	var id uint64
	next := func() *store.Commit {
		id++
		return &store.Commit{ID: id, Summary: fmt.Sprint("commit ", id), Changes: []store.RowChange{put(fmt.Sprintf("/r%02d", id), fmt.Sprint(id))}}
	}
	for range 7 {
		mustApply(t, s, next())
	}
	if ids := commitIDs(t, s, 0, 0); !reflect.DeepEqual(ids, seq(3, 7)) {
		t.Fatalf("after 7 commits: %v, want 3..7", ids)
	}
	mustApply(t, s, next(), next(), next(), next(), next(), next()) // 8..13 in one batch
	if ids := commitIDs(t, s, 0, 0); !reflect.DeepEqual(ids, seq(9, 13)) {
		t.Fatalf("after 13 commits: %v, want 9..13", ids)
	}
	if ids := commitIDs(t, s, 1, 10); !reflect.DeepEqual(ids, []uint64{9, 10}) {
		t.Fatalf("range over pruned ids: %v, want [9 10]", ids)
	}
	if rows := loadAll(t, s); len(rows) != 13 || rows[0].Key != "/r01" || string(rows[12].Value) != "13" {
		t.Fatalf("rows after pruning: %q", rows)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, "data", Options{Retention: 2})
	mustApply(t, s, next())
	if ids := commitIDs(t, s, 0, 0); !reflect.DeepEqual(ids, seq(13, 14)) {
		t.Fatalf("after lowering retention: %v, want [13 14]", ids)
	}
}

// commitsRoundTrip: records come back field for field, by range.
func commitsRoundTrip(t *testing.T, open Open) {
	s := open(t, "data", Options{})
	base := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)
	var all []*store.Commit
	for i := uint64(1); i <= 10; i++ {
		c := &store.Commit{
			ID: i, Time: base.Add(time.Duration(i) * time.Second), User: fmt.Sprint("user", i),
			Peer: fmt.Sprintf("127.0.0.1:%d", 1000+i), Summary: fmt.Sprintf("update /t[name=%d]", i),
			Changes: []store.RowChange{
				{Key: fmt.Sprintf("/t[name=%d]", i), New: []byte(fmt.Sprint("v", i))},
				{Key: "/shared", Old: []byte{}, New: []byte{}},
				{Key: fmt.Sprintf("/gone%d", i), Old: []byte("was")},
			},
		}
		if i == 7 {
			c.Kind, c.Detail = "confirm", []byte("pending")
		}
		all = append(all, c)
	}
	mustApply(t, s, all[:4]...)
	mustApply(t, s, all[4:]...)
	for _, tc := range []struct {
		from, to uint64
		want     []uint64
	}{
		{0, 0, seq(1, 10)}, {3, 6, seq(3, 6)}, {8, 0, seq(8, 10)}, {5, 5, []uint64{5}},
		{6, 3, []uint64{}}, {11, 0, []uint64{}}, {9, 100, seq(9, 10)},
	} {
		if got := commitIDs(t, s, tc.from, tc.to); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Commits(%d, %d) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
	var got []*store.Commit
	if err := s.Commits(context.Background(), 0, 0, func(c *store.Commit) error {
		got = append(got, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, all) {
		t.Fatalf("records differ:\n got %+v\nwant %+v", got[6], all[6])
	}
	// An error from fn stops the scan and is returned wrapped.
	stop, n := errors.New("stop"), 0
	err := s.Commits(context.Background(), 0, 0, func(*store.Commit) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("fn error: err=%v after %d calls", err, n)
	}
}

func auditOf(t *testing.T, s store.Store) []string {
	t.Helper()
	var got []string
	if err := s.Audit(context.Background(), func(seq uint64, e []byte) error {
		got = append(got, fmt.Sprintf("%d:%s", seq, e))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// audit: entries of commits and refused Sets share one log, in order,
// survive a reopen and are pruned to the retention; Commits does not
// return them.
func audit(t *testing.T, open Open) {
	o := Options{AuditRetention: 3}
	s := open(t, "data", o)
	ctx := context.Background()
	mustApply(t, s, &store.Commit{ID: 1, Audit: []byte("a1")}, &store.Commit{ID: 2})
	if err := s.AppendAudit(ctx, [][]byte{[]byte("denied"), []byte("d2")}); err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, &store.Commit{ID: 3, Audit: []byte("a3")})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, "data", o)
	if got, want := fmt.Sprint(auditOf(t, s)), "[2:denied 3:d2 4:a3]"; got != want {
		t.Fatalf("audit %v, want %s", got, want)
	}
	// The entries are the audit log's: the commit log does not repeat
	// them, whichever backend (a migration compares the two).
	if err := s.Commits(ctx, 0, 0, func(c *store.Commit) error {
		if c.Audit != nil {
			return fmt.Errorf("commit %d comes back with its audit entry %q", c.ID, c.Audit)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// auditBytes: the log keeps the newest entries that fit its byte bound,
// and an entry over the bound alone (the newest always stays).
func auditBytes(t *testing.T, open Open) {
	s := open(t, "data", Options{AuditRetention: 1000, AuditRetentionBytes: 1000})
	ctx := context.Background()
	entry := func(i int) []byte { return fmt.Appendf(nil, "%03d%s", i, strings.Repeat("x", 297)) }
	for i := 1; i <= 40; i++ {
		var err error
		if i%2 == 0 {
			err = s.Apply(ctx, []*store.Commit{{ID: uint64(i / 2), Audit: entry(i)}})
		} else {
			err = s.AppendAudit(ctx, [][]byte{entry(i)})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	got := auditOf(t, s)
	if len(got) != 3 || !strings.HasPrefix(got[0], "38:038") {
		t.Fatalf("kept %d entries starting %.6q, want the newest 3 (038..040)", len(got), got)
	}
	if err := s.AppendAudit(ctx, [][]byte{[]byte("041" + strings.Repeat("y", 1200))}); err != nil {
		t.Fatal(err)
	}
	if got := auditOf(t, s); len(got) != 1 || !strings.HasPrefix(got[0], "41:041") {
		t.Fatalf("after a large entry: %d entries, want only 041", len(got))
	}
}

// state: the newest value per key, deletes, a failed batch changing
// nothing, durability across a reopen.
func state(t *testing.T, open Open) {
	s := open(t, "data", Options{})
	ctx := context.Background()
	get := func(key string) string { // one key, read through a prefix scan
		t.Helper()
		got := "<nil>"
		err := s.State(ctx, key, func(k string, v []byte) error {
			if k == key {
				got = string(v)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := get("k"); got != "<nil>" {
		t.Fatalf("new store: %q", got)
	}
	mustApply(t, s,
		&store.Commit{ID: 1, State: map[string][]byte{"k": []byte("one"), "other": []byte("x")}},
		&store.Commit{ID: 2, State: map[string][]byte{"k": []byte("two")}},
	)
	if got := get("k"); got != "two" {
		t.Errorf("k = %q, want the newest commit's", got)
	}
	err := s.Apply(ctx, []*store.Commit{{ID: 3, State: map[string][]byte{"k": []byte("three")}}, {ID: 9}})
	if err == nil || get("k") != "two" {
		t.Errorf("bad batch: err %v, k = %q", err, get("k"))
	}
	mustApply(t, s, &store.Commit{ID: 3, State: map[string][]byte{"other": nil}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, "data", Options{})
	if got := get("k"); got != "two" {
		t.Errorf("after reopen k = %q", got)
	}
	if got := get("other"); got != "<nil>" {
		t.Errorf("deleted key reads %q", got)
	}
	// A scan sees exactly the keys under its prefix, in key order.
	mustApply(t, s, &store.Commit{ID: 4, State: map[string][]byte{"p/b": []byte("2"), "p/a": []byte("1"), "p": []byte("0"), "q/a": []byte("3")}})
	var seen []string
	if err := s.State(ctx, "p/", func(k string, v []byte) error {
		seen = append(seen, k+"="+string(v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(seen, " "); got != "p/a=1 p/b=2" {
		t.Errorf("scan of p/: %s", got)
	}
}

// closed: after Close every operation says store.ErrClosed.
func closed(t *testing.T, open Open) {
	s := open(t, "data", Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Apply(ctx, []*store.Commit{{ID: 1}}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Apply after Close: %v", err)
	}
	if err := s.Load(ctx, func(string, []byte) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Load after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
