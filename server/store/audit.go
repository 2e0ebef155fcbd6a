package store

import (
	"context"
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"
)

// The audit log is a bucket of opaque entries keyed by an 8-byte
// big-endian sequence number that the store assigns. Entries of accepted
// Sets are written by Apply in the commit's own transaction (no extra
// fsync per Set); refused Sets are logged with AppendAudit. The log is
// bounded by entries and by bytes (BoltOptions), oldest entries first.

// AppendAudit durably appends entries that belong to no commit.
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
	if err := s.db.Update(func(tx *bbolt.Tx) error { return s.putAudit(tx, entries, &total) }); err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	s.auditBytes = total
	return nil
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

// pruneAudit deletes the oldest entries while they hold more than
// auditMaxBytes and, once more than auditRetention plus pruneSlack are
// kept, while more than auditRetention are (in chunks, as prune does);
// the newest entry always stays. Like prune, it re-seeks after each
// delete.
func (s *Bolt) pruneAudit(b *bbolt.Bucket, total *uint64) error {
	newest := b.Sequence()
	var cutoff uint64 // entries up to this sequence number are beyond the count
	if newest > s.auditRetention {
		cutoff = newest - s.auditRetention
	}
	c := b.Cursor()
	if k, _ := c.First(); len(k) == 8 && binary.BigEndian.Uint64(k)+pruneSlack(s.auditRetention) > cutoff {
		cutoff = 0 // within the slack: only the byte bound prunes
	}
	for k, v := c.First(); len(k) == 8; k, v = c.First() {
		seq := binary.BigEndian.Uint64(k)
		if seq >= newest || (seq > cutoff && *total <= s.auditMaxBytes) {
			return nil
		}
		size := uint64(len(v))
		if err := c.Delete(); err != nil {
			return fmt.Errorf("prune audit log: %w", err)
		}
		*total -= size
	}
	return nil
}

// Audit calls fn for each retained entry, oldest first.
func (s *Bolt) Audit(ctx context.Context, fn func(seq uint64, entry []byte) error) error {
	if s.closed.Load() {
		return fmt.Errorf("store: audit: %w", ErrClosed)
	}
	return s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(binary.BigEndian.Uint64(k), append([]byte(nil), v...)); err != nil {
				return err
			}
		}
		return nil
	})
}
