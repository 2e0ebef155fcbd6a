// Package etcdstore is the etcd implementation of store.Store: the
// configuration rows, the bounded commit log, the audit log and the server
// state kept in an etcd cluster, so that several netreadyd replicas share
// one durable datastore.
//
// One Apply is ONE etcd transaction (Txn), acknowledged only once etcd has
// committed it (a raft quorum has it on disk). Every Apply compares the
// last-commit-id key with the id the batch continues, so two writers can
// never both write commit N: the loser's Txn fails and writes nothing. A
// replica that writes only while it leads also compares its election key
// (see Guard), so a deposed leader cannot commit either.
//
// Keys, under the configured prefix P:
//
//	P meta/format   "1": the layout version
//	P meta/last     8-byte big-endian id of the newest commit
//	P meta/audit    8-byte big-endian sequence of the newest audit entry
//	P rows/<key>    row value (the canonical path is the key)
//	P log/<id>      commit-log record (store.EncodeCommit), id as 16 hex digits
//	P audit/<seq>   audit entry, seq as 16 hex digits
//	P state/<key>   server-owned state (Commit.State)
//	P status/<key>  the leader's realization status of one object (status.go)
//
// Ids are fixed-width hex so etcd's byte order is id order.
package etcdstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/store"
)

// formatVersion is the key layout this code reads and writes; a prefix
// holding another one is refused rather than guessed at.
const formatVersion = "1"

const (
	defaultRetention      = 10000
	defaultRequestTimeout = 10 * time.Second
	// pageSize bounds each range read (Load, Commits, Audit) so a large
	// datastore never becomes one huge etcd response.
	pageSize = 1000
)

// ErrConflict is wrapped by Apply when etcd holds another last commit id
// than the batch continues: another writer committed first, or an
// earlier Apply whose answer was lost did. Nothing of the batch is written.
var ErrConflict = errors.New("etcdstore: the last commit id moved (another writer committed)")

// ErrNotLeader is wrapped by Apply when the guard (the writer's election
// key) no longer holds: the replica was deposed, nothing is written.
var ErrNotLeader = errors.New("etcdstore: this replica no longer leads")

// Options configures Open. The zero value is a production setting with
// the prefix "/netready/".
type Options struct {
	// Prefix is prepended to every key (default "/netready/"), so one
	// etcd cluster can hold several datastores.
	Prefix string
	// Retention is how many commit-log records to keep (default 10000).
	Retention int
	// AuditRetention and AuditRetentionBytes bound the audit log by
	// entries (default 10000) and bytes (default
	// store.DefaultAuditRetentionBytes), oldest pruned first.
	AuditRetention      int
	AuditRetentionBytes int64
	// RequestTimeout bounds every etcd request (default 10 s): an Apply
	// never hangs on a cluster without quorum.
	RequestTimeout time.Duration
	// Guarded stores write only under a guard (see Guard): until one is
	// set, every write is refused with ErrNotLeader. Replicas open their
	// store guarded, so no write can precede the election.
	Guarded bool
}

// Store is a store.Store in etcd. Reads go to etcd (linearizable); the
// last commit id and the audit log's sizes are cached by the writer.
type Store struct {
	cli     *clientv3.Client
	p       keys
	opts    Options
	timeout time.Duration

	// writeSem (capacity 1) serialises Apply, AppendAudit and Close.
	writeSem chan struct{}
	lastID   atomic.Uint64
	// audit is the writer's view of the audit log; under writeSem.
	audit auditIndex
	guard atomic.Pointer[guard]
	// unsure says a write's outcome stayed unknown (its answer lost, etcd
	// silent while resolving it): the cached last commit id and audit
	// index may be behind etcd, so the next write reads them first.
	unsure bool
	// unknown is signalled (never blocking) each time a write's outcome
	// stays unknown; see Unknown.
	unknown chan struct{}
	// rev is the etcd revision of the newest write this store made or
	// read its state at (followers watch from it).
	rev    atomic.Int64
	closed atomic.Bool
	// own is the revisions of the commits this store wrote that Follow
	// has not passed yet, ascending (see ownCommits).
	own ownCommits
}

var _ store.Store = (*Store)(nil)

// guard is a key whose create revision must be as recorded for a write to
// commit: the writer's election key.
type guard struct {
	key string
	rev int64
}

// Open opens the datastore under opts.Prefix in the cluster cli talks to,
// initialising an empty prefix. The client stays the caller's: Close does
// not close it.
func Open(ctx context.Context, cli *clientv3.Client, opts Options) (*Store, error) {
	if opts.Prefix == "" {
		opts.Prefix = "/netready/"
	}
	if opts.Retention < 0 || opts.AuditRetention < 0 || opts.AuditRetentionBytes < 0 {
		return nil, fmt.Errorf("etcdstore: open %s: negative retention", opts.Prefix)
	}
	if opts.Retention == 0 {
		opts.Retention = defaultRetention
	}
	if opts.AuditRetention == 0 {
		opts.AuditRetention = defaultRetention
	}
	if opts.AuditRetentionBytes == 0 {
		opts.AuditRetentionBytes = store.DefaultAuditRetentionBytes
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = defaultRequestTimeout
	}
	s := &Store{cli: cli, p: keys(opts.Prefix), opts: opts, timeout: opts.RequestTimeout, writeSem: make(chan struct{}, 1), unknown: make(chan struct{}, 1)}
	if err := s.init(ctx); err != nil {
		return nil, fmt.Errorf("etcdstore: open %s: %w", opts.Prefix, err)
	}
	if err := s.Resync(ctx); err != nil {
		return nil, fmt.Errorf("etcdstore: open %s: %w", opts.Prefix, err)
	}
	return s, nil
}

// init writes the meta keys of an empty prefix, in one Txn that only
// succeeds if no other process did so first, and checks the format.
func (s *Store) init(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(s.p.format()), "=", 0)).
		Then(
			clientv3.OpPut(s.p.format(), formatVersion),
			clientv3.OpPut(s.p.last(), string(u64(0))),
			clientv3.OpPut(s.p.auditSeq(), string(u64(0))),
		).
		Else(clientv3.OpGet(s.p.format())).Commit()
	if err != nil {
		return fmt.Errorf("initialise: %w", err)
	}
	if resp.Succeeded {
		return nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) != 1 || string(kvs[0].Value) != formatVersion {
		return fmt.Errorf("key layout version %q, this binary reads %q", kvs[0].Value, formatVersion)
	}
	return nil
}

// Resync reads the last commit id and the audit log's sizes from etcd
// again: a writer that was not the only one (a new leader) must, before
// it writes. It returns the revision it read at.
func (s *Store) Resync(ctx context.Context) error {
	select {
	case s.writeSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("etcdstore: resync: %w", ctx.Err())
	}
	defer func() { <-s.writeSem }()
	return s.resync(ctx)
}

// resync is Resync under writeSem.
func (s *Store) resync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.cli.Txn(ctx).Then(clientv3.OpGet(s.p.last()), clientv3.OpGet(s.p.auditSeq())).Commit()
	if err != nil {
		return fmt.Errorf("etcdstore: resync: %w", err)
	}
	last, err := metaValue(resp.Responses[0].GetResponseRange().Kvs, "last commit id")
	if err != nil {
		return fmt.Errorf("etcdstore: resync: %w", err)
	}
	seq, err := metaValue(resp.Responses[1].GetResponseRange().Kvs, "audit sequence")
	if err != nil {
		return fmt.Errorf("etcdstore: resync: %w", err)
	}
	rev := resp.Header.Revision
	idx := auditIndex{newest: seq}
	err = s.scan(ctx, s.p.auditKey(0), s.p.auditEnd(), rev, false, func(k, v []byte) error {
		n, err := s.p.auditSeqOf(k)
		if err != nil {
			return err
		}
		idx.add(n, len(v))
		return nil
	})
	if err != nil {
		return fmt.Errorf("etcdstore: resync: audit log: %w", err)
	}
	s.lastID.Store(last)
	s.audit = idx
	s.noteRev(rev)
	return nil
}

// Unknown receives when a write's outcome stayed unknown: etcd may hold
// a transaction the writer refused and whose realization it undid, so
// the writer should resign and let the next term reconcile the
// backends with what etcd holds.
func (s *Store) Unknown() <-chan struct{} { return s.unknown }

// Guard makes every later write also require that key still has create
// revision rev: the writer's election key, which etcd deletes when the
// writer's lease ends, so a deposed writer's Txn fails. A guard is only
// ever replaced by the next election's, never removed.
func (s *Store) Guard(key string, rev int64) {
	s.guard.Store(&guard{key: key, rev: rev})
}

// Revision is the etcd revision of this store's newest write or resync.
func (s *Store) Revision() int64 { return s.rev.Load() }

func (s *Store) noteRev(rev int64) {
	for {
		cur := s.rev.Load()
		if rev <= cur || s.rev.CompareAndSwap(cur, rev) {
			return
		}
	}
}

// Prefix is the key prefix the store lives under.
func (s *Store) Prefix() string { return string(s.p) }

// LastCommitID is the id of the newest commit this store wrote or read.
func (s *Store) LastCommitID() uint64 { return s.lastID.Load() }

// Load calls fn for every row in key order, read at one revision (a
// consistent cut, page by page).
func (s *Store) Load(ctx context.Context, fn func(key string, value []byte) error) error {
	_, err := s.LoadAt(ctx, fn)
	return err
}

// LoadAt is Load that also returns the revision read at and the last
// commit id it holds; a follower watches the commit log from there.
func (s *Store) LoadAt(ctx context.Context, fn func(key string, value []byte) error) (Cut, error) {
	if s.closed.Load() {
		return Cut{}, fmt.Errorf("etcdstore: load: %w", store.ErrClosed)
	}
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	resp, err := s.cli.Get(rctx, s.p.last())
	cancel()
	if err != nil {
		return Cut{}, fmt.Errorf("etcdstore: load: %w", err)
	}
	last, err := metaValue(resp.Kvs, "last commit id")
	if err != nil {
		return Cut{}, fmt.Errorf("etcdstore: load: %w", err)
	}
	cut := Cut{Revision: resp.Header.Revision, CommitID: last}
	err = s.scan(ctx, s.p.rowKey(""), s.p.rowEnd(), cut.Revision, false, func(k, v []byte) error {
		val := v
		if val == nil {
			val = []byte{} // the row exists: empty, never absent
		}
		return fn(string(k[len(s.p.rowKey("")):]), val)
	})
	if err != nil {
		return Cut{}, fmt.Errorf("etcdstore: load: %w", err)
	}
	s.noteRev(cut.Revision)
	s.Observed(cut.CommitID)
	return cut, nil
}

// Cut is a consistent read of the datastore: its etcd revision and the
// newest commit it holds.
type Cut struct {
	Revision int64
	CommitID uint64
}

// State calls fn for every state key under prefix, in key order, with its
// newest value (one consistent read).
func (s *Store) State(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	base := s.p.stateKey("")
	resp, err := s.cli.Get(ctx, s.p.stateKey(prefix), clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return fmt.Errorf("etcdstore: state %q: %w", prefix, err)
	}
	for _, kv := range resp.Kvs {
		if err := fn(strings.TrimPrefix(string(kv.Key), base), kv.Value); err != nil {
			return err
		}
	}
	return nil
}

// Commits calls fn for each logged commit with from <= ID <= to,
// ascending (to == 0: up to the newest).
func (s *Store) Commits(ctx context.Context, from, to uint64, fn func(*store.Commit) error) error {
	if s.closed.Load() {
		return fmt.Errorf("etcdstore: commits: %w", store.ErrClosed)
	}
	if to != 0 && to < from {
		return nil
	}
	end := s.p.logEnd()
	if to != 0 {
		end = s.p.logKey(to + 1)
	}
	err := s.scan(ctx, s.p.logKey(from), end, 0, false, func(k, v []byte) error {
		c, err := s.decodeLog(k, v)
		if err != nil {
			return err
		}
		return fn(c)
	})
	if err != nil {
		return fmt.Errorf("etcdstore: commits %d..%d: %w", from, to, err)
	}
	return nil
}

// CommitsBack calls fn for each logged commit with ID <= to, newest first
// (to == 0: from the newest), until fn returns false (history.Log).
func (s *Store) CommitsBack(ctx context.Context, to uint64, fn func(*store.Commit) (bool, error)) error {
	if s.closed.Load() {
		return fmt.Errorf("etcdstore: commits back from %d: %w", to, store.ErrClosed)
	}
	end := s.p.logEnd()
	if to != 0 {
		end = s.p.logKey(to + 1)
	}
	stop := errors.New("stop")
	err := s.scan(ctx, s.p.logKey(0), end, 0, true, func(k, v []byte) error {
		c, err := s.decodeLog(k, v)
		if err != nil {
			return err
		}
		more, err := fn(c)
		if err == nil && !more {
			return stop
		}
		return err
	})
	if err != nil && !errors.Is(err, stop) {
		return fmt.Errorf("etcdstore: commits back from %d: %w", to, err)
	}
	return nil
}

func (s *Store) decodeLog(k, v []byte) (*store.Commit, error) {
	id, err := s.p.logIDOf(k)
	if err != nil {
		return nil, err
	}
	c, err := store.DecodeCommit(v)
	if err != nil {
		return nil, fmt.Errorf("commit %d: %w", id, err)
	}
	if c.ID != id {
		return nil, fmt.Errorf("commit %d: record holds id %d", id, c.ID)
	}
	return c, nil
}

// Audit calls fn for each retained audit entry, oldest first.
func (s *Store) Audit(ctx context.Context, fn func(seq uint64, entry []byte) error) error {
	if s.closed.Load() {
		return fmt.Errorf("etcdstore: audit: %w", store.ErrClosed)
	}
	err := s.scan(ctx, s.p.auditKey(0), s.p.auditEnd(), 0, false, func(k, v []byte) error {
		seq, err := s.p.auditSeqOf(k)
		if err != nil {
			return err
		}
		return fn(seq, append([]byte{}, v...))
	})
	if err != nil {
		return fmt.Errorf("etcdstore: audit: %w", err)
	}
	return nil
}

// scan calls fn for every key in [from, end) at revision rev (0: the
// revision of the first page, so all pages are one consistent cut),
// page by page, descending if desc.
func (s *Store) scan(ctx context.Context, from, end string, rev int64, desc bool, fn func(k, v []byte) error) error {
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(pageSize), clientv3.WithRev(rev)}
		if desc {
			opts = append(opts, clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend))
		}
		rctx, cancel := context.WithTimeout(ctx, s.timeout)
		resp, err := s.cli.Get(rctx, from, opts...)
		cancel()
		if err != nil {
			return err
		}
		if rev == 0 {
			rev = resp.Header.Revision // later pages read the same cut
		}
		for _, kv := range resp.Kvs {
			if err := fn(kv.Key, kv.Value); err != nil {
				return err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		lastKey := string(resp.Kvs[len(resp.Kvs)-1].Key)
		if desc {
			end = lastKey
		} else {
			from = lastKey + "\x00"
		}
	}
}

// Close stops the store after an Apply in progress; the client stays open.
func (s *Store) Close() error {
	s.writeSem <- struct{}{}
	defer func() { <-s.writeSem }()
	s.closed.Store(true)
	return nil
}

// metaValue decodes an 8-byte big-endian meta value.
func metaValue(kvs []*mvccpb.KeyValue, what string) (uint64, error) {
	if len(kvs) != 1 || len(kvs[0].Value) != 8 {
		return 0, fmt.Errorf("%s missing or malformed", what)
	}
	return binary.BigEndian.Uint64(kvs[0].Value), nil
}

// txnError tells the limits of etcd apart from other failures: a batch
// over them will never fit, so it is refused as too large. etcd's other
// ResourceExhausted refusals are no limit of the request: an overloaded
// member (busy) and a full database are refused (the Set as unavailable)
// with what they mean and what to do.
func txnError(err error) error {
	switch {
	case errors.Is(err, rpctypes.ErrTooManyOps), errors.Is(err, rpctypes.ErrGRPCTooManyOps):
		return fmt.Errorf("%w: %v (etcd's --max-txn-ops)", store.ErrTooLarge, err)
	case errors.Is(err, rpctypes.ErrRequestTooLarge), errors.Is(err, rpctypes.ErrGRPCRequestTooLarge):
		return fmt.Errorf("%w: %v (etcd's --max-request-bytes)", store.ErrTooLarge, err)
	case busy(err):
		return fmt.Errorf("%w (etcd stayed overloaded, its applied index lagging its commit index, for the request timeout; nothing written, retry)", err)
	case errors.Is(err, rpctypes.ErrNoSpace), errors.Is(err, rpctypes.ErrGRPCNoSpace):
		return fmt.Errorf("%w (etcd's --quota-backend-bytes is reached: compact and defragment etcd, then disarm its NOSPACE alarm; nothing written)", err)
	case status.Code(err) == codes.ResourceExhausted:
		return fmt.Errorf("%w: %v (the client's largest request)", store.ErrTooLarge, err)
	}
	return err
}

// busy says etcd refused a request before proposing it because the
// member is overloaded (its applied index lags its commit index by more
// than etcd allows): nothing was written, and the same request may be
// sent again.
func busy(err error) bool {
	return errors.Is(err, rpctypes.ErrTooManyRequests) || errors.Is(err, rpctypes.ErrGRPCRequestTooManyRequests)
}

// u64 is the 8-byte big-endian encoding of the meta values.
func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// keys is the key prefix, with the key of each kind of entry.
type keys string

func (p keys) format() string             { return string(p) + "meta/format" }
func (p keys) last() string               { return string(p) + "meta/last" }
func (p keys) auditSeq() string           { return string(p) + "meta/audit" }
func (p keys) rowKey(k string) string     { return string(p) + "rows/" + k }
func (p keys) rowEnd() string             { return string(p) + "rows0" } // '0' follows '/'
func (p keys) stateKey(k string) string   { return string(p) + "state/" + k }
func (p keys) logKey(id uint64) string    { return string(p) + "log/" + hex16(id) }
func (p keys) logEnd() string             { return string(p) + "log0" }
func (p keys) auditKey(seq uint64) string { return string(p) + "audit/" + hex16(seq) }
func (p keys) auditEnd() string           { return string(p) + "audit0" }

func (p keys) logIDOf(k []byte) (uint64, error)    { return parseHex(k, p.logKey(0)) }
func (p keys) auditSeqOf(k []byte) (uint64, error) { return parseHex(k, p.auditKey(0)) }

func hex16(v uint64) string {
	s := strconv.FormatUint(v, 16)
	return "0000000000000000"[len(s):] + s
}

// parseHex reads the number after the prefix of like (a key with number 0).
func parseHex(k []byte, like string) (uint64, error) {
	pre := like[:len(like)-16]
	if len(k) != len(like) || !bytes.HasPrefix(k, []byte(pre)) {
		return 0, fmt.Errorf("malformed key %q", k)
	}
	v, err := strconv.ParseUint(string(k[len(pre):]), 16, 64)
	if err != nil {
		return 0, fmt.Errorf("malformed key %q", k)
	}
	return v, nil
}

// auditIndex is the sizes of the retained audit entries, which the
// writer needs to prune by bytes without reading them back.
type auditIndex struct {
	first  uint64 // seq of sizes[0]
	sizes  []int
	total  int64
	newest uint64 // newest seq ever assigned
}

func (a *auditIndex) add(seq uint64, size int) {
	if len(a.sizes) == 0 {
		a.first = seq
	}
	a.sizes = append(a.sizes, size)
	a.total += int64(size)
	if seq > a.newest {
		a.newest = seq
	}
}

// Sizes is how much the store holds, for the server's metrics: the
// records of both logs (counted by etcd, not read) and, as FileBytes,
// the size of the database of the etcd member the client talks to.
func (s *Store) Sizes(ctx context.Context) (store.Sizes, error) {
	if s.closed.Load() {
		return store.Sizes{}, store.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.cli.Txn(ctx).Then(
		clientv3.OpGet(s.p.logKey(0), clientv3.WithRange(s.p.logEnd()), clientv3.WithCountOnly()),
		clientv3.OpGet(s.p.auditKey(0), clientv3.WithRange(s.p.auditEnd()), clientv3.WithCountOnly()),
	).Commit()
	if err != nil {
		return store.Sizes{}, fmt.Errorf("etcdstore: sizes: %w", err)
	}
	out := store.Sizes{
		CommitLog: uint64(resp.Responses[0].GetResponseRange().Count),
		Audit:     uint64(resp.Responses[1].GetResponseRange().Count),
	}
	if eps := s.cli.Endpoints(); len(eps) > 0 {
		if st, err := s.cli.Status(ctx, eps[0]); err == nil {
			out.FileBytes = st.DbSize
		}
	}
	return out, nil
}
