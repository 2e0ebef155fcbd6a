package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"go.etcd.io/bbolt"
)

// ErrDamaged is wrapped by every error that says the data file is damaged
// (truncated, a page overwritten, a bucket or commit missing), as opposed
// to locked, unreadable or of another format version. The store refuses a
// damaged file and never repairs it: whatever "repair" could do would serve
// or persist a configuration nobody committed.
var ErrDamaged = errors.New("data file damaged")

// CheckOptions selects how deep Check looks.
type CheckOptions struct {
	// Full adds bbolt's own page-level consistency check (tx.Check: every
	// page reachable once or free, key order) and decodes every commit-log
	// record. Without it Check does what every start does: the meta pages
	// against the file size, a walk of every bucket's pages, the bucket
	// layout and the newest commit against the commit log and the rows.
	Full bool
	// Timeout is how long to wait for the file's lock (default 1s).
	Timeout time.Duration
}

// Report is what Check found in a sound data file.
type Report struct {
	Path     string
	New      bool  // absent, empty, or a bbolt file nothing was ever stored in
	Size     int64 // file size in bytes
	PageSize int
	Pages    uint64 // pages in use (bbolt's high-water mark)
	TxID     uint64 // newest bbolt transaction
	Full     bool   // the full check ran

	Rows, Commits, AuditEntries, StateKeys int
	OldestCommit, LastCommit               uint64
	// Checkpoint is the newest commit whose rows are in Rows; the rows of
	// the commits after it are in their log records (see checkpoint.go).
	Checkpoint uint64
}

// Check inspects the data file at path without writing to it, taking a
// shared lock (so it fails, naming the lock, while a server has the file
// open: use a backup of a live server instead). A damaged file is an error
// wrapping ErrDamaged; a missing or empty one is a Report with New set.
func Check(path string, opts CheckOptions) (*Report, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = defaultOpenTimeout
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: check %s: %w", path, err)
	}
	r, err := checkFile(path, opts)
	if err != nil {
		return nil, fmt.Errorf("store: check %s: %w", path, err)
	}
	return r, nil
}

// checkFile runs the checks of Check; a missing file is New.
func checkFile(path string, opts CheckOptions) (*Report, error) {
	r := &Report{Path: path, Full: opts.Full}
	if err := preflight(path, r); err != nil || r.New {
		return r, err
	}
	db, err := openReadOnly(path, opts.Timeout)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := guard(func() error { return db.View(func(tx *bbolt.Tx) error { return inspect(tx, r) }) }); err != nil {
		return nil, err
	}
	if opts.Full && !r.New {
		if err := fullCheck(db, r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// openReadOnly opens path with a shared lock and without loading the
// freelist: a read-write open rebuilds the freelist by walking every page
// in a goroutine of bbolt's whose assertion panics nothing can recover, so
// the pages are walked here first, under guard.
func openReadOnly(path string, timeout time.Duration) (*bbolt.DB, error) {
	var db *bbolt.DB
	err := guard(func() error {
		var err error
		db, err = bbolt.Open(path, fileMode, &bbolt.Options{ReadOnly: true, Timeout: timeout})
		return err
	})
	if err != nil {
		return nil, openError(path, timeout, err)
	}
	return db, nil
}

// openError explains a failed bbolt.Open.
func openError(path string, timeout time.Duration, err error) error {
	switch {
	case errors.Is(err, bbolt.ErrTimeout):
		return fmt.Errorf("data file %s is locked by another process (gave up after %v): %w", path, timeout, err)
	case errors.Is(err, ErrDamaged):
		return err
	case errors.Is(err, bbolt.ErrInvalid), errors.Is(err, bbolt.ErrChecksum), errors.Is(err, bbolt.ErrVersionMismatch):
		return fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	return err
}

// guard runs fn and turns a panic into an error wrapping ErrDamaged: bbolt
// asserts with panics when a page is not what its parent says, and a page
// outside the mapped file is a memory fault, which SetPanicOnFault makes a
// panic of this goroutine instead of a crash of the process.
func guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: reading its pages failed: %v", ErrDamaged, p)
		}
	}()
	return fn()
}

// bbolt's meta page layout (page header, then the meta fields); the format
// has been stable since bbolt's file version 2. Read with ReadAt, before
// anything maps the file.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	metaOffset     = 16 // page header: id u64, flags u16, count u16, overflow u32
	metaSumOffset  = metaOffset + 56
	metaPageLength = metaSumOffset + 8
	noFreelist     = ^uint64(0) // freelist not written (NoFreelistSync)
)

// boltMeta is the part of a meta page the preflight reads.
type boltMeta struct {
	pageSize       uint32
	root, freelist uint64
	pages, txid    uint64
}

// preflight reads the meta pages and checks the file holds every page the
// newer valid one counts. bbolt maps the file without that check; reading
// a page past the end of a truncated file is a SIGBUS that kills the
// process.
func preflight(path string, r *Report) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		r.New = true
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if r.Size = fi.Size(); r.Size == 0 {
		r.New = true
		return nil
	}
	m, err := newestMeta(f, r.Size)
	if err != nil {
		return err
	}
	r.PageSize, r.Pages, r.TxID = int(m.pageSize), m.pages, m.txid
	need := int64(m.pages) * int64(m.pageSize)
	switch {
	case m.pages < 3: // two meta pages and a root at least
		return fmt.Errorf("%w: meta page (transaction %d) counts only %d pages", ErrDamaged, m.txid, m.pages)
	case r.Size < need:
		return fmt.Errorf("%w: truncated: the file has %d bytes but its meta page (transaction %d) counts %d pages of %d bytes (%d bytes)",
			ErrDamaged, r.Size, m.txid, m.pages, m.pageSize, need)
	case m.root < 2 || m.root >= m.pages:
		return fmt.Errorf("%w: meta page (transaction %d) puts the root at page %d, outside 2..%d", ErrDamaged, m.txid, m.root, m.pages-1)
	case m.freelist != noFreelist && (m.freelist < 2 || m.freelist >= m.pages):
		return fmt.Errorf("%w: meta page (transaction %d) puts the freelist at page %d, outside 2..%d", ErrDamaged, m.txid, m.freelist, m.pages-1)
	}
	return nil
}

// newestMeta returns the valid meta page with the higher transaction id,
// the one bbolt would use.
func newestMeta(f io.ReaderAt, size int64) (boltMeta, error) {
	m0, err0 := readMeta(f, 0)
	off := int64(4096)
	if err0 == nil {
		off = int64(m0.pageSize)
	}
	m1, err1 := readMeta(f, off)
	switch {
	case err0 != nil && err1 != nil:
		return boltMeta{}, fmt.Errorf("%w: not a bbolt file, or both meta pages are damaged (%d bytes; page 0: %v; page 1: %v)", ErrDamaged, size, err0, err1)
	case err1 != nil || (err0 == nil && m0.txid >= m1.txid):
		return m0, nil
	}
	return m1, nil
}

// readMeta reads and validates (magic, version, checksum) the meta page at
// off.
func readMeta(f io.ReaderAt, off int64) (boltMeta, error) {
	buf := make([]byte, metaPageLength)
	if _, err := f.ReadAt(buf, off); err != nil {
		return boltMeta{}, fmt.Errorf("read: %w", err)
	}
	le := binary.LittleEndian
	h := fnv.New64a()
	h.Write(buf[metaOffset:metaSumOffset])
	switch {
	case le.Uint32(buf[metaOffset:]) != boltMagic:
		return boltMeta{}, errors.New("no bbolt magic")
	case le.Uint32(buf[metaOffset+4:]) != boltVersion:
		return boltMeta{}, fmt.Errorf("bbolt version %d", le.Uint32(buf[metaOffset+4:]))
	case le.Uint64(buf[metaSumOffset:]) != h.Sum64():
		return boltMeta{}, errors.New("checksum mismatch")
	}
	m := boltMeta{
		pageSize: le.Uint32(buf[metaOffset+8:]),
		root:     le.Uint64(buf[metaOffset+16:]),
		freelist: le.Uint64(buf[metaOffset+32:]),
		pages:    le.Uint64(buf[metaOffset+40:]),
		txid:     le.Uint64(buf[metaOffset+48:]),
	}
	if m.pageSize < 1024 || m.pageSize&(m.pageSize-1) != 0 {
		return boltMeta{}, fmt.Errorf("page size %d", m.pageSize)
	}
	return m, nil
}

// buckets are the top-level buckets of a NetReady data file, every one of
// which a used file must have.
var buckets = [][]byte{bucketMeta, bucketRows, bucketCommits, bucketAudit, bucketState}

// inspect checks the bucket layout and walks every bucket's pages (which
// is what makes the read-write open that follows safe), counting into r.
// A file without buckets is New.
func inspect(tx *bbolt.Tx, r *Report) error {
	if err := checkBuckets(tx); err != nil {
		return err
	}
	if tx.Bucket(bucketMeta) == nil { // checkBuckets passed: no bucket at all
		r.New = true
		return nil
	}
	m, err := readMetaBucket(tx.Bucket(bucketMeta))
	if err != nil {
		return err
	}
	r.LastCommit, r.Checkpoint = m.last, m.checkpoint
	if r.Rows, err = walk(tx.Bucket(bucketRows), nil); err != nil {
		return fmt.Errorf("%w: bucket %q: %v", ErrDamaged, bucketRows, err)
	}
	if r.StateKeys, err = walk(tx.Bucket(bucketState), nil); err != nil {
		return fmt.Errorf("%w: bucket %q: %v", ErrDamaged, bucketState, err)
	}
	if r.AuditEntries, err = walk(tx.Bucket(bucketAudit), sequenceKeys(nil)); err != nil {
		return fmt.Errorf("%w: bucket %q: %v", ErrDamaged, bucketAudit, err)
	}
	if err := checkLog(tx, r); err != nil {
		return err
	}
	return checkCheckpoint(tx, m)
}

// checkBuckets refuses a file that has some of the buckets but not all,
// or others: a deleted bucket must not come back empty. A file with none
// is new (bbolt created it, nothing was committed).
func checkBuckets(tx *bbolt.Tx) error {
	var have []string
	var foreign []string
	_ = tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
		have = append(have, string(name))
		if !slices.ContainsFunc(buckets, func(b []byte) bool { return bytes.Equal(b, name) }) {
			foreign = append(foreign, string(name))
		}
		return nil
	})
	if len(have) == 0 {
		return nil
	}
	if len(foreign) == len(have) {
		return fmt.Errorf("has bucket(s) %q but no %q bucket: not a NetReady data file", have, bucketMeta)
	}
	var missing []string
	for _, b := range buckets {
		if tx.Bucket(b) == nil {
			missing = append(missing, string(b))
		}
	}
	if len(missing) > 0 || len(foreign) > 0 {
		return fmt.Errorf("%w: bucket(s) %q missing, %q unexpected (the file has %q)", ErrDamaged, missing, foreign, have)
	}
	return nil
}

// walk visits every key of b (every page of it), refusing nested buckets,
// which NetReady never writes, and keys out of order, and calls fn on
// each entry. Comparing the keys reads them, as the freelist rebuild of
// the read-write open will: a key pointing outside the file faults here,
// under guard, rather than there.
func walk(b *bbolt.Bucket, fn func(k, v []byte) error) (int, error) {
	n := 0
	var prev []byte
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil {
			return n, fmt.Errorf("unexpected nested bucket %q", k)
		}
		if len(k) == 0 || (prev != nil && bytes.Compare(prev, k) >= 0) {
			return n, fmt.Errorf("key %q out of order after %q", k, prev)
		}
		prev = k
		if fn != nil {
			if err := fn(k, v); err != nil {
				return n, err
			}
		}
		n++
	}
	return n, nil
}

// sequenceKeys checks keys are 8-byte ids. With ids it also checks they
// follow one another without a gap (the commit log is pruned only from its
// oldest end) and reports the first and the last.
func sequenceKeys(ids *[2]uint64) func(k, v []byte) error {
	var prev uint64
	return func(k, _ []byte) error {
		if len(k) != 8 {
			return fmt.Errorf("malformed key %x", k)
		}
		id := binary.BigEndian.Uint64(k)
		if ids != nil {
			if prev != 0 && id != prev+1 {
				return fmt.Errorf("id %d follows %d: records missing", id, prev)
			}
			if prev == 0 {
				ids[0] = id
			}
			ids[1] = id
		}
		prev = id
		return nil
	}
}

// checkLog checks the commit log ends exactly at the last commit id: Apply
// writes both in one transaction and pruning keeps the newest record, so
// any difference is damage (a record lost, or meta rolled back).
func checkLog(tx *bbolt.Tx, r *Report) error {
	var ids [2]uint64
	n, err := walk(tx.Bucket(bucketCommits), sequenceKeys(&ids))
	if err != nil {
		return fmt.Errorf("%w: commit log: %v", ErrDamaged, err)
	}
	r.Commits, r.OldestCommit = n, ids[0]
	switch {
	case r.LastCommit == 0 && n > 0:
		return fmt.Errorf("%w: the commit log holds commits %d..%d but the last commit id is 0", ErrDamaged, ids[0], ids[1])
	case r.LastCommit == 0 && r.Rows > 0:
		return fmt.Errorf("%w: %d rows but no commit ever wrote them", ErrDamaged, r.Rows)
	case r.LastCommit > 0 && ids[1] != r.LastCommit:
		return fmt.Errorf("%w: the last commit id is %d but the commit log ends at %d", ErrDamaged, r.LastCommit, ids[1])
	}
	return nil
}

// checkCheckpoint checks that every commit after the checkpoint or
// audit_at, whose rows or audit entry are only in the log, is there and
// decodes, and that the rows hold what the checkpoint commit wrote, except
// rows a later commit writes (no commit after it is in the rows, so a
// difference means the rows are not the ones the commit log describes).
func checkCheckpoint(tx *bbolt.Tx, m fileMeta) error {
	log := tx.Bucket(bucketCommits)
	later := map[string]bool{}
	err := pendingCommits(log, m.oldestNeeded(), m.last, func(c *Commit) error {
		for _, ch := range c.Changes {
			later[ch.Key] = later[ch.Key] || c.ID > m.checkpoint
		}
		return nil
	})
	if err != nil || m.checkpoint == 0 {
		return err
	}
	v := log.Get(u64(m.checkpoint))
	if v == nil {
		return fmt.Errorf("%w: the checkpoint commit %d is missing from the commit log", ErrDamaged, m.checkpoint)
	}
	c, err := decodeCommit(v)
	if err != nil {
		return fmt.Errorf("%w: commit %d: %w", ErrDamaged, m.checkpoint, err)
	}
	if c.ID != m.checkpoint {
		return fmt.Errorf("%w: commit %d: record holds id %d", ErrDamaged, m.checkpoint, c.ID)
	}
	final := map[string][]byte{}
	for _, ch := range c.Changes {
		if !later[ch.Key] {
			final[ch.Key] = ch.New
		}
	}
	rows := tx.Bucket(bucketRows)
	for key, want := range final {
		got := rows.Get([]byte(key))
		if (got == nil) != (want == nil) || !bytes.Equal(got, want) {
			return fmt.Errorf("%w: row %q is not what the checkpoint commit (%d) wrote", ErrDamaged, key, m.checkpoint)
		}
	}
	return nil
}

// maxCheckErrors bounds what fullCheck reports: one damaged page usually
// makes many errors.
const maxCheckErrors = 10

// fullCheck runs bbolt's consistency check and decodes every commit
// record. It runs after inspect walked the pages under guard: tx.Check
// recovers its own panics but not memory faults.
func fullCheck(db *bbolt.DB, r *Report) error {
	return guard(func() error {
		return db.View(func(tx *bbolt.Tx) error {
			var errs []string
			for err := range tx.Check() {
				if len(errs) < maxCheckErrors {
					errs = append(errs, err.Error())
				}
			}
			if len(errs) > 0 {
				return fmt.Errorf("%w: bbolt consistency check: %s", ErrDamaged, strings.Join(errs, "; "))
			}
			_, err := walk(tx.Bucket(bucketCommits), func(k, v []byte) error {
				c, err := decodeCommit(v)
				if err == nil && c.ID != binary.BigEndian.Uint64(k) {
					err = fmt.Errorf("record holds id %d", c.ID)
				}
				if err != nil {
					return fmt.Errorf("%w: commit %d: %v", ErrDamaged, binary.BigEndian.Uint64(k), err)
				}
				return nil
			})
			return err
		})
	})
}
