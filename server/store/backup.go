package store

import (
	"fmt"
	"io"

	"go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the data file to w while the store
// keeps serving: one read transaction (bbolt's tx.WriteTo), so writers are
// not blocked and the copy holds exactly the commits durable when it began
// — every Set acknowledged before the call, since a Set is acknowledged
// only after its commit. started is told the copy's newest commit and size
// before the first byte is written (a stream can announce its length).
func (s *Bolt) Backup(w io.Writer, started func(commit uint64, size int64) error) error {
	if s.closed.Load() {
		return fmt.Errorf("store: backup: %w", ErrClosed)
	}
	err := s.db.View(func(tx *bbolt.Tx) error {
		m, err := readMetaBucket(tx.Bucket(bucketMeta))
		if err != nil {
			return err
		}
		if err := started(m.last, tx.Size()); err != nil {
			return err
		}
		_, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}
