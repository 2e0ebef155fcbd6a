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
// fsync per Set); refused Sets are logged with AppendAudit.

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
	if err := s.db.Update(func(tx *bbolt.Tx) error { return s.putAudit(tx, entries) }); err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// putAudit appends entries in tx and prunes beyond the retention.
func (s *Bolt) putAudit(tx *bbolt.Tx, entries [][]byte) error {
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
	}
	return prune(b, b.Sequence(), s.auditRetention)
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
