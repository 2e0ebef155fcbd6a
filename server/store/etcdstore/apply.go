package etcdstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/store"
)

// Apply writes the commits as ONE etcd Txn, acknowledged once etcd has
// committed it. The Txn succeeds only if the last commit id (and audit
// sequence) in etcd are still the ones this writer continues and, when
// guarded, the writer's election key is still its own: otherwise nothing
// of the batch is written (ErrConflict, ErrNotLeader). A batch over
// etcd's limits is refused whole (store.ErrTooLarge), never split: the
// batch must stay atomic.
func (s *Store) Apply(ctx context.Context, commits []*store.Commit) error {
	select {
	case s.writeSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("etcdstore: apply: %w", ctx.Err())
	}
	defer func() { <-s.writeSem }()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("etcdstore: apply: %w", err)
	}
	if s.closed.Load() {
		return fmt.Errorf("etcdstore: apply: %w", store.ErrClosed)
	}
	if len(commits) == 0 {
		return nil
	}
	if err := s.settle(ctx); err != nil {
		return fmt.Errorf("etcdstore: apply: %w", err)
	}
	last := s.lastID.Load()
	if err := checkBatch(commits, last); err != nil {
		return err
	}
	newLast := last + uint64(len(commits))
	w := s.newWrite()
	w.rows(commits)
	w.log(commits, last, newLast, uint64(s.opts.Retention))
	var entries [][]byte
	for _, c := range commits {
		if c.Audit != nil {
			entries = append(entries, c.Audit)
		}
	}
	w.auditEntries(entries)
	w.ops = append(w.ops, clientv3.OpPut(s.p.last(), string(u64(newLast))))
	w.witness(s.p.logKey(newLast), store.EncodeCommit(commits[len(commits)-1]))
	w.commits = true
	if err := s.commit(ctx, w, last); err != nil {
		return fmt.Errorf("etcdstore: apply commits %d..%d: %w", last+1, newLast, err)
	}
	s.lastID.Store(newLast)
	return nil
}

// AppendAudit durably appends audit entries that belong to no commit,
// under the same guard as Apply.
func (s *Store) AppendAudit(ctx context.Context, entries [][]byte) error {
	if len(entries) == 0 {
		return nil
	}
	select {
	case s.writeSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("etcdstore: audit: %w", ctx.Err())
	}
	defer func() { <-s.writeSem }()
	if s.closed.Load() {
		return fmt.Errorf("etcdstore: audit: %w", store.ErrClosed)
	}
	if err := s.settle(ctx); err != nil {
		return fmt.Errorf("etcdstore: audit: %w", err)
	}
	w := s.newWrite()
	w.auditEntries(entries)
	if err := s.commit(ctx, w, s.lastID.Load()); err != nil {
		return fmt.Errorf("etcdstore: audit: %w", err)
	}
	return nil
}

func checkBatch(commits []*store.Commit, last uint64) error {
	for i, c := range commits {
		if c == nil {
			return fmt.Errorf("etcdstore: apply: commit %d of batch is nil", i)
		}
		if want := last + 1 + uint64(i); c.ID != want {
			return fmt.Errorf("etcdstore: apply: commit %d of batch has id %d, want %d (last durable commit is %d; ids must continue without gaps)", i, c.ID, want, last)
		}
		for j := range c.Changes {
			if c.Changes[j].Key == "" {
				return fmt.Errorf("etcdstore: apply: commit %d change %d has an empty key", c.ID, j)
			}
		}
		for k := range c.State {
			if k == "" {
				return fmt.Errorf("etcdstore: apply: commit %d: state with an empty key", c.ID)
			}
		}
	}
	return nil
}

// write is one Txn being built: its operations and the audit index it
// leaves once committed.
type write struct {
	p     keys
	ops   []clientv3.Op
	audit auditIndex
	// mark is a key the Txn puts with a value no other write has (the
	// newest log record or audit entry): finding it in etcd proves the
	// Txn committed when its answer was lost.
	mark      string
	markValue []byte
	// auditRetention and auditMaxBytes bound audit.
	auditRetention uint64
	auditMaxBytes  int64
	// commits says the Txn writes commit-log records (Apply).
	commits bool
}

func (s *Store) newWrite() *write {
	return &write{p: s.p, audit: s.audit, auditRetention: uint64(s.opts.AuditRetention), auditMaxBytes: s.opts.AuditRetentionBytes}
}

// rows puts (or deletes) the final value of every row and state key the
// batch changes: etcd refuses a Txn that names one key twice, and the
// last change to a key wins anyway.
func (w *write) rows(commits []*store.Commit) {
	rows, order := map[string][]byte{}, []string(nil)
	state, stateOrder := map[string][]byte{}, []string(nil)
	for _, c := range commits {
		for _, ch := range c.Changes {
			if _, ok := rows[ch.Key]; !ok {
				order = append(order, ch.Key)
			}
			rows[ch.Key] = ch.New
		}
		for k, v := range c.State {
			if _, ok := state[k]; !ok {
				stateOrder = append(stateOrder, k)
			}
			state[k] = v
		}
	}
	for _, k := range order {
		w.ops = append(w.ops, putOrDelete(w.p.rowKey(k), rows[k]))
	}
	for _, k := range stateOrder {
		w.ops = append(w.ops, putOrDelete(w.p.stateKey(k), state[k]))
	}
}

func putOrDelete(key string, v []byte) clientv3.Op {
	if v == nil {
		return clientv3.OpDelete(key)
	}
	return clientv3.OpPut(key, string(v))
}

// log appends the batch's records and prunes the log to retention, in
// one range delete of the ids at or below the cut-off. Records of the
// batch already beyond retention are not written at all (a range delete
// may not overlap a put of the same Txn).
func (w *write) log(commits []*store.Commit, last, newLast, retention uint64) {
	var cutoff uint64
	if newLast > retention {
		cutoff = newLast - retention
	}
	for _, c := range commits {
		if c.ID > cutoff {
			w.ops = append(w.ops, clientv3.OpPut(w.p.logKey(c.ID), string(store.EncodeCommit(c))))
		}
	}
	if stored := min(cutoff, last); stored > 0 {
		w.ops = append(w.ops, clientv3.OpDelete(w.p.logKey(0), clientv3.WithRange(w.p.logKey(stored+1))))
	}
}

// auditEntries appends entries and prunes the oldest beyond the bounds
// (the newest entry always stays), as bbolt's audit log does.
func (w *write) auditEntries(entries [][]byte) {
	if len(entries) == 0 {
		return
	}
	old := w.audit
	idx := auditIndex{first: old.first, sizes: append([]int(nil), old.sizes...), total: old.total, newest: old.newest}
	for _, e := range entries {
		idx.add(idx.newest+1, len(e))
	}
	for len(idx.sizes) > 1 && (uint64(len(idx.sizes)) > w.auditRetention || idx.total > w.auditMaxBytes) {
		idx.total -= int64(idx.sizes[0])
		idx.sizes = idx.sizes[1:]
		idx.first++
	}
	for i, e := range entries {
		if seq := old.newest + 1 + uint64(i); seq >= idx.first {
			w.ops = append(w.ops, clientv3.OpPut(w.p.auditKey(seq), string(e)))
			w.witness(w.p.auditKey(seq), e)
		}
	}
	if len(old.sizes) > 0 && idx.first > old.first {
		end := min(idx.first, old.newest+1)
		w.ops = append(w.ops, clientv3.OpDelete(w.p.auditKey(0), clientv3.WithRange(w.p.auditKey(end))))
	}
	w.ops = append(w.ops, clientv3.OpPut(w.p.auditSeq(), string(u64(idx.newest))))
	w.audit = idx
}

// witness makes key (put with value) the write's mark.
func (w *write) witness(key string, value []byte) { w.mark, w.markValue = key, value }

// commit runs w as one Txn guarded by the last commit id the writer
// continues, the audit sequence and the election key. When the answer
// is lost (the member died, the connection broke, a deadline passed) the
// Txn may or may not have committed: commit finds out before it answers
// (resolve), since a write reported failed that etcd holds would be
// undone here, applied by every follower, committed again by the client's
// retry, and would leave this writer behind etcd for good.
func (s *Store) commit(ctx context.Context, w *write, last uint64) error {
	cmps := []clientv3.Cmp{
		clientv3.Compare(clientv3.Value(s.p.last()), "=", string(u64(last))),
		clientv3.Compare(clientv3.Value(s.p.auditSeq()), "=", string(u64(s.audit.newest))),
	}
	els := []clientv3.Op{clientv3.OpGet(s.p.last()), clientv3.OpGet(s.p.auditSeq())}
	g := s.guard.Load()
	if g == nil && s.opts.Guarded {
		return fmt.Errorf("%w: not elected; nothing written", ErrNotLeader)
	}
	if g != nil {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(g.key), "=", g.rev))
		els = append(els, clientv3.OpGet(g.key))
	}
	if w.mark != "" {
		els = append(els, clientv3.OpGet(w.mark))
	}
	if w.commits {
		// Follow, handed a record before this answer, waits for it.
		s.own.sending.Lock()
		defer s.own.sending.Unlock()
	}
	resp, err := s.send(ctx, cmps, w, els)
	if err != nil && answerLost(err) {
		resp, err = s.resolve(ctx, cmps, w, els, err)
		if s.unsure = err != nil && answerLost(err); s.unsure {
			select {
			case s.unknown <- struct{}{}:
			default:
			}
		}
	}
	if err != nil {
		return txnError(err)
	}
	if !resp.Succeeded && !w.landed(resp) {
		return refusal(resp, g, last)
	}
	s.audit = w.audit
	s.noteRev(resp.Header.Revision)
	if w.commits && resp.Succeeded {
		// Not when an earlier send landed: its revision is not this
		// answer's, and Follow hands such commits on (the writer skips them).
		s.own.add(resp.Header.Revision)
	}
	return nil
}

// send sends the Txn, and again every resolveRetry while etcd refuses it
// as overloaded (busy: refused before it was proposed, so nothing was
// written), for up to the request timeout: a burst that makes a member's
// apply lag must not refuse the Sets it holds up.
func (s *Store) send(ctx context.Context, cmps []clientv3.Cmp, w *write, els []clientv3.Op) (*clientv3.TxnResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	for {
		resp, err := s.cli.Txn(ctx).If(cmps...).Then(w.ops...).Else(els...).Commit()
		if !busy(err) || !sleep(ctx, resolveRetry) {
			return resp, err
		}
	}
}

// settle reads the last commit id and the audit index from etcd again
// after a write whose outcome stayed unknown (under writeSem): the next
// batch then continues what etcd holds, or is refused for ids the caller
// has not caught up with yet, rather than every write failing the If.
func (s *Store) settle(ctx context.Context) error {
	if !s.unsure {
		return nil
	}
	if err := s.resync(ctx); err != nil {
		return err
	}
	s.unsure = false
	return nil
}

// resolveRetry is how often resolve sends the Txn again.
const resolveRetry = 100 * time.Millisecond

// resolve sends the Txn whose answer was lost again until etcd answers,
// for up to the request timeout. That is safe: its If holds only while
// nothing was written since, so the Txn commits at most once. Either it
// commits now (the first never did), or it is refused and its mark
// (w.landed) says whether the first did. If etcd never answers, the
// outcome stays unknown and the error says so.
func (s *Store) resolve(ctx context.Context, cmps []clientv3.Cmp, w *write, els []clientv3.Op, lost error) (*clientv3.TxnResponse, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	last := lost
	for {
		if !sleep(ctx, resolveRetry) {
			return nil, fmt.Errorf("%w (the answer was lost and etcd did not answer again within %v, last: %v; the write may or may not have committed)", lost, s.timeout, last)
		}
		resp, err := s.cli.Txn(ctx).If(cmps...).Then(w.ops...).Else(els...).Commit()
		if err == nil || !answerLost(err) && !busy(err) {
			return resp, err
		}
		last = err // busy: this send was refused, the first's outcome is still unknown
	}
}

// landed says a refused Txn's mark holds what w puts: an earlier send of
// the same Txn committed.
func (w *write) landed(resp *clientv3.TxnResponse) bool {
	if w.mark == "" {
		return false
	}
	kvs := resp.Responses[len(resp.Responses)-1].GetResponseRange().Kvs
	return len(kvs) == 1 && bytes.Equal(kvs[0].Value, w.markValue)
}

// answerLost says a Txn's error leaves its outcome unknown: the request
// may have reached etcd. A refusal by etcd (too large, not permitted)
// is certain and not lost.
func answerLost(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	code := status.Code(err)
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		code = ee.Code()
	}
	switch code {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Unknown, codes.Internal, codes.Aborted, codes.Canceled:
		return true
	}
	return false
}

// sleep waits d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// refusal says why a guarded Txn did not commit, from its Else reads.
func refusal(resp *clientv3.TxnResponse, g *guard, last uint64) error {
	if g != nil {
		kvs := resp.Responses[2].GetResponseRange().Kvs
		if len(kvs) == 0 || kvs[0].CreateRevision != g.rev {
			return fmt.Errorf("%w: election key %s is gone or another's; nothing written", ErrNotLeader, g.key)
		}
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 1 && len(kvs[0].Value) == 8 {
		if now := binary.BigEndian.Uint64(kvs[0].Value); now != last {
			return fmt.Errorf("%w: etcd holds commit %d, this writer continues %d; nothing written", ErrConflict, now, last)
		}
	}
	return fmt.Errorf("%w: the audit log was written by another writer; nothing written", ErrConflict)
}
