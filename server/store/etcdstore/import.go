package etcdstore

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/netready/netready/server/store"
)

// importChunk is how many puts one import Txn carries: well under the
// --max-txn-ops the docs ask for.
const importChunk = 1000

// States calls fn for every state key and value, in key order.
func (s *Store) States(ctx context.Context, fn func(key string, value []byte) error) error {
	if s.closed.Load() {
		return fmt.Errorf("etcdstore: states: %w", store.ErrClosed)
	}
	pre := s.p.stateKey("")
	err := s.scan(ctx, pre, string(s.p)+"state0", 0, false, func(k, v []byte) error {
		return fn(string(k[len(pre):]), append([]byte{}, v...))
	})
	if err != nil {
		return fmt.Errorf("etcdstore: states: %w", err)
	}
	return nil
}

// Import writes d into the new prefix: rows, commit log, audit log and
// state in Txns of importChunk puts, then the last commit id and audit
// sequence in the last one, so the prefix says commit 0 (a new store)
// until everything else is there. Every Txn requires the last commit id
// to still be 0: a replica that began writing stops the import. An
// import that fails part-way leaves rows that a second import refuses:
// delete the prefix (etcdctl del --prefix) and import again.
func (s *Store) Import(ctx context.Context, d *store.Dump) error {
	if err := store.CheckEmpty(ctx, s); err != nil {
		return err
	}
	select {
	case s.writeSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.writeSem }()
	var ops []clientv3.Op
	for _, r := range d.Rows {
		ops = append(ops, clientv3.OpPut(s.p.rowKey(r.Key), string(r.Value)))
	}
	for _, c := range d.Commits {
		ops = append(ops, clientv3.OpPut(s.p.logKey(c.ID), string(store.EncodeCommit(c))))
	}
	idx := auditIndex{}
	for _, a := range d.Audit {
		ops = append(ops, clientv3.OpPut(s.p.auditKey(a.Seq), string(a.Entry)))
		idx.add(a.Seq, len(a.Entry))
	}
	for _, kv := range d.State {
		ops = append(ops, clientv3.OpPut(s.p.stateKey(kv.Key), string(kv.Value)))
	}
	ops = append(ops, clientv3.OpPut(s.p.auditSeq(), string(u64(idx.newest))), clientv3.OpPut(s.p.last(), string(u64(d.Last))))
	for len(ops) > 0 {
		n := min(len(ops), importChunk)
		if err := s.importTxn(ctx, ops[:n]); err != nil {
			return fmt.Errorf("etcdstore: import: %w", err)
		}
		ops = ops[n:]
	}
	s.lastID.Store(d.Last)
	s.audit = idx
	return nil
}

func (s *Store) importTxn(ctx context.Context, ops []clientv3.Op) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.Value(s.p.last()), "=", string(u64(0)))).Then(ops...).Commit()
	if err != nil {
		return txnError(err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("%w: a writer committed to the prefix during the import", ErrConflict)
	}
	s.noteRev(resp.Header.Revision)
	return nil
}
