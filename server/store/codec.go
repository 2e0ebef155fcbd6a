package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// commitRecordV1 is the version byte that starts every encoded commit record.
// Records carry their own version (separate from the file format version in
// the meta bucket) so the record layout can change while old records remain
// readable by the same file. Version 2 is version 1 followed by the
// commit's Kind and Detail; a commit without a Kind is still written as
// version 1, so plain commits stay readable by binaries that know only
// version 1.
const (
	commitRecordV1 = 1
	commitRecordV2 = 2
)

// errCorrupt is wrapped by every decode error so callers can recognise a bad
// record with errors.Is.
var errCorrupt = errors.New("corrupt commit record")

// Commit record layout, version 1 (all integers are encoding/binary varints):
//
//	byte     version (1)
//	uvarint  ID
//	varint   Time: seconds since the Unix epoch
//	uvarint  Time: nanoseconds within the second (< 1e9)
//	string   User
//	string   Peer
//	string   Summary
//	uvarint  number of changes, then per change:
//	  string   Key
//	  optbytes Old
//	  optbytes New
//	string   Kind (version 2 only)
//	optbytes Detail (version 2 only)
//
// string is uvarint length + bytes. optbytes is uvarint 0 for nil, or
// uvarint len+1 followed by len bytes, so nil (row absent) and empty (row
// present with an empty value) survive the round trip. Seconds+nanos rather
// than UnixNano because UnixNano is undefined for the zero Time and far dates.
// A hand-written format instead of JSON or gob: it is compact, allocation
// light, stable across Go releases and easy to bound when decoding untrusted
// (corrupt) bytes.

// encodeCommit appends the version 1 encoding of c to dst and returns it.
func encodeCommit(dst []byte, c *Commit) []byte {
	if n := encodedSize(c); cap(dst)-len(dst) < n {
		grown := make([]byte, len(dst), len(dst)+n)
		copy(grown, dst)
		dst = grown
	}
	version := byte(commitRecordV1)
	if c.Kind != "" {
		version = commitRecordV2
	}
	dst = append(dst, version)
	dst = binary.AppendUvarint(dst, c.ID)
	dst = binary.AppendVarint(dst, c.Time.Unix())
	dst = binary.AppendUvarint(dst, uint64(c.Time.Nanosecond()))
	dst = appendString(dst, c.User)
	dst = appendString(dst, c.Peer)
	dst = appendString(dst, c.Summary)
	dst = binary.AppendUvarint(dst, uint64(len(c.Changes)))
	for i := range c.Changes {
		ch := &c.Changes[i]
		dst = appendString(dst, ch.Key)
		dst = appendOptBytes(dst, ch.Old)
		dst = appendOptBytes(dst, ch.New)
	}
	if c.Kind != "" {
		dst = appendString(dst, c.Kind)
		dst = appendOptBytes(dst, c.Detail)
	}
	return dst
}

// encodedSize is an upper bound of the encoding's size, used to allocate the
// output once (large commits carry 100k rows).
func encodedSize(c *Commit) int {
	const maxVarint = binary.MaxVarintLen64
	n := 1 + 3*maxVarint + 3*maxVarint + len(c.User) + len(c.Peer) + len(c.Summary) + 3*maxVarint + len(c.Kind) + len(c.Detail)
	for i := range c.Changes {
		ch := &c.Changes[i]
		n += 3*maxVarint + len(ch.Key) + len(ch.Old) + len(ch.New)
	}
	return n
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendOptBytes(dst []byte, b []byte) []byte {
	if b == nil {
		return binary.AppendUvarint(dst, 0)
	}
	dst = binary.AppendUvarint(dst, uint64(len(b))+1)
	return append(dst, b...)
}

// decodeCommit decodes one commit record. It never panics: truncated,
// oversized or otherwise corrupt input returns an error wrapping errCorrupt.
//
// The result never aliases data (which may be bbolt's mmap, only valid inside
// its transaction): the input is copied once and byte fields are sub-slices
// of that private copy, capped so appending to one cannot clobber another.
func decodeCommit(data []byte) (*Commit, error) {
	d := decoder{buf: data}
	version, err := d.byte()
	if err != nil {
		return nil, err
	}
	if version != commitRecordV1 && version != commitRecordV2 {
		return nil, fmt.Errorf("%w: unknown record version %d", errCorrupt, version)
	}
	// Copy only after the cheap header checks, then keep decoding from the
	// copy so every byte slice handed out points into memory we own.
	own := make([]byte, len(d.buf))
	copy(own, d.buf)
	d.buf = own

	c := &Commit{}
	if c.ID, err = d.uvarint("id"); err != nil {
		return nil, err
	}
	sec, err := d.varint("time seconds")
	if err != nil {
		return nil, err
	}
	nsec, err := d.uvarint("time nanoseconds")
	if err != nil {
		return nil, err
	}
	if nsec >= 1e9 {
		return nil, fmt.Errorf("%w: time nanoseconds %d out of range", errCorrupt, nsec)
	}
	c.Time = time.Unix(sec, int64(nsec)).UTC()
	if c.User, err = d.string("user"); err != nil {
		return nil, err
	}
	if c.Peer, err = d.string("peer"); err != nil {
		return nil, err
	}
	if c.Summary, err = d.string("summary"); err != nil {
		return nil, err
	}
	n, err := d.uvarint("change count")
	if err != nil {
		return nil, err
	}
	// Each change takes at least 3 bytes (three zero-length prefixes), so a
	// count above remaining/3 is corrupt; checking it first stops a bogus
	// count from allocating gigabytes.
	if n > uint64(d.remaining()/3) {
		return nil, fmt.Errorf("%w: change count %d exceeds record size", errCorrupt, n)
	}
	if n > 0 {
		c.Changes = make([]RowChange, n)
	}
	for i := range c.Changes {
		ch := &c.Changes[i]
		if ch.Key, err = d.string("change key"); err != nil {
			return nil, err
		}
		if ch.Old, err = d.optBytes("change old value"); err != nil {
			return nil, err
		}
		if ch.New, err = d.optBytes("change new value"); err != nil {
			return nil, err
		}
	}
	if version == commitRecordV2 {
		if c.Kind, err = d.string("kind"); err != nil {
			return nil, err
		}
		if c.Kind == "" {
			return nil, fmt.Errorf("%w: version 2 record with an empty kind", errCorrupt)
		}
		if c.Detail, err = d.optBytes("detail"); err != nil {
			return nil, err
		}
	}
	if d.remaining() != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errCorrupt, d.remaining())
	}
	return c, nil
}

// decoder reads from buf, consuming it; every method checks bounds first.
type decoder struct {
	buf []byte
}

func (d *decoder) remaining() int { return len(d.buf) }

func (d *decoder) byte() (byte, error) {
	if len(d.buf) == 0 {
		return 0, fmt.Errorf("%w: empty record", errCorrupt)
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b, nil
}

func (d *decoder) uvarint(what string) (uint64, error) {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		return 0, varintErr(what, n)
	}
	d.buf = d.buf[n:]
	return v, nil
}

func (d *decoder) varint(what string) (int64, error) {
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		return 0, varintErr(what, n)
	}
	d.buf = d.buf[n:]
	return v, nil
}

func varintErr(what string, n int) error {
	if n == 0 {
		return fmt.Errorf("%w: truncated %s", errCorrupt, what)
	}
	return fmt.Errorf("%w: %s overflows 64 bits", errCorrupt, what)
}

// take returns the next n bytes, capped so appends reallocate.
func (d *decoder) take(n uint64, what string) ([]byte, error) {
	// Compare as uint64 before converting so a huge n cannot wrap to a
	// negative or small int.
	if n > uint64(len(d.buf)) || n > math.MaxInt {
		return nil, fmt.Errorf("%w: %s length %d exceeds remaining %d bytes", errCorrupt, what, n, len(d.buf))
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b, nil
}

func (d *decoder) string(what string) (string, error) {
	n, err := d.uvarint(what + " length")
	if err != nil {
		return "", err
	}
	b, err := d.take(n, what)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func (d *decoder) optBytes(what string) ([]byte, error) {
	n, err := d.uvarint(what + " length")
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	b, err := d.take(n-1, what)
	if err != nil {
		return nil, err
	}
	if b == nil {
		b = []byte{} // present but empty: must not read back as nil (absent)
	}
	return b, nil
}

// EncodeCommit is the commit-log record of c. Every backend stores these
// same records, so a migration between backends copies them as they are
// and both read what either wrote.
func EncodeCommit(c *Commit) []byte { return encodeCommit(nil, c) }

// DecodeCommit decodes a record EncodeCommit wrote; a damaged one is an
// error, never a panic.
func DecodeCommit(data []byte) (*Commit, error) { return decodeCommit(data) }
