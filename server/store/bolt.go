package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
)

// File layout. Top-level buckets:
//
//	rows     canonical path -> opaque row value
//	commits  8-byte big-endian commit id -> encoded Commit (see codec.go)
//	meta     "format" -> 8-byte big-endian file format version
//	         "last_commit" -> 8-byte big-endian id of the newest commit
//	         "checkpoint" -> 8-byte big-endian id of the newest commit
//	         whose rows are in rows (see checkpoint.go)
//	audit    sequence -> audit entry (see audit.go)
//	state    key -> server-owned state value (Commit.State)
//
// Commit ids are big-endian so bbolt's byte order is id order, which makes
// range scans and pruning cursor walks. The last commit id is kept in meta
// rather than derived from the commit log so it survives any pruning policy.
// A file of another format version is refused rather than guessed at, so
// an old binary can never silently damage a file written by a newer one.
var (
	bucketRows    = []byte("rows")
	bucketCommits = []byte("commits")
	bucketMeta    = []byte("meta")
	bucketAudit   = []byte("audit")
	bucketState   = []byte("state")

	metaFormat     = []byte("format")
	metaLastCommit = []byte("last_commit")
)

const (
	defaultRetention   = 10000
	defaultOpenTimeout = time.Second
	// initialMmapSize is large enough that the data file grows inside the
	// first mapping for typical configurations: bbolt must remap when the
	// file outgrows the mapping, and a remap waits for all read
	// transactions (Load, Commits) to finish, stalling the writer.
	initialMmapSize = 256 << 20
	fileMode        = 0o600 // configuration can hold secrets
)

// BoltOptions configures OpenBolt. The zero value is a production setting.
type BoltOptions struct {
	// Retention is how many commit-log records to keep (default 10000 when
	// 0). Older records are pruned inside the same bbolt transaction as
	// Apply, in chunks: the log holds at least Retention records (once
	// there were that many) and at most Retention plus a sixteenth of it
	// (at most 256 more; see pruneSlack), even after a crash.
	Retention int
	// OpenTimeout is how long to wait for the data file's lock (default 1s).
	// bbolt takes an exclusive flock; a second server on the same file must
	// fail fast with a clear error instead of hanging.
	OpenTimeout time.Duration
	// NoSync skips fsync. For tests only: a crash can lose or corrupt data.
	NoSync bool
	// AuditRetention is how many audit entries to keep (default 10000),
	// pruned in chunks like the commit log: up to pruneSlack more are
	// kept in the file (the tree shows the newest AuditRetention).
	AuditRetention int
	// AuditRetentionBytes bounds the audit entries kept by their total
	// size in bytes as well (default 16 MiB): entries are pruned oldest
	// first until both bounds hold, so a burst of large entries cannot
	// grow the file and the server's memory by the entry count alone.
	AuditRetentionBytes int64
}

// DefaultAuditRetentionBytes holds the default 10,000 entries of typical
// size (about 300 bytes), and over 2,000 of the largest the audit log
// writes (server/audit bounds each entry).
const DefaultAuditRetentionBytes = 16 << 20

// Bolt is the bbolt implementation of Store: a single local file, one
// fsync per Apply.
type Bolt struct {
	db             *bbolt.DB
	path           string
	retention      uint64
	auditRetention uint64
	auditMaxBytes  uint64
	// auditBytes is the size of the audit entries stored; written only
	// while holding writeSem (or in OpenBolt), after a write commits.
	auditBytes uint64

	// writeSem (capacity 1) serialises Apply and Close. A channel rather
	// than a sync.Mutex so a caller queued behind a slow fsync can give up
	// when its context is cancelled.
	writeSem chan struct{}
	// format, checkpoint, auditAt, win (the commits after the checkpoint)
	// and auditWaiting (the entries of the commits after auditAt) are
	// what the file holds; like auditBytes, written only while holding
	// writeSem (or in OpenBolt), after a write commits.
	format, checkpoint, auditAt uint64
	win                         *window
	auditWaiting                [][]byte
	// windowCommits bounds the window (see checkpoint.go): fewer commits
	// than this and than the log's retention. 1 writes every commit's
	// rows with it (tests that damage rows want them there).
	windowCommits int

	// lastID is the newest durable commit id, updated only after a
	// successful commit while holding writeSem; atomic so LastCommitID
	// never blocks behind a write.
	lastID atomic.Uint64
	closed atomic.Bool
}

var _ Store = (*Bolt)(nil)

// OpenBolt opens (creating if needed) the bbolt data file at path. An
// existing file is checked first (see Check, without Full) and refused with
// an error wrapping ErrDamaged if it is damaged; it is never repaired.
func OpenBolt(path string, opts BoltOptions) (*Bolt, error) {
	if opts.Retention < 0 {
		return nil, fmt.Errorf("store: open %s: negative retention %d", path, opts.Retention)
	}
	if opts.Retention == 0 {
		opts.Retention = defaultRetention
	}
	if opts.AuditRetention <= 0 {
		opts.AuditRetention = defaultRetention
	}
	if opts.AuditRetentionBytes <= 0 {
		opts.AuditRetentionBytes = DefaultAuditRetentionBytes
	}
	if opts.OpenTimeout <= 0 {
		// Never pass 0 to bbolt: it means wait for the lock forever.
		opts.OpenTimeout = defaultOpenTimeout
	}
	// Check the file before the read-write open maps it and walks its
	// pages where a damaged page would crash the process.
	checked, err := checkFile(path, CheckOptions{Timeout: opts.OpenTimeout})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db, err := openReadWrite(path, opts)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &Bolt{
		db:             db,
		path:           path,
		retention:      uint64(opts.Retention),
		auditRetention: uint64(opts.AuditRetention),
		auditMaxBytes:  uint64(opts.AuditRetentionBytes),
		writeSem:       make(chan struct{}, 1),
		windowCommits:  int(min(windowCommits, uint64(opts.Retention))),
	}
	if err := s.init(checked.New); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// Audit bounds lowered since the last run (or a file written before
	// the byte bound) take effect now, not at the next entry.
	if err := s.measureAudit(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: audit log: %w", path, err)
	}
	return s, nil
}

// openReadWrite opens the checked file for serving. It stays under guard:
// the freelist rebuild reports what it finds wrong by panicking.
func openReadWrite(path string, opts BoltOptions) (*bbolt.DB, error) {
	var db *bbolt.DB
	err := guard(func() error {
		var err error
		db, err = bbolt.Open(path, fileMode, &bbolt.Options{
			Timeout: opts.OpenTimeout,
			// The hashmap freelist stays fast when the file is fragmented
			// by many small rewrites (every Set rewrites rows and appends a
			// log record); the array freelist degrades badly there.
			FreelistType: bbolt.FreelistMapType,
			// Not writing the freelist on every commit saves pages and
			// write amplification per fsync; the price is a freelist
			// rebuild scan when opening, which happens once per process.
			NoFreelistSync:  true,
			InitialMmapSize: initialMmapSize,
			NoSync:          opts.NoSync,
		})
		return err
	})
	if err != nil {
		return nil, openError(path, opts.OpenTimeout, err)
	}
	return db, nil
}

// init initialises a new file in one write transaction (so it is either
// fully initialised or left empty), or reads an existing one's meta, and
// sets the commit ids. A file that is not new was checked by checkFile and
// is only read: opening never writes to a file it did not create.
func (s *Bolt) init(isNew bool) error {
	m := fileMeta{format: formatVersion}
	s.win = &window{newest: map[string]uint64{}}
	var err error
	if isNew {
		err = s.db.Update(func(tx *bbolt.Tx) error { return create(tx) })
	} else {
		err = s.db.View(func(tx *bbolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			if meta == nil {
				return errors.New("replaced by another process while opening")
			}
			if m, err = readMetaBucket(meta); err != nil {
				return err
			}
			s.win, s.auditWaiting, err = readPending(tx, m)
			return err
		})
	}
	if err != nil {
		return err
	}
	s.format, s.checkpoint, s.auditAt = m.format, m.checkpoint, m.auditAt
	s.lastID.Store(m.last)
	return nil
}

// create lays out a new file's buckets and meta.
func create(tx *bbolt.Tx) error {
	// Checked again under the write lock: another process may have
	// initialised the file since the check.
	if err := checkBuckets(tx); err != nil {
		return err
	}
	if tx.Bucket(bucketMeta) != nil {
		return errors.New("initialised by another process while opening")
	}
	for _, b := range buckets {
		if _, err := tx.CreateBucket(b); err != nil {
			return err
		}
	}
	return writeMeta(tx.Bucket(bucketMeta), fileMeta{format: formatVersion})
}

// Load calls fn for every row in key order: the rows bucket with the rows
// of the commits after its checkpoint laid over it. The value passed to fn
// is a copy that fn may keep: bbolt's own slices point into the mmap and
// are invalid once the read transaction ends, a use-after-unmap bug
// waiting to happen in tree-building code. Load checks ctx periodically so
// a cancelled start-up does not have to read the whole file.
func (s *Bolt) Load(ctx context.Context, fn func(key string, value []byte) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: load: %w", err)
	}
	if s.closed.Load() {
		return fmt.Errorf("store: load: %w", ErrClosed)
	}
	err := s.db.View(func(tx *bbolt.Tx) error {
		m, err := readMetaBucket(tx.Bucket(bucketMeta))
		if err != nil {
			return err
		}
		pending, err := readPendingRows(tx, m)
		if err != nil {
			return err
		}
		n := 0
		tick := func() error {
			if n++; n%1024 == 0 {
				return ctx.Err()
			}
			return nil
		}
		return pending.merge(tx.Bucket(bucketRows).Cursor(), tick, fn)
	})
	if err != nil {
		return fmt.Errorf("store: load: %w", err)
	}
	return nil
}

// State calls fn for every state key under prefix, in key order, with
// its newest value. fn must not keep value (it is the page's memory).
func (s *Bolt) State(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: state: %w", err)
	}
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketState).Cursor()
		p := []byte(prefix)
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			if err := fn(string(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: state %q: %w", prefix, err)
	}
	return nil
}

func putState(b *bbolt.Bucket, state map[string][]byte) error {
	for k, v := range state {
		if k == "" {
			return fmt.Errorf("state with an empty key")
		}
		var err error
		if v == nil {
			err = b.Delete([]byte(k))
		} else {
			err = b.Put([]byte(k), v)
		}
		if err != nil {
			return fmt.Errorf("state %q: %w", k, err)
		}
	}
	return nil
}

// LastCommitID is the id of the newest durable commit (0 for a new store).
func (s *Bolt) LastCommitID() uint64 { return s.lastID.Load() }

// Apply writes the commits as one bbolt transaction, i.e. one fsync for the
// whole batch (group commit). Validation happens before the transaction
// begins and any error inside it rolls the transaction back, so a failed
// Apply leaves neither rows, log records nor the last id changed.
func (s *Bolt) Apply(ctx context.Context, commits []*Commit) error {
	// Queue for the writer slot, but give up if the caller does.
	select {
	case s.writeSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("store: apply: %w", ctx.Err())
	}
	defer func() { <-s.writeSem }()
	// Both may have changed while we waited for the slot.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: apply: %w", err)
	}
	if s.closed.Load() {
		return fmt.Errorf("store: apply: %w", ErrClosed)
	}
	if len(commits) == 0 {
		return nil
	}
	last := s.lastID.Load()
	for i, c := range commits {
		if c == nil {
			return fmt.Errorf("store: apply: commit %d of batch is nil", i)
		}
		if want := last + 1 + uint64(i); c.ID != want {
			return fmt.Errorf("store: apply: commit %d of batch has id %d, want %d (last durable commit is %d; ids must continue without gaps)", i, c.ID, want, last)
		}
		if err := checkChanges(c); err != nil {
			return fmt.Errorf("store: apply: %w", err)
		}
	}
	w := s.plan(commits)
	if err := s.db.Update(func(tx *bbolt.Tx) error { return s.write(tx, w) }); err != nil {
		return fmt.Errorf("store: apply commits %d..%d: %w", last+1, w.meta.last, err)
	}
	s.committed(w)
	return nil
}

// batchWrite is what one Apply writes, planned before its transaction so
// that a failed one leaves the store as it was.
type batchWrite struct {
	commits    []*Commit
	meta       fileMeta // as the write leaves it
	leaving    int      // commits leaving the window
	waiting    [][]byte // the audit entries waiting, the batch's included
	auditDue   bool     // the audit log takes them
	auditBytes uint64
}

func (s *Bolt) plan(commits []*Commit) *batchWrite {
	newLast := s.lastID.Load() + uint64(len(commits))
	w := &batchWrite{
		commits:    commits,
		meta:       fileMeta{format: formatVersion, last: newLast, checkpoint: s.checkpoint, auditAt: s.auditAt},
		leaving:    s.win.leaving(commits, s.windowCommits),
		waiting:    s.auditWaiting[:len(s.auditWaiting):len(s.auditWaiting)], // appending copies
		auditDue:   s.auditDue(newLast),
		auditBytes: s.auditBytes,
	}
	for _, c := range commits {
		if c.Audit != nil {
			w.waiting = append(w.waiting, bytes.Clone(c.Audit))
		}
	}
	return w
}

// write is the transaction of an Apply: the records, the state, the rows
// of the commits leaving the window, the waiting audit entries when due,
// the meta and the pruned log.
func (s *Bolt) write(tx *bbolt.Tx, w *batchWrite) error {
	log := tx.Bucket(bucketCommits)
	// Ids are appended in increasing order; telling bbolt so makes page
	// splits leave full pages instead of half-empty ones.
	log.FillPercent = 1.0
	for _, c := range w.commits {
		// bbolt keeps a reference to the value until the transaction
		// commits, so each record needs its own buffer.
		if err := log.Put(u64(c.ID), encodeRecord(nil, c, true)); err != nil {
			return fmt.Errorf("commit %d log record: %w", c.ID, err)
		}
		if err := putState(tx.Bucket(bucketState), c.State); err != nil {
			return fmt.Errorf("commit %d: %w", c.ID, err)
		}
	}
	if w.leaving > 0 {
		var err error
		if w.meta.checkpoint, err = s.win.writeLeaving(tx, w.commits, w.leaving); err != nil {
			return err
		}
	}
	if w.auditDue {
		if err := s.putAudit(tx, w.waiting, &w.auditBytes); err != nil {
			return fmt.Errorf("audit entries of commits %d..%d: %w", w.meta.auditAt+1, w.meta.last, err)
		}
		w.meta.auditAt = w.meta.last
	}
	if err := writeMeta(tx.Bucket(bucketMeta), w.meta); err != nil {
		return err
	}
	return prune(log, w.meta.last, s.retention, w.meta.oldestNeeded())
}

// committed makes w the store's state once its transaction committed.
func (s *Bolt) committed(w *batchWrite) {
	s.lastID.Store(w.meta.last)
	s.auditBytes = w.auditBytes
	s.format, s.checkpoint, s.auditAt = w.meta.format, w.meta.checkpoint, w.meta.auditAt
	s.win.advance(w.commits, w.leaving)
	if w.auditDue {
		w.waiting = nil
	}
	s.auditWaiting = w.waiting
}

// checkChanges refuses the rows bbolt would refuse. A commit's rows may
// reach the rows bucket only at a later checkpoint (checkpoint.go), and a
// row refused then would fail that Apply and every one after it.
func checkChanges(c *Commit) error {
	for j := range c.Changes {
		ch := &c.Changes[j]
		switch {
		case ch.Key == "":
			return fmt.Errorf("commit %d change %d has an empty key", c.ID, j)
		case len(ch.Key) > bbolt.MaxKeySize:
			return fmt.Errorf("commit %d change %d: key of %d bytes: %w", c.ID, j, len(ch.Key), bbolt.ErrKeyTooLarge)
		case int64(len(ch.New)) > bbolt.MaxValueSize:
			return fmt.Errorf("commit %d row %q: value of %d bytes: %w", c.ID, ch.Key, len(ch.New), bbolt.ErrValueTooLarge)
		}
	}
	return nil
}

// rowsFillPercent is how full bbolt leaves a rows page it splits. A bulk
// Set writes its rows in key order, so with bbolt's default (half) every
// page it fills stays half empty, and a later Set changing rows spread
// over that range rewrites twice the pages (746 against 414 page writes
// for 1,000 of 10,000 ports, docs/performance.md). The tenth left free
// lets a row grow a little (a longer description) without splitting its
// page at once.
const rowsFillPercent = 0.9

// pruneSlack is how many records past its retention a log (commits,
// audit entries) may hold before the oldest are pruned. Deleting the
// oldest records rewrites the log's first leaf page and the branch pages
// above it; done for every batch, that was a few page writes (each its
// own pwrite before the fsync) per group commit at steady state. Pruned
// once the log holds retention+slack records, back to retention, it costs
// those pages once per slack commits. A sixteenth of the retention, at
// most 256 records: the default 10,000 keeps up to 10,256; retentions
// under 16 (tests) stay exact.
func pruneSlack(retention uint64) uint64 { return min(retention/16, 256) }

// prune deletes log records with id <= newest-retention, once the oldest
// is pruneSlack records past that, and never one after needed (the rows
// of the window and the waiting audit entries are only there; both are
// kept within the retention, so this bound only guards that rule). It re-seeks to the first key after
// each delete because bbolt cursors may skip an element when Next follows
// Delete. After Retention is lowered it catches up in one go.
func prune(log *bbolt.Bucket, newest, retention, needed uint64) error {
	if newest <= retention {
		return nil
	}
	cutoff := min(newest-retention, needed)
	c := log.Cursor()
	if k, _ := c.First(); len(k) == 8 && binary.BigEndian.Uint64(k)+pruneSlack(retention) > cutoff {
		return nil
	}
	for k, _ := c.First(); k != nil; k, _ = c.First() {
		if len(k) != 8 || binary.BigEndian.Uint64(k) > cutoff {
			return nil
		}
		if err := c.Delete(); err != nil {
			return fmt.Errorf("prune commit log: %w", err)
		}
	}
	return nil
}

// Commits calls fn for each logged commit with from <= ID <= to, ascending
// (to == 0 means up to the newest). Pruned commits are simply absent. fn gets
// a freshly decoded Commit it may keep.
func (s *Bolt) Commits(ctx context.Context, from, to uint64, fn func(*Commit) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: commits: %w", err)
	}
	if s.closed.Load() {
		return fmt.Errorf("store: commits: %w", ErrClosed)
	}
	if to != 0 && to < from {
		return nil
	}
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketCommits).Cursor()
		for k, v := c.Seek(u64(from)); k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if len(k) != 8 {
				return fmt.Errorf("malformed commit log key %x", k)
			}
			id := binary.BigEndian.Uint64(k)
			if to != 0 && id > to {
				return nil
			}
			cm, err := decodeCommit(v)
			if err != nil {
				return fmt.Errorf("commit %d: %w", id, err)
			}
			if cm.ID != id {
				return fmt.Errorf("commit %d: %w: record holds id %d", id, errCorrupt, cm.ID)
			}
			// A record may hold its audit entry until the audit log takes
			// it (audit.go): it is the audit log's, and Audit shows it.
			cm.Audit = nil
			if err := fn(cm); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: commits %d..%d: %w", from, to, err)
	}
	return nil
}

// Close waits for an Apply in progress and closes the file, releasing its
// lock. Calling it again is a no-op.
func (s *Bolt) Close() error {
	s.writeSem <- struct{}{}
	defer func() { <-s.writeSem }()
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", s.path, err)
	}
	return nil
}

// Path is the data file's path, for log messages.
func (s *Bolt) Path() string { return s.path }

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// Sizes is how much the store holds, for the server's metrics.
type Sizes struct {
	CommitLog uint64 // commit-log records retained
	Audit     uint64 // audit-log entries retained
	FileBytes int64  // size of the data file
}

// Sizes reads the store's sizes. Both logs are keyed by contiguous
// numbers pruned from the oldest, so each count is its last key minus its
// first plus one: a few page reads, whatever the retention.
func (s *Bolt) Sizes() (Sizes, error) {
	if s.closed.Load() {
		return Sizes{}, ErrClosed
	}
	var out Sizes
	err := s.db.View(func(tx *bbolt.Tx) error {
		out.CommitLog = span(tx.Bucket(bucketCommits))
		out.Audit = span(tx.Bucket(bucketAudit))
		return nil
	})
	if err != nil {
		return Sizes{}, fmt.Errorf("store: sizes: %w", err)
	}
	// The file, not the pages in use: bbolt grows it ahead of need, and
	// what the disk holds is what an operator watches.
	fi, err := os.Stat(s.path)
	if err != nil {
		return Sizes{}, fmt.Errorf("store: sizes: %w", err)
	}
	out.FileBytes = fi.Size()
	return out, nil
}

// span is the number of entries of a bucket keyed by contiguous 8-byte
// big-endian numbers.
func span(b *bbolt.Bucket) uint64 {
	if b == nil {
		return 0
	}
	c := b.Cursor()
	first, _ := c.First()
	last, _ := c.Last()
	if len(first) != 8 || len(last) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(last) - binary.BigEndian.Uint64(first) + 1
}

// States calls fn for every state key and value, in key order.
func (s *Bolt) States(ctx context.Context, fn func(key string, value []byte) error) error {
	if s.closed.Load() {
		return fmt.Errorf("store: states: %w", ErrClosed)
	}
	return s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketState).ForEach(func(k, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return fn(string(k), bytes.Clone(v))
		})
	})
}

// Import writes d into the new store in one transaction: rows, the
// commit log, the audit log with its sequence numbers, the state and the
// last commit id.
func (s *Bolt) Import(ctx context.Context, d *Dump) error {
	if err := CheckEmpty(ctx, s); err != nil {
		return err
	}
	s.writeSem <- struct{}{}
	defer func() { <-s.writeSem }()
	var auditBytes uint64
	err := s.db.Update(func(tx *bbolt.Tx) error {
		rows, log, audit, state := tx.Bucket(bucketRows), tx.Bucket(bucketCommits), tx.Bucket(bucketAudit), tx.Bucket(bucketState)
		for _, r := range d.Rows {
			if err := rows.Put([]byte(r.Key), r.Value); err != nil {
				return fmt.Errorf("row %q: %w", r.Key, err)
			}
		}
		for _, c := range d.Commits {
			if err := log.Put(u64(c.ID), encodeCommit(nil, c)); err != nil {
				return fmt.Errorf("commit %d: %w", c.ID, err)
			}
		}
		for _, a := range d.Audit {
			if err := audit.Put(u64(a.Seq), a.Entry); err != nil {
				return fmt.Errorf("audit entry %d: %w", a.Seq, err)
			}
			auditBytes += uint64(len(a.Entry))
		}
		if n := len(d.Audit); n > 0 {
			if err := audit.SetSequence(d.Audit[n-1].Seq); err != nil {
				return err
			}
		}
		for _, kv := range d.State {
			if err := state.Put([]byte(kv.Key), kv.Value); err != nil {
				return fmt.Errorf("state %q: %w", kv.Key, err)
			}
		}
		// The rows and the audit log are complete: nothing waits in the
		// log's records.
		return writeMeta(tx.Bucket(bucketMeta), fileMeta{format: formatVersion, last: d.Last, checkpoint: d.Last, auditAt: d.Last})
	})
	if err != nil {
		return fmt.Errorf("store: import: %w", err)
	}
	s.lastID.Store(d.Last)
	s.format, s.checkpoint, s.auditAt = formatVersion, d.Last, d.Last
	s.win, s.auditWaiting = &window{newest: map[string]uint64{}}, nil
	s.auditBytes = auditBytes
	return nil
}
