package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"
)

// The audit log is a bucket of opaque entries keyed by an 8-byte
// big-endian sequence number that the store assigns. The log is bounded
// by entries and by bytes (BoltOptions), oldest entries first.
//
// An accepted Set's entry is written in its commit's log record (record
// version 4), which makes it durable with the commit at no page of its
// own: appending to the audit bucket costs its last leaf and the branch
// pages above it, a quarter of a one-leaf Set's page writes. The entries of
// the commits after the meta key "audit_at" wait there; the Apply that
// brings them to auditGroup commits (or fewer when the log's retention
// is smaller) moves them into the bucket in one append, and a refused
// Set's entry (AppendAudit) first moves them, so the bucket holds every
// entry in the order it was written. Audit shows the waiting entries
// after the stored ones, with the sequence numbers they will get.

// auditGroup is how many commits' entries wait in their records at most.
const auditGroup = 32

var metaAuditAt = []byte("audit_at")

// AppendAudit durably appends entries that belong to no commit, after
// the waiting entries of the commits before them.
func (s *Bolt) AppendAudit(ctx context.Context, entries [][]byte) error {
	if len(entries) == 0 {
		return nil
	}
	select {
	case s.writeSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("store: audit: %w", ctx.Err())
	}
	defer func() { <-s.writeSem }()
	if s.closed.Load() {
		return fmt.Errorf("store: audit: %w", ErrClosed)
	}
	total := s.auditBytes
	last := s.lastID.Load()
	err := s.db.Update(func(tx *bbolt.Tx) error {
		if err := s.putAudit(tx, append(s.auditWaiting[:len(s.auditWaiting):len(s.auditWaiting)], entries...), &total); err != nil {
			return err
		}
		if s.format != formatVersion { // a format 1 file has no entries waiting
			return nil
		}
		return tx.Bucket(bucketMeta).Put(metaAuditAt, u64(last))
	})
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	s.auditBytes = total
	s.auditAt, s.auditWaiting = last, nil
	return nil
}

// auditDue says whether an Apply up to commit newLast moves the waiting
// entries into the audit bucket.
func (s *Bolt) auditDue(newLast uint64) bool {
	return newLast-s.auditAt >= uint64(min(auditGroup, s.windowCommits))
}

// readAuditWaiting reads the entries of the commits after audit_at from
// their records (for Audit; opening reads them with the window,
// readPending).
func readAuditWaiting(tx *bbolt.Tx, m fileMeta) ([][]byte, error) {
	var out [][]byte
	err := pendingCommits(tx.Bucket(bucketCommits), m.auditAt, m.last, func(c *Commit) error {
		if c.Audit != nil {
			out = append(out, c.Audit)
		}
		return nil
	})
	return out, err
}

// putAudit appends entries in tx and prunes beyond the retention; total
// is the size of the log, kept current.
func (s *Bolt) putAudit(tx *bbolt.Tx, entries [][]byte, total *uint64) error {
	b := tx.Bucket(bucketAudit)
	b.FillPercent = 1.0
	for _, e := range entries {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		if err := b.Put(u64(seq), e); err != nil {
			return err
		}
		*total += uint64(len(e))
	}
	return s.pruneAudit(b, total)
}

// measureAudit sets auditBytes from the stored entries and, only if they
// are over the retention (bounds lowered since the last run), prunes
// them: an open that needs nothing writes nothing.
func (s *Bolt) measureAudit() error {
	var n uint64
	err := s.db.View(func(tx *bbolt.Tx) error {
		s.auditBytes = 0
		return tx.Bucket(bucketAudit).ForEach(func(_, v []byte) error {
			s.auditBytes += uint64(len(v))
			n++
			return nil
		})
	})
	if err != nil || (n <= s.auditRetention+pruneSlack(s.auditRetention) && s.auditBytes <= s.auditMaxBytes) {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error { return s.pruneAudit(tx.Bucket(bucketAudit), &s.auditBytes) })
}

// auditBound is the audit log's retention for a log whose entries run
// from sequence number first to newest: the oldest entries go while they
// hold more than auditMaxBytes and, once more than auditRetention plus
// pruneSlack are kept, while more than auditRetention are (in chunks, as
// prune does); the newest entry always stays. pruneAudit applies it to
// the bucket, Audit to the bucket with the waiting entries after it.
type auditBound struct {
	cutoff, newest, maxBytes uint64
}

func (s *Bolt) auditBound(first, newest uint64) auditBound {
	a := auditBound{newest: newest, maxBytes: s.auditMaxBytes}
	if newest > s.auditRetention && first+pruneSlack(s.auditRetention) <= newest-s.auditRetention {
		a.cutoff = newest - s.auditRetention
	}
	return a
}

// drops says whether the entry seq goes while the log holds total bytes.
func (a auditBound) drops(seq, total uint64) bool {
	return seq < a.newest && (seq <= a.cutoff || total > a.maxBytes)
}

// pruneAudit deletes the oldest entries of b that auditBound drops. Like
// prune, it re-seeks after each delete.
func (s *Bolt) pruneAudit(b *bbolt.Bucket, total *uint64) error {
	c := b.Cursor()
	k, _ := c.First()
	if len(k) != 8 {
		return nil
	}
	bound := s.auditBound(binary.BigEndian.Uint64(k), b.Sequence())
	for k, v := c.First(); len(k) == 8 && bound.drops(binary.BigEndian.Uint64(k), *total); k, v = c.First() {
		size := uint64(len(v))
		if err := c.Delete(); err != nil {
			return fmt.Errorf("prune audit log: %w", err)
		}
		*total -= size
	}
	return nil
}

// auditEntry is one entry of the log as Audit shows it.
type auditEntry struct {
	seq   uint64
	entry []byte
}

// Audit calls fn for each retained entry, oldest first: the bucket's,
// then the waiting ones, with the bound applied to both together.
func (s *Bolt) Audit(ctx context.Context, fn func(seq uint64, entry []byte) error) error {
	if s.closed.Load() {
		return fmt.Errorf("store: audit: %w", ErrClosed)
	}
	var log []auditEntry
	var total uint64
	err := s.db.View(func(tx *bbolt.Tx) error {
		m, err := readMetaBucket(tx.Bucket(bucketMeta))
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketAudit)
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			log = append(log, auditEntry{binary.BigEndian.Uint64(k), bytes.Clone(v)})
			total += uint64(len(v))
		}
		waiting, err := readAuditWaiting(tx, m)
		for i, e := range waiting {
			log = append(log, auditEntry{b.Sequence() + 1 + uint64(i), e})
			total += uint64(len(e))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	if len(log) == 0 {
		return nil
	}
	bound := s.auditBound(log[0].seq, log[len(log)-1].seq)
	for len(log) > 0 && bound.drops(log[0].seq, total) {
		total -= uint64(len(log[0].entry))
		log = log[1:]
	}
	for _, e := range log {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("store: audit: %w", err)
		}
		if err := fn(e.seq, e.entry); err != nil {
			return err
		}
	}
	return nil
}
