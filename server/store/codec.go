package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// The version byte that starts every encoded commit record. Records carry
// their own version (separate from the file format version in the meta
// bucket) so the record layout can change while old records remain
// readable by the same file. Version 2 is version 1 followed by the
// commit's Kind and Detail. Version 3, the one written, codes the changes
// compactly (see below); versions 1 and 2 are still read, since a log
// written before holds them until retention prunes it. Version 4 is
// version 3 followed by the commit's audit entry: the bbolt store writes
// it for a commit with one, whose entry waits in the record until the
// audit log takes a group of them (see checkpoint.go).
const (
	commitRecordV1 = 1
	commitRecordV2 = 2
	commitRecordV3 = 3
	commitRecordV4 = 4
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
// Version 3 has the same header (ID to Summary), then:
//
//	string   Kind ("" for a plain Set)
//	optbytes Detail (only when Kind is not "")
//	uvarint  number of changes, then per change:
//	  uvarint  bytes the key shares with the previous change's key
//	  string   the rest of the key
//	  optbytes Old
//	  uvarint  how New is coded: 0 nil; 1 a string follows; 2 from Old:
//	           uvarint p, uvarint s, string m — New is Old's first p
//	           bytes, m, then Old's last s bytes
//	optbytes Audit (version 4 only)
//
// A Set's rows come in tree order, so neighbouring keys share most of
// their text ("/tenants/tenant[name=a]/ports/port[name=p1" before "0]"),
// and a changed row differs from its old value in a leaf or two: a
// 1,000-port mtu Set's record is 86 bytes per row instead of 200
// (TestRecordBytesPerRow).
//
// string is uvarint length + bytes. optbytes is uvarint 0 for nil, or
// uvarint len+1 followed by len bytes, so nil (row absent) and empty (row
// present with an empty value) survive the round trip. Seconds+nanos rather
// than UnixNano because UnixNano is undefined for the zero Time and far dates.
// A hand-written format instead of JSON or gob: it is compact, allocation
// light, stable across Go releases and easy to bound when decoding untrusted
// (corrupt) bytes.

// encodeCommit appends the version 3 encoding of c to dst and returns it:
// without c.Audit, which a store keeps elsewhere.
func encodeCommit(dst []byte, c *Commit) []byte { return encodeRecord(dst, c, false) }

// encodeRecord appends c's record to dst and returns it: version 4, with
// c.Audit, when withAudit is set and c has an audit entry, else version 3.
func encodeRecord(dst []byte, c *Commit, withAudit bool) []byte {
	withAudit = withAudit && c.Audit != nil
	n := encodedSize(c)
	if withAudit {
		n += binary.MaxVarintLen64 + len(c.Audit)
	}
	if cap(dst)-len(dst) < n {
		grown := make([]byte, len(dst), len(dst)+n)
		copy(grown, dst)
		dst = grown
	}
	version := byte(commitRecordV3)
	if withAudit {
		version = commitRecordV4
	}
	dst = append(dst, version)
	dst = binary.AppendUvarint(dst, c.ID)
	dst = binary.AppendVarint(dst, c.Time.Unix())
	dst = binary.AppendUvarint(dst, uint64(c.Time.Nanosecond()))
	dst = appendString(dst, c.User)
	dst = appendString(dst, c.Peer)
	dst = appendString(dst, c.Summary)
	dst = appendString(dst, c.Kind)
	if c.Kind != "" {
		dst = appendOptBytes(dst, c.Detail)
	}
	dst = binary.AppendUvarint(dst, uint64(len(c.Changes)))
	prev := ""
	for i := range c.Changes {
		ch := &c.Changes[i]
		shared := commonPrefix(prev, ch.Key)
		dst = binary.AppendUvarint(dst, uint64(shared))
		dst = appendString(dst, ch.Key[shared:])
		dst = appendOptBytes(dst, ch.Old)
		dst = appendNew(dst, ch.Old, ch.New)
		prev = ch.Key
	}
	if withAudit {
		dst = appendOptBytes(dst, c.Audit)
	}
	return dst
}

// How a version 3 change codes New.
const (
	newNil     = 0
	newBytes   = 1
	newFromOld = 2
)

// appendNew appends New coded against Old: from Old when they share more
// than the two lengths cost.
func appendNew(dst, old, cur []byte) []byte {
	if cur == nil {
		return binary.AppendUvarint(dst, newNil)
	}
	p := commonPrefix(old, cur)
	s := commonSuffix(old[p:], cur[p:])
	if old == nil || p+s < 4 {
		dst = binary.AppendUvarint(dst, newBytes)
		dst = binary.AppendUvarint(dst, uint64(len(cur)))
		return append(dst, cur...)
	}
	dst = binary.AppendUvarint(dst, newFromOld)
	dst = binary.AppendUvarint(dst, uint64(p))
	dst = binary.AppendUvarint(dst, uint64(s))
	dst = binary.AppendUvarint(dst, uint64(len(cur)-p-s))
	return append(dst, cur[p:len(cur)-s]...)
}

// commonPrefix is how many leading bytes a and b share.
func commonPrefix[T ~string | ~[]byte](a, b T) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// commonSuffix is how many trailing bytes a and b share.
func commonSuffix(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[len(a)-1-i] != b[len(b)-1-i] {
			return i
		}
	}
	return n
}

// encodedSize is an upper bound of the encoding's size, used to allocate the
// output once (large commits carry 100k rows).
func encodedSize(c *Commit) int {
	const maxVarint = binary.MaxVarintLen64
	n := 1 + 3*maxVarint + 3*maxVarint + len(c.User) + len(c.Peer) + len(c.Summary) + 3*maxVarint + len(c.Kind) + len(c.Detail)
	for i := range c.Changes {
		ch := &c.Changes[i]
		n += 6*maxVarint + len(ch.Key) + len(ch.Old) + len(ch.New)
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
	if version < commitRecordV1 || version > commitRecordV4 {
		return nil, fmt.Errorf("%w: unknown record version %d", errCorrupt, version)
	}
	// Copy only after the cheap header checks, then keep decoding from the
	// copy so every byte slice handed out points into memory we own.
	own := make([]byte, len(d.buf))
	copy(own, d.buf)
	d.buf = own

	c, err := d.header()
	if err != nil {
		return nil, err
	}
	if version >= commitRecordV3 {
		err = d.kind(c, true)
		if err == nil {
			c.Changes, err = d.changesV3()
		}
		if err == nil && version == commitRecordV4 {
			c.Audit, err = d.optBytes("audit entry")
		}
	} else {
		c.Changes, err = d.changesV1()
		if err == nil && version == commitRecordV2 {
			err = d.kind(c, false)
		}
	}
	if err != nil {
		return nil, err
	}
	if d.remaining() != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errCorrupt, d.remaining())
	}
	return c, nil
}

// header decodes the fields every version starts with: ID to Summary.
func (d *decoder) header() (*Commit, error) {
	c := &Commit{}
	var err error
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
	return c, nil
}

// kind decodes Kind and Detail; version 2 has them only for a commit with
// a Kind, version 3 (plain) for every commit, Detail only with a Kind.
func (d *decoder) kind(c *Commit, plain bool) error {
	var err error
	if c.Kind, err = d.string("kind"); err != nil {
		return err
	}
	if c.Kind == "" {
		if plain {
			return nil
		}
		return fmt.Errorf("%w: version 2 record with an empty kind", errCorrupt)
	}
	c.Detail, err = d.optBytes("detail")
	return err
}

// changeCount reads the number of changes. Each takes at least 3 bytes
// (three zero-length prefixes), so a count above remaining/3 is corrupt;
// checking it first stops a bogus count from allocating gigabytes.
func (d *decoder) changeCount() (int, error) {
	n, err := d.uvarint("change count")
	if err != nil {
		return 0, err
	}
	if n > uint64(d.remaining()/3) {
		return 0, fmt.Errorf("%w: change count %d exceeds record size", errCorrupt, n)
	}
	return int(n), nil
}

// changesV1 decodes the changes of a version 1 or 2 record.
func (d *decoder) changesV1() ([]RowChange, error) {
	n, err := d.changeCount()
	if err != nil || n == 0 {
		return nil, err
	}
	changes := make([]RowChange, n)
	for i := range changes {
		ch := &changes[i]
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
	return changes, nil
}

// changesV3 decodes the changes of a version 3 record: keys after the
// part they share with the one before, New from Old.
func (d *decoder) changesV3() ([]RowChange, error) {
	n, err := d.changeCount()
	if err != nil || n == 0 {
		return nil, err
	}
	changes := make([]RowChange, n)
	var key []byte // the previous key, then this one
	for i := range changes {
		ch := &changes[i]
		shared, err := d.uvarint("change key prefix")
		if err != nil {
			return nil, err
		}
		if shared > uint64(len(key)) {
			return nil, fmt.Errorf("%w: change key shares %d bytes with a %d-byte key", errCorrupt, shared, len(key))
		}
		rest, err := d.bytes("change key")
		if err != nil {
			return nil, err
		}
		key = append(key[:shared], rest...)
		ch.Key = string(key)
		if ch.Old, err = d.optBytes("change old value"); err != nil {
			return nil, err
		}
		if ch.New, err = d.newValue(ch.Old); err != nil {
			return nil, err
		}
	}
	return changes, nil
}

// newValue decodes a version 3 change's New, coded against old.
func (d *decoder) newValue(old []byte) ([]byte, error) {
	how, err := d.uvarint("change new value coding")
	if err != nil {
		return nil, err
	}
	switch how {
	case newNil:
		return nil, nil
	case newBytes:
		b, err := d.bytes("change new value")
		if b == nil && err == nil {
			b = []byte{} // present but empty
		}
		return b, err
	case newFromOld:
	default:
		return nil, fmt.Errorf("%w: change new value coded %d", errCorrupt, how)
	}
	p, err := d.uvarint("change new value prefix")
	if err != nil {
		return nil, err
	}
	s, err := d.uvarint("change new value suffix")
	if err != nil {
		return nil, err
	}
	if old == nil || p > uint64(len(old)) || s > uint64(len(old))-p {
		return nil, fmt.Errorf("%w: change new value takes %d+%d bytes of a %d-byte old value", errCorrupt, p, s, len(old))
	}
	mid, err := d.bytes("change new value")
	if err != nil {
		return nil, err
	}
	cur := make([]byte, 0, int(p)+len(mid)+int(s))
	cur = append(append(append(cur, old[:p]...), mid...), old[uint64(len(old))-s:]...)
	return cur, nil
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
	b, err := d.bytes(what)
	return string(b), err
}

// bytes reads a string's bytes (nil when empty), aliasing the buffer.
func (d *decoder) bytes(what string) ([]byte, error) {
	n, err := d.uvarint(what + " length")
	if err != nil {
		return nil, err
	}
	return d.take(n, what)
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
