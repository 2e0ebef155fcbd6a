package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
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
			Audit: []byte(`{"id":9,"result":"accepted"}`),
		},
		{ID: 8, Audit: []byte{}},
		{ID: ^uint64(0), Time: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), User: "u", Changes: []RowChange{{Key: "k"}}},
		{ID: 7, Time: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
	}
}

// TestCommitRoundTrip checks encode/decode preserves every field, including
// nil versus empty Old/New, and that the zero Time comes back as zero.
func TestCommitRoundTrip(t *testing.T) {
	for i, c := range sampleCommits() {
		enc := encodeRecord(nil, c, true)
		got, err := decodeCommit(enc)
		if err != nil {
			t.Fatalf("commit %d: decode: %v", i, err)
		}
		if c.Audit != nil && (enc[0] != commitRecordV4 || got.Audit == nil) {
			t.Fatalf("commit %d: audit entry not kept in a version 4 record (version %d)", i, enc[0])
		}
		// Without the audit entry: version 3, as every backend shares.
		if plain, err := decodeCommit(encodeCommit(nil, c)); err != nil || plain.Audit != nil {
			t.Fatalf("commit %d: record without the audit entry: %v, audit %q", i, err, plain.Audit)
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
		{"unknown version", []byte{5, 0, 0, 0, 0, 0, 0, 0}, "unknown record version 5"},
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
		enc := encodeRecord(nil, c, true)
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
		again, err := decodeCommit(encodeRecord(nil, c, true))
		if err != nil {
			t.Fatalf("re-encoded commit does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("re-encode mismatch\n got %#v\nwant %#v", again, c)
		}
	})
}

// TestCommitKindVersions checks commits with and without a Kind are
// written as version 3 records and round-trip (Detail only with a Kind).
func TestCommitKindVersions(t *testing.T) {
	plain := encodeCommit(nil, &Commit{ID: 1, Summary: "s"})
	if plain[0] != commitRecordV3 {
		t.Fatalf("plain commit written as version %d, want 3", plain[0])
	}
	c := &Commit{ID: 2, Summary: "s", Kind: "confirm", Detail: []byte(`{"id":"x"}`), Changes: []RowChange{{Key: "k", New: []byte("v")}}}
	enc := encodeCommit(nil, c)
	if enc[0] != commitRecordV3 {
		t.Fatalf("commit with a kind written as version %d, want 3", enc[0])
	}
	got, err := decodeCommit(enc)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	if _, err := decodeCommit(enc[:len(enc)-1]); !errors.Is(err, errCorrupt) {
		t.Fatalf("truncated record: %v, want corrupt", err)
	}
}

// portCommit is shaped like a Set changing the mtu of n ports: rows in
// key order, each new value its old one with another mtu.
func portCommit(n int) *Commit {
	c := &Commit{ID: 7, Time: time.Unix(1_800_000_000, 5).UTC(), User: "admin", Peer: "127.0.0.1:40000", Summary: "update /tenants/tenant[name=load0]/ports"}
	row := func(i, mtu int) []byte {
		return fmt.Appendf(nil, `{"name":"p%d","host":"host-a","mac-address":"02:00:00:00:%02x:%02x","mtu":%d}`, i, i>>8&0xff, i&0xff, mtu)
	}
	for i := range n {
		c.Changes = append(c.Changes, RowChange{
			Key: fmt.Sprintf("/tenants/tenant[name=load0]/ports/port[name=p%d]", i),
			Old: row(i, 9000), New: row(i, 2000),
		})
	}
	slices.SortFunc(c.Changes, func(a, b RowChange) int { return strings.Compare(a.Key, b.Key) })
	return c
}

// TestRecordBytesPerRow: the record of a 1,000-port mtu Set costs what
// the old values and the changes take, not each key and both values in
// full (version 1: 200 bytes per row, of which 50 the key and 75 each
// value).
func TestRecordBytesPerRow(t *testing.T) {
	c := portCommit(1000)
	enc := encodeCommit(nil, c)
	perRow := float64(len(enc)) / float64(len(c.Changes))
	t.Logf("%d bytes, %.1f per row", len(enc), perRow)
	if perRow > 100 {
		t.Errorf("record is %d bytes, %.0f per row: want <= 100", len(enc), perRow)
	}
	got, err := decodeCommit(enc)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip: %v", err)
	}
}

// TestRoundTripRandom: random commits, with keys and values sharing
// prefixes and suffixes in every proportion, nil and empty among them,
// read back as written.
func TestRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() []byte {
		if rng.IntN(8) == 0 {
			return nil
		}
		parts := []string{"", "a", "ab", "abc", "{\"x\":", "1", "22", "}", "ü"}
		var b []byte
		for range rng.IntN(6) {
			b = append(b, parts[rng.IntN(len(parts))]...)
		}
		if b == nil {
			b = []byte{}
		}
		return b
	}
	for i := range 5000 {
		c := &Commit{ID: uint64(i), Summary: "s"}
		for range rng.IntN(6) {
			c.Changes = append(c.Changes, RowChange{Key: "/" + string(pick()), Old: pick(), New: pick()})
		}
		if i%7 == 0 {
			c.Kind, c.Detail = "confirm", pick()
		}
		got, err := decodeCommit(encodeCommit(nil, c))
		if err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("commit %d:\n got %#v\nwant %#v", i, got, c)
		}
		for j := range c.Changes {
			if (got.Changes[j].Old == nil) != (c.Changes[j].Old == nil) || (got.Changes[j].New == nil) != (c.Changes[j].New == nil) {
				t.Fatalf("commit %d change %d: nil/empty not preserved", i, j)
			}
		}
	}
}

// TestDecodeCorruptV3 checks the version 3 change codings refuse what
// they cannot have written.
func TestDecodeCorruptV3(t *testing.T) {
	// Header: version 3, id 1, time 0.0, user, peer, summary, kind empty.
	hdr := []byte{3, 1, 0, 0, 0, 0, 0, 0}
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"key shares more than the previous key", append(hdr, 1, 2, 1, 'k', 0, 0), "change key shares 2 bytes with a 0-byte key"},
		{"new from a nil old", append(hdr, 1, 0, 1, 'k', 0, 2, 0, 0, 0), "takes 0+0 bytes of a 0-byte old value"},
		{"new takes more than old", append(hdr, 1, 0, 1, 'k', 3, 'a', 'b', 2, 2, 1, 0), "takes 2+1 bytes of a 2-byte old value"},
		{"unknown new coding", append(hdr, 1, 0, 1, 'k', 0, 3), "change new value coded 3"},
	}
	for _, tc := range cases {
		c, err := decodeCommit(tc.in)
		if !errors.Is(err, errCorrupt) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got (%+v, %v), want errCorrupt containing %q", tc.name, c, err, tc.want)
		}
	}
	ok := append(hdr, 2, 0, 2, 'a', 'b', 0, 1, 0, 1, 1, 'c', 3, 'x', 'y', 2, 1, 1, 0)
	c, err := decodeCommit(ok)
	if err != nil {
		t.Fatal(err)
	}
	want := []RowChange{{Key: "ab", New: []byte{}}, {Key: "ac", Old: []byte("xy"), New: []byte("xy")}}
	if !reflect.DeepEqual(c.Changes, want) {
		t.Fatalf("decoded %q, want %q", c.Changes, want)
	}
}
