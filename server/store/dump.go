package store

import (
	"context"
	"fmt"
)

// Dump is everything a store holds: what `netreadyd migrate` copies from
// one backend to another.
type Dump struct {
	Last    uint64 // LastCommitID
	Rows    []KV
	Commits []*Commit // the retained commit log, ascending
	Audit   []AuditEntry
	State   []KV
}

// KV is a key and its value.
type KV struct {
	Key   string
	Value []byte
}

// AuditEntry is an audit-log entry with its sequence number.
type AuditEntry struct {
	Seq   uint64
	Entry []byte
}

// Exporter is a store whose whole content can be read: a Store that
// can also list its state keys.
type Exporter interface {
	Store
	// States calls fn for every state key and value, in key order.
	States(ctx context.Context, fn func(key string, value []byte) error) error
}

// Importer is a store that can be filled, when new, with a Dump.
type Importer interface {
	Store
	// Import writes d into the store, which must hold nothing yet.
	Import(ctx context.Context, d *Dump) error
}

// Export reads everything st holds.
func Export(ctx context.Context, st Exporter) (*Dump, error) {
	d := &Dump{Last: st.LastCommitID()}
	err := st.Load(ctx, func(k string, v []byte) error {
		d.Rows = append(d.Rows, KV{k, v})
		return nil
	})
	if err == nil {
		err = st.Commits(ctx, 0, 0, func(c *Commit) error {
			d.Commits = append(d.Commits, c)
			return nil
		})
	}
	if err == nil {
		err = st.Audit(ctx, func(seq uint64, e []byte) error {
			d.Audit = append(d.Audit, AuditEntry{seq, e})
			return nil
		})
	}
	if err == nil {
		err = st.States(ctx, func(k string, v []byte) error {
			d.State = append(d.State, KV{k, v})
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("store: export: %w", err)
	}
	return d, nil
}

// CheckEmpty refuses an import into a store that holds anything.
func CheckEmpty(ctx context.Context, st Store) error {
	if st.LastCommitID() != 0 {
		return fmt.Errorf("store: import: the destination holds commits up to %d; import only into a new store", st.LastCommitID())
	}
	rows := 0
	if err := st.Load(ctx, func(string, []byte) error { rows++; return nil }); err != nil {
		return fmt.Errorf("store: import: %w", err)
	}
	if rows > 0 {
		return fmt.Errorf("store: import: the destination holds %d rows; import only into a new store", rows)
	}
	return nil
}
