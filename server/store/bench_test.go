package store

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

const benchRows = 100_000

// prefilledStore returns a store holding benchRows rows of ~200 bytes,
// written as 100 commits of 1,000 rows in one Apply. The fill runs with
// NoSync to keep setup fast, is then flushed, and the file is reopened with
// opts so the measured part pays real fsyncs.
//
// A few synced one-row commits follow before measuring: bbolt rewrites a
// whole leaf, overflow values included, when a key is appended to it, and
// does not split a leaf below 5 keys, so the first Applies after a bulk
// commit rewrite the bulk records. That is a one-off after an import, not
// the steady state these benchmarks measure. So is the window's first
// turn (checkpoint.go): the fill's last 8,000 rows wait in it until as
// many commits follow, so those come first too.
func prefilledStore(b *testing.B, opts BoltOptions) *Bolt {
	b.Helper()
	const perCommit = 1000
	path := filepath.Join(b.TempDir(), "bench.db")
	fill, err := OpenBolt(path, BoltOptions{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	var commits []*Commit
	for start := 0; start < benchRows; start += perCommit {
		changes := make([]RowChange, 0, perCommit)
		for i := start; i < start+perCommit && i < benchRows; i++ {
			changes = append(changes, RowChange{Key: rowKey(i), New: rowValue(i, 200)})
		}
		commits = append(commits, &Commit{ID: uint64(len(commits) + 1), Summary: "prefill", Changes: changes})
	}
	if err := fill.Apply(context.Background(), commits); err != nil {
		b.Fatal(err)
	}
	// Flush the unsynced fill now, or the first measured fsyncs pay for
	// writing the whole file back.
	if err := fill.db.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := fill.Close(); err != nil {
		b.Fatal(err)
	}
	s, err := OpenBolt(path, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	for range windowCommits + 8 {
		if err := s.Apply(context.Background(), []*Commit{oneRowCommit(s.LastCommitID() + 1)}); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// oneRowCommit updates an existing row, spread over the key space like
// real Sets, with Old carried into the log as the server will do.
func oneRowCommit(id uint64) *Commit {
	i := int(id*7919) % benchRows
	return &Commit{
		ID:      id,
		Time:    time.Now(),
		User:    "bench",
		Peer:    "127.0.0.1:40000",
		Summary: "update " + rowKey(i),
		Changes: []RowChange{{Key: rowKey(i), Old: rowValue(i, 200), New: rowValue(i+1, 200)}},
	}
}

// BenchmarkApplyOneRow measures the latency of a Set committed on its own:
// one row, one fsync, on a store of 100k rows.
func BenchmarkApplyOneRow(b *testing.B) {
	s := prefilledStore(b, BoltOptions{})
	benchApply(b, s, func() *Commit { return oneRowCommit(s.LastCommitID() + 1) })
}

// benchApply applies next's commits one at a time for b's loop and
// reports the page writes per commit and the latency of Apply.
func benchApply(b *testing.B, s *Bolt, next func() *Commit) {
	ctx := context.Background()
	var lat []time.Duration
	writes := pageWrites(s)
	for b.Loop() {
		c := next()
		start := time.Now()
		if err := s.Apply(ctx, []*Commit{c}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	// Each page bbolt writes is its own pwrite before the fsync: what a
	// Set's commit costs beyond a bare one-key write (docs/performance.md).
	b.ReportMetric(float64(pageWrites(s)-writes)/float64(len(lat)), "page-writes/commit")
	slices.Sort(lat)
	b.ReportMetric(percentileMicros(lat, 0.50), "p50-us")
	b.ReportMetric(percentileMicros(lat, 0.99), "p99-us")
}

// BenchmarkApplyThousandRowsAgain: each commit changes the same 1,000
// rows spread over the store (a Set of 1,000 ports' descriptions, as in
// the daemon's ON_CHANGE benchmark). Their rows leave the window
// (checkpoint.go) only once a later commit no longer writes them, so a
// commit writes its log record and not its 1,000 rows.
func BenchmarkApplyThousandRowsAgain(b *testing.B) {
	s := prefilledStore(b, BoltOptions{})
	n := 0
	benchApply(b, s, func() *Commit {
		n++
		c := &Commit{ID: s.LastCommitID() + 1, Time: time.Now(), Summary: "update 1,000 rows"}
		for i := range 1000 {
			k := i * 97 % benchRows
			c.Changes = append(c.Changes, RowChange{Key: rowKey(k), Old: rowValue(k+n-1, 200), New: rowValue(k+n, 200)})
		}
		return c
	})
}

// BenchmarkApplyOneRowAtRetention is BenchmarkApplyOneRow on a server
// that has run a while: each commit carries its audit entry, and both
// logs are at their retention (1,000 here), so the oldest records are
// pruned as new ones come.
func BenchmarkApplyOneRowAtRetention(b *testing.B) {
	benchAtRetention(b, func(id uint64) *Commit { return oneRowCommit(id) })
}

// BenchmarkApplyHotRowAtRetention is a one-leaf Set as the daemon's
// SetOneLeaf sends it: the same row each time, an audit entry, both logs
// at their retention. Its row stays in the window and its audit entry in
// its record (checkpoint.go, audit.go), so what is left is the commit
// log's last page and the pages above it.
func BenchmarkApplyHotRowAtRetention(b *testing.B) {
	benchAtRetention(b, func(id uint64) *Commit {
		c := oneRowCommit(id)
		c.Changes = []RowChange{{Key: rowKey(7), Old: rowValue(int(id), 200), New: rowValue(int(id)+1, 200)}}
		return c
	})
}

// benchAtRetention runs benchApply with commits made by next, each with
// its audit entry, once both logs (of 1,000 records) are full.
func benchAtRetention(b *testing.B, next func(id uint64) *Commit) {
	const retention = 1000
	s := prefilledStore(b, BoltOptions{Retention: retention, AuditRetention: retention})
	commit := func() *Commit {
		c := next(s.LastCommitID() + 1)
		c.Audit = fmt.Appendf(nil, `{"id":%d,"result":"accepted","user":"bench","operations":[%q]}`, c.ID, c.Summary)
		return c
	}
	for s.LastCommitID() < 2*retention {
		if err := s.Apply(context.Background(), []*Commit{commit()}); err != nil {
			b.Fatal(err)
		}
	}
	benchApply(b, s, commit)
}

// pageWrites is how many page writes s has made.
func pageWrites(s *Bolt) int64 {
	st := s.db.Stats()
	return st.TxStats.GetWrite()
}

// BenchmarkApplyBatch32 measures group-commit throughput: 32 one-row
// commits per Apply, one fsync per batch.
func BenchmarkApplyBatch32(b *testing.B) {
	const batch = 32
	s := prefilledStore(b, BoltOptions{})
	ctx := context.Background()
	commits := make([]*Commit, batch)
	var elapsed time.Duration
	var applied int
	for b.Loop() {
		b.StopTimer()
		next := s.LastCommitID() + 1
		for i := range commits {
			commits[i] = oneRowCommit(next + uint64(i))
		}
		b.StartTimer()
		start := time.Now()
		if err := s.Apply(ctx, commits); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		applied += batch
	}
	b.ReportMetric(float64(applied)/elapsed.Seconds(), "commits/s")
}

// BenchmarkLoad100k measures start-up: reading all 100k rows in key order.
func BenchmarkLoad100k(b *testing.B) {
	s := prefilledStore(b, BoltOptions{})
	ctx := context.Background()
	var rows int
	start := time.Now()
	for b.Loop() {
		n := 0
		if err := s.Load(ctx, func(string, []byte) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != benchRows {
			b.Fatalf("loaded %d rows, want %d", n, benchRows)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
}

// percentileMicros returns the q-quantile (nearest rank) of sorted, in µs.
func percentileMicros(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i].Nanoseconds()) / 1e3
}

// BenchmarkOpenCheck100k measures what checking the data file costs at
// start on a store of 100k rows (and 100 commit-log records of 1,000
// rows): bbolt's read-write open alone (which already walks every page to
// rebuild the freelist), the quick check every OpenBolt runs first, the
// whole OpenBolt, and the full check of `netreadyd check --full`.
func BenchmarkOpenCheck100k(b *testing.B) {
	s := prefilledStore(b, BoltOptions{})
	path := s.Path()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	// CPU time next to wall time: on the shared 2-core VM the wall time
	// mostly measures the other tenants.
	run := func(name string, fn func() error) {
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			cpu := cpuTime()
			for b.Loop() {
				start := time.Now()
				if err := fn(); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/open")
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/open")
		})
	}
	run("bbolt-open-only", func() error {
		db, err := openReadWrite(path, BoltOptions{OpenTimeout: time.Second})
		if err != nil {
			return err
		}
		return db.Close()
	})
	run("quick-check", func() error {
		_, err := checkFile(path, CheckOptions{Timeout: time.Second})
		return err
	})
	run("OpenBolt", func() error {
		s, err := OpenBolt(path, BoltOptions{})
		if err != nil {
			return err
		}
		return s.Close()
	})
	run("full-check", func() error {
		_, err := Check(path, CheckOptions{Full: true})
		return err
	})
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
