package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"
)

// Deferred rows. The commit-log record of a commit holds every row it
// wrote (key and new value), so the record alone makes the commit durable;
// the rows bucket is a checkpoint of the log. Apply writes the records of
// a batch and the rows of the commits that leave a window of the newest
// ones, in the same transaction, skipping a row that a commit still in
// the window writes again. Rows are spread over the whole key space, so a
// commit's few rows each cost a page and its branch pages (11 page writes
// for a one-row Set on a 100,000-object tree, 420 for a 1,000-row Set,
// docs/performance.md) where its record costs the log's last page: a row
// that Sets keep changing (an admin-state flipped back and forth, a
// description) is written once per window instead of once per Set. A row
// changed once costs what it did, one commit later; no Apply writes the
// rows of a whole window at once.
//
// The meta key "checkpoint" holds the newest commit out of the window.
// The rows bucket holds every row as of that commit, except rows a commit
// after it writes. Load lays the records after it over the rows, which is
// all a start after a crash needs: they are in the file, written by the
// same transactions as the commits. Pruning never removes them (the window
// is smaller than the log's retention), and Check refuses a file where one
// is missing.

// The window holds fewer than windowCommits commits and at most
// windowRows rows: a start replays at most that much, and a bulk Set
// (tens of thousands of rows) writes its rows at once, as before.
const (
	windowCommits = 64
	windowRows    = 8192
)

// Format versions: 1 wrote every commit's rows and audit entry with it
// and has neither a checkpoint nor an audit_at key; 2 defers both. A
// version 1 file is read as having both at its last commit and becomes
// version 2 with its first Apply, so a binary that would ignore them
// refuses it from then on.
const (
	formatRowsWithCommit = 1
	formatVersion        = 2
)

var metaCheckpoint = []byte("checkpoint")

// fileMeta is what the meta bucket says: the format, the last commit, the
// checkpoint and audit_at (audit.go).
type fileMeta struct {
	format, last, checkpoint, auditAt uint64
}

// oldestNeeded is the newest commit whose record the rows and the audit
// log no longer need: the records after it must be kept.
func (m fileMeta) oldestNeeded() uint64 { return min(m.checkpoint, m.auditAt) }

// readMetaBucket checks the format version and reads the commit ids.
func readMetaBucket(meta *bbolt.Bucket) (fileMeta, error) {
	v := meta.Get(metaFormat)
	if len(v) != 8 {
		return fileMeta{}, fmt.Errorf("%w: missing or malformed format version in %q bucket", ErrDamaged, bucketMeta)
	}
	m := fileMeta{format: binary.BigEndian.Uint64(v)}
	if m.format != formatRowsWithCommit && m.format != formatVersion {
		return fileMeta{}, fmt.Errorf("unsupported data format version %d (this build supports versions %d and %d); refusing to open", m.format, formatRowsWithCommit, formatVersion)
	}
	if v = meta.Get(metaLastCommit); len(v) != 8 {
		return fileMeta{}, fmt.Errorf("%w: missing or malformed last commit id in %q bucket", ErrDamaged, bucketMeta)
	}
	m.last = binary.BigEndian.Uint64(v)
	m.checkpoint, m.auditAt = m.last, m.last
	if m.format == formatRowsWithCommit {
		return m, nil
	}
	for _, id := range []struct {
		key []byte
		to  *uint64
	}{{metaCheckpoint, &m.checkpoint}, {metaAuditAt, &m.auditAt}} {
		if v = meta.Get(id.key); len(v) != 8 {
			return fileMeta{}, fmt.Errorf("%w: missing or malformed %s in %q bucket", ErrDamaged, id.key, bucketMeta)
		}
		if *id.to = binary.BigEndian.Uint64(v); *id.to > m.last {
			return fileMeta{}, fmt.Errorf("%w: %s %d is past the last commit %d", ErrDamaged, id.key, *id.to, m.last)
		}
	}
	return m, nil
}

// writeMeta records m's commit ids and format.
func writeMeta(meta *bbolt.Bucket, m fileMeta) error {
	for _, kv := range []struct {
		key []byte
		v   uint64
	}{{metaFormat, m.format}, {metaLastCommit, m.last}, {metaCheckpoint, m.checkpoint}, {metaAuditAt, m.auditAt}} {
		if err := meta.Put(kv.key, u64(kv.v)); err != nil {
			return fmt.Errorf("meta %s: %w", kv.key, err)
		}
	}
	return nil
}

// window is the commits after the checkpoint, kept by the writer (under
// writeSem) so that Apply neither reads nor decodes them again.
type window struct {
	commits []windowed // oldest first: checkpoint+1 to the last commit
	rows    int        // changes in commits
	// newest is, for every key a commit of the window writes, the id of
	// the newest such commit: only that one's change goes to the rows.
	newest map[string]uint64
}

// windowed is one commit of the window: its id and its changes' keys and
// new values (the caller's Commit is not kept).
type windowed struct {
	id      uint64
	changes []RowChange
}

// pendingCommits calls fn with each commit after the commit after up to
// last, in order, decoded from the log. A missing record is damage: the
// log is the only copy of those rows (or audit entries).
func pendingCommits(log *bbolt.Bucket, after, last uint64, fn func(*Commit) error) error {
	for id := after + 1; id <= last; id++ {
		v := log.Get(u64(id))
		if v == nil {
			return fmt.Errorf("%w: commit %d is missing from the commit log, which must hold every commit after %d", ErrDamaged, id, after)
		}
		c, err := decodeCommit(v)
		if err != nil {
			return fmt.Errorf("%w: commit %d: %w", ErrDamaged, id, err)
		}
		if c.ID != id {
			return fmt.Errorf("%w: commit %d: record holds id %d", ErrDamaged, id, c.ID)
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// readPending reads, in one pass over the log, what the buckets have not
// taken yet: the window (the commits after the checkpoint) and the
// audit entries of the commits after audit_at.
func readPending(tx *bbolt.Tx, m fileMeta) (*window, [][]byte, error) {
	w := &window{newest: map[string]uint64{}}
	var waiting [][]byte
	err := pendingCommits(tx.Bucket(bucketCommits), m.oldestNeeded(), m.last, func(c *Commit) error {
		if c.ID > m.checkpoint {
			w.add(c)
		}
		if c.ID > m.auditAt && c.Audit != nil {
			waiting = append(waiting, c.Audit)
		}
		return nil
	})
	return w, waiting, err
}

// add appends c to the window.
func (w *window) add(c *Commit) {
	changes := make([]RowChange, len(c.Changes))
	for i, ch := range c.Changes {
		changes[i] = RowChange{Key: ch.Key, New: bytes.Clone(ch.New)}
		w.newest[ch.Key] = c.ID
	}
	w.commits = append(w.commits, windowed{id: c.ID, changes: changes})
	w.rows += len(changes)
}

// leaving is how many of the window's commits followed by batch leave
// the window when batch is applied: the oldest, until fewer than limit
// commits and at most windowRows rows remain.
func (w *window) leaving(batch []*Commit, limit int) int {
	count, rows := len(w.commits)+len(batch), w.rows
	for _, c := range batch {
		rows += len(c.Changes)
	}
	n := 0
	for ; n < count && (count-n >= limit || rows > windowRows); n++ {
		rows -= len(w.at(n, batch).changes)
	}
	return n
}

// at is the i-th commit of the window followed by batch.
func (w *window) at(i int, batch []*Commit) windowed {
	if i < len(w.commits) {
		return w.commits[i]
	}
	c := batch[i-len(w.commits)]
	return windowed{id: c.ID, changes: c.Changes}
}

// writeLeaving writes into rows the changes of the first n commits of
// the window followed by batch, in order, and returns the new checkpoint.
// A row that a commit staying in the window writes again is skipped: the
// rows are read with the window laid over them, so writing it would cost
// a page now for a value no one reads. Nothing in w changes, so a failed
// transaction leaves it as it was.
func (w *window) writeLeaving(tx *bbolt.Tx, batch []*Commit, n int) (uint64, error) {
	rows := tx.Bucket(bucketRows)
	rows.FillPercent = rowsFillPercent
	checkpoint := w.at(n-1, batch).id
	var staying map[string]bool // the keys of the commits of batch that stay
	for _, c := range batch[max(n-len(w.commits), 0):] {
		if staying == nil {
			staying = map[string]bool{}
		}
		for _, ch := range c.Changes {
			staying[ch.Key] = true
		}
	}
	for i := range n {
		c := w.at(i, batch)
		for _, ch := range c.changes {
			if staying[ch.Key] || w.newest[ch.Key] > checkpoint {
				continue
			}
			var err error
			if ch.New == nil {
				err = rows.Delete([]byte(ch.Key))
			} else {
				err = rows.Put([]byte(ch.Key), ch.New)
			}
			if err != nil {
				return 0, fmt.Errorf("commit %d row %q: %w", c.id, ch.Key, err)
			}
		}
	}
	return checkpoint, nil
}

// advance drops the first n commits of the window followed by batch and
// adds the rest of batch, once their transaction committed.
func (w *window) advance(batch []*Commit, n int) {
	old := min(n, len(w.commits))
	for _, c := range w.commits[:old] {
		for _, ch := range c.changes {
			if w.newest[ch.Key] == c.id {
				delete(w.newest, ch.Key)
			}
		}
		w.rows -= len(c.changes)
	}
	w.commits = slices.Delete(w.commits, 0, old)
	for _, c := range batch[n-old:] {
		w.add(c)
	}
}

// pendingRows is the rows the commits after the checkpoint wrote, newest
// value per key (nil: deleted), keys in order: what Load lays over the
// rows bucket.
type pendingRows struct {
	keys   []string
	values map[string][]byte
}

func readPendingRows(tx *bbolt.Tx, m fileMeta) (pendingRows, error) {
	p := pendingRows{values: map[string][]byte{}}
	err := pendingCommits(tx.Bucket(bucketCommits), m.checkpoint, m.last, func(c *Commit) error {
		for _, ch := range c.Changes {
			p.values[ch.Key] = ch.New
		}
		return nil
	})
	if err != nil {
		return pendingRows{}, err
	}
	for k := range p.values {
		p.keys = append(p.keys, k)
	}
	slices.Sort(p.keys)
	return p, nil
}

// merge calls fn for every row of the rows cursor c with the pending rows
// laid over it, in key order: a pending row replaces or deletes the stored
// one, or is added. Values from the cursor are copied; the pending ones
// were decoded into memory of their own. tick is called once per stored
// row, to check for cancellation.
func (p pendingRows) merge(c *bbolt.Cursor, tick func() error, fn func(key string, value []byte) error) error {
	next := 0
	// emitThrough emits the pending rows up to key (all when key is nil)
	// and says whether one of them was key itself.
	emitThrough := func(key []byte) (bool, error) {
		for ; next < len(p.keys) && (key == nil || p.keys[next] <= string(key)); next++ {
			k := p.keys[next]
			if v := p.values[k]; v != nil {
				if err := fn(k, v); err != nil {
					return false, err
				}
			}
			if key != nil && k == string(key) {
				next++
				return true, nil
			}
		}
		return false, nil
	}
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := tick(); err != nil {
			return err
		}
		replaced, err := emitThrough(k)
		if err != nil {
			return err
		}
		if replaced {
			continue
		}
		val := make([]byte, len(v)) // non-nil even when empty: the row exists
		copy(val, v)
		if err := fn(string(k), val); err != nil {
			return err
		}
	}
	_, err := emitThrough(nil)
	return err
}
