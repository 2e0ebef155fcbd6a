package store

import (
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleCommits() []*Commit {
	return []*Commit{
		{},
		{ID: 1, Time: time.Unix(0, 0).UTC()},
		{
			ID:      42,
			Time:    time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.UTC),
			User:    "alice",
			Peer:    "127.0.0.1:5555",
			Summary: "update /tenants/tenant[name=blue]",
			Changes: []RowChange{
				{Key: "/tenants/tenant[name=blue]", Old: nil, New: []byte("created")},
				{Key: "/tenants/tenant[name=blue]/ports/port[name=g1]", Old: []byte{}, New: nil},
				{Key: "/a", Old: []byte("x"), New: []byte{}},
				{Key: "/b", Old: nil, New: nil},
				{Key: "/ünïcode", Old: []byte{0, 1, 2, 255}, New: []byte(strings.Repeat("v", 300))},
			},
		},
		{ID: ^uint64(0), Time: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), User: "u", Changes: []RowChange{{Key: "k"}}},
		{ID: 7, Time: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
	}
}

// TestCommitRoundTrip checks encode/decode preserves every field, including
// nil versus empty Old/New, and that the zero Time comes back as zero.
func TestCommitRoundTrip(t *testing.T) {
	for i, c := range sampleCommits() {
		enc := encodeCommit(nil, c)
		got, err := decodeCommit(enc)
		if err != nil {
			t.Fatalf("commit %d: decode: %v", i, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("commit %d: round trip mismatch\n got %#v\nwant %#v", i, got, c)
		}
		for j := range c.Changes {
			if (got.Changes[j].Old == nil) != (c.Changes[j].Old == nil) || (got.Changes[j].New == nil) != (c.Changes[j].New == nil) {
				t.Fatalf("commit %d change %d: nil/empty not preserved", i, j)
			}
		}
	}
	// Zero time must decode as the zero time, not just an equal instant.
	got, err := decodeCommit(encodeCommit(nil, &Commit{ID: 3}))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Time.IsZero() || got.Time != (time.Time{}) {
		t.Fatalf("zero time decoded as %v", got.Time)
	}
	// A local time comes back as the same instant in UTC.
	local := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600))
	got, err = decodeCommit(encodeCommit(nil, &Commit{Time: local}))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Time.Equal(local) || got.Time.Location() != time.UTC {
		t.Fatalf("time %v decoded as %v", local, got.Time)
	}
}

// TestDecodeDoesNotAlias checks decoded byte fields do not point into the
// input, which in production is bbolt's mmap.
func TestDecodeDoesNotAlias(t *testing.T) {
	c := &Commit{ID: 1, Changes: []RowChange{{Key: "k", Old: []byte("old"), New: []byte("new")}}}
	enc := encodeCommit(nil, c)
	got, err := decodeCommit(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range enc {
		enc[i] = 0xff
	}
	if string(got.Changes[0].Old) != "old" || string(got.Changes[0].New) != "new" {
		t.Fatalf("decoded values changed with input: %q %q", got.Changes[0].Old, got.Changes[0].New)
	}
	// Appending to Old must not overwrite New (capacity is capped).
	_ = append(got.Changes[0].Old, 'X', 'X', 'X', 'X')
	if string(got.Changes[0].New) != "new" {
		t.Fatalf("append to Old clobbered New: %q", got.Changes[0].New)
	}
}

// TestDecodeCorrupt checks every truncation and some hand-made corruptions
// are reported as errors wrapping errCorrupt.
func TestDecodeCorrupt(t *testing.T) {
	full := encodeCommit(nil, sampleCommits()[2])
	for n := 0; n < len(full); n++ {
		if _, err := decodeCommit(full[:n]); !errors.Is(err, errCorrupt) {
			t.Fatalf("truncated to %d of %d bytes: err = %v, want errCorrupt", n, len(full), err)
		}
	}
	nanos := binary.AppendUvarint([]byte{1, 1, 0}, 1e9)
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"unknown version", []byte{3, 0, 0, 0, 0, 0, 0, 0}, "unknown record version 3"},
		{"trailing bytes", append(encodeCommit(nil, &Commit{ID: 1}), 0), "1 trailing bytes"},
		{"nanos too large", append(nanos, 0, 0, 0, 0), "nanoseconds 1000000000 out of range"},
		{"varint overflow", []byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, "id overflows"},
		{"huge count", []byte{1, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, "change count 4294967295 exceeds"},
		{"huge length", []byte{1, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "user length 18446744073709551615 exceeds"},
		{"opt len past end", []byte{1, 1, 0, 0, 0, 0, 0, 1, 1, 'k', 5, 'a'}, "change old value length 4 exceeds remaining 1"},
	}
	for _, tc := range cases {
		c, err := decodeCommit(tc.in)
		if !errors.Is(err, errCorrupt) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got (%v, %v), want errCorrupt containing %q", tc.name, c, err, tc.want)
		}
	}
}

// FuzzDecodeCommit checks the decoder never panics, and that whatever it
// accepts re-encodes to a record that decodes to the same commit.
func FuzzDecodeCommit(f *testing.F) {
	for _, c := range sampleCommits() {
		enc := encodeCommit(nil, c)
		f.Add(enc)
		f.Add(enc[:len(enc)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeCommit(data)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error does not wrap errCorrupt: %v", err)
			}
			return
		}
		again, err := decodeCommit(encodeCommit(nil, c))
		if err != nil {
			t.Fatalf("re-encoded commit does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("re-encode mismatch\n got %#v\nwant %#v", again, c)
		}
	})
}

// TestCommitKindVersions checks a commit with a Kind round-trips as a
// version 2 record while a plain commit is still written as version 1
// (readable by binaries that know only version 1).
func TestCommitKindVersions(t *testing.T) {
	plain := encodeCommit(nil, &Commit{ID: 1, Summary: "s"})
	if plain[0] != commitRecordV1 {
		t.Fatalf("plain commit written as version %d, want 1", plain[0])
	}
	c := &Commit{ID: 2, Summary: "s", Kind: "confirm", Detail: []byte(`{"id":"x"}`), Changes: []RowChange{{Key: "k", New: []byte("v")}}}
	enc := encodeCommit(nil, c)
	if enc[0] != commitRecordV2 {
		t.Fatalf("commit with a kind written as version %d, want 2", enc[0])
	}
	got, err := decodeCommit(enc)
	if err != nil || got.Kind != "confirm" || string(got.Detail) != `{"id":"x"}` || got.Changes[0].Key != "k" {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	if _, err := decodeCommit(enc[:len(enc)-1]); !errors.Is(err, errCorrupt) {
		t.Fatalf("truncated kind: %v, want corrupt", err)
	}
}
