package store

import (
	"context"
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"
)

// CommitsBack calls fn for each logged commit with ID <= to, newest first
// (to == 0 means from the newest), until fn returns false. History reads
// the log this way: a snapshot some commits back costs those commits, not
// the whole retained log. fn gets a freshly decoded Commit it may keep.
func (s *Bolt) CommitsBack(ctx context.Context, to uint64, fn func(*Commit) (bool, error)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: commits back from %d: %w", to, err)
	}
	if s.closed.Load() {
		return fmt.Errorf("store: commits back from %d: %w", to, ErrClosed)
	}
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketCommits).Cursor()
		k, v := c.Last()
		if to != 0 {
			if k, v = c.Seek(u64(to)); k == nil {
				k, v = c.Last()
			} else if binary.BigEndian.Uint64(k) > to {
				k, v = c.Prev()
			}
		}
		for ; k != nil; k, v = c.Prev() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if len(k) != 8 {
				return fmt.Errorf("malformed commit log key %x", k)
			}
			id := binary.BigEndian.Uint64(k)
			cm, err := decodeCommit(v)
			if err != nil {
				return fmt.Errorf("commit %d: %w", id, err)
			}
			if cm.ID != id {
				return fmt.Errorf("commit %d: %w: record holds id %d", id, errCorrupt, cm.ID)
			}
			more, err := fn(cm)
			if err != nil || !more {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: commits back from %d: %w", to, err)
	}
	return nil
}
