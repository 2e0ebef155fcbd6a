package realize

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/l2"
	"github.com/netready/netready/southbound/routing"
)

// driver is an open driver with the lock that keeps it used by one
// goroutine at a time, even after a call that overran its timeout is
// abandoned (the next call waits for it, within its own timeout).
type driver struct {
	southbound.Driver
	busy      chan struct{}
	closeOnce sync.Once
	backend   string
	obs       DriverObserver // nil: calls are not observed
}

func newDriver(d southbound.Driver, backend string, obs DriverObserver) *driver {
	return &driver{Driver: d, busy: make(chan struct{}, 1), backend: backend, obs: obs}
}

// observe reports a call of op that started at start and ended with err.
func (d *driver) observe(op string, start time.Time, err error) {
	if d.obs != nil {
		d.obs.ObserveDriver(d.backend, op, time.Since(start), err)
	}
}

// call runs one driver call of op and reports it.
func call[T any](d *driver, op string, f func() (T, error)) (T, error) {
	start := time.Now()
	v, err := f()
	d.observe(op, start, err)
	return v, err
}

// job is the work one backend gets in a transaction: ordered changes, or
// (reconcile) the full state to hold: views for a forwarder, data for a
// data driver.
type job struct {
	backend   string
	drv       *driver
	timeout   time.Duration
	reconcile bool
	changes   []routing.Change
	views     []*routing.HostView
	data      []southbound.DataChange
	// l2 and l2views are a forwarder's L2 part: its L2 changes, or the
	// L2 state of its hosts to reconcile to.
	l2      []l2.Change
	l2views []*l2.HostView
	// load, if set, fills in the state to reconcile to once the job holds
	// its driver, so it is the newest target, not the one of when the
	// job was made.
	load func(*job)
	// loaded is the root of the target load read.
	loaded *tree.Node
}

// outcome is how a job went.
type outcome struct {
	backend string
	err     error
	// stuck is set when the driver did not return within the timeout:
	// it may still be working, so it is not given the undo.
	stuck bool
	// drift is what a reconciliation found (nil for change jobs).
	drift *[]string
	// loaded and hosts are, for a job that loaded its target, the
	// target's root and the hosts the job was given.
	loaded *tree.Node
	hosts  []string
}

// run runs the jobs in parallel, each bounded by its backend's timeout,
// and returns their outcomes in job order.
func run(ctx context.Context, jobs []job) []outcome {
	out := make([]outcome, len(jobs))
	var wg sync.WaitGroup
	for i := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = runJob(ctx, jobs[i])
		}()
	}
	wg.Wait()
	return out
}

// callTimeout is a backend's configured timeout, or the default.
func callTimeout(configured time.Duration) time.Duration {
	if configured <= 0 {
		return 10 * time.Second
	}
	return configured
}

func runJob(ctx context.Context, j job) outcome {
	o := outcome{backend: j.backend}
	timeout := callTimeout(j.timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case j.drv.busy <- struct{}{}:
	case <-ctx.Done():
		o.err = fmt.Errorf("still busy with an earlier call after %v", timeout)
		o.stuck = true
		return o
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() { <-j.drv.busy }()
		if j.load == nil {
			done <- j.do(ctx)
			return
		}
		j.load(&j)
		r := j.do(ctx)
		r.loaded, r.hosts = j.loaded, hostsOf(j)
		done <- r
	}()
	select {
	case r := <-done:
		if r.err != nil && errors.Is(r.err, context.DeadlineExceeded) {
			r.err = fmt.Errorf("timed out after %v: %w", timeout, r.err)
		}
		return r
	case <-ctx.Done():
		o.err = fmt.Errorf("timed out after %v", timeout)
		o.stuck = true
		return o
	}
}

// do runs the job on its driver, whichever kind it is.
func (j job) do(ctx context.Context) outcome {
	r := outcome{backend: j.backend}
	var drift []string
	switch d := j.drv.Driver.(type) {
	case southbound.Forwarder:
		drift, r.err = j.forward(ctx, d)
	case southbound.DataDriver:
		if j.reconcile {
			drift, r.err = call(j.drv, "reconcile", func() ([]string, error) { return d.ReconcileData(ctx, j.data) })
		} else {
			_, r.err = call(j.drv, "apply", func() (any, error) { return nil, d.ApplyData(ctx, j.data) })
		}
	default:
		r.err = fmt.Errorf("driver %T is neither a forwarder nor a data driver", d)
	}
	if j.reconcile && r.err == nil {
		r.drift = &drift
	}
	return r
}

// forward runs a forwarder's job: its L3 part, then its L2 part. A
// forwarder that is no L2Forwarder holds no L2 network (its kind does not
// declare Capabilities.L2, so none was accepted on its hosts): it is
// reconciled without one, and given L2 changes only by mistake.
func (j job) forward(ctx context.Context, d southbound.Forwarder) ([]string, error) {
	lf, isL2 := d.(southbound.L2Forwarder)
	if j.reconcile {
		drift, err := call(j.drv, "reconcile", func() ([]string, error) { return d.Reconcile(ctx, j.views) })
		if err != nil || !isL2 {
			return drift, err
		}
		more, err := call(j.drv, "reconcile-l2", func() ([]string, error) { return lf.ReconcileL2(ctx, j.l2views) })
		return append(drift, more...), err
	}
	if len(j.changes) > 0 {
		if _, err := call(j.drv, "apply", func() (any, error) { return nil, d.Apply(ctx, j.changes) }); err != nil {
			return nil, err
		}
	}
	if len(j.l2) == 0 {
		return nil, nil
	}
	if !isL2 {
		return nil, fmt.Errorf("driver %T does not realize L2 networks", d)
	}
	return call(j.drv, "apply-l2", func() ([]string, error) { return nil, lf.ApplyL2(ctx, j.l2) })
}

// firstFailure returns the failed outcome of the first backend by name,
// nil when every job succeeded.
func firstFailure(outs []outcome) *outcome {
	var first *outcome
	for i := range outs {
		if outs[i].err != nil && (first == nil || outs[i].backend < first.backend) {
			first = &outs[i]
		}
	}
	return first
}

// viewsOf returns the views of the hosts backend serves in res, plus an
// empty view for each host in also that it does not serve there (so a
// reconciliation removes what such a host holds), sorted by host.
func viewsOf(res routing.Result, backend string, also ...string) []*routing.HostView {
	out := []*routing.HostView{}
	seen := map[string]bool{}
	for _, h := range res.Hosts {
		if h.Backend == backend {
			out = append(out, h)
			seen[h.Host] = true
		}
	}
	for _, h := range also {
		if !seen[h] {
			out = append(out, &routing.HostView{Host: h, Backend: backend})
			seen[h] = true
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}

// hostsOf returns the hosts a job is about.
func hostsOf(j job) []string {
	var out []string
	for _, h := range j.views {
		out = append(out, h.Host)
	}
	for _, c := range j.changes {
		if len(out) == 0 || out[len(out)-1] != c.Host {
			out = append(out, c.Host)
		}
	}
	for _, c := range j.l2 {
		out = append(out, c.Host)
	}
	for _, h := range j.l2views {
		out = append(out, h.Host)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// touchedKeys returns the status keys of the objects a change is about:
// the VPN of the VRF, and the binding for a port.
func touchedKeys(c routing.Change) []string {
	parts := strings.SplitN(c.VRF, "/", 3)
	if len(parts) < 2 {
		return []string{hostKey(c.Host)}
	}
	keys := []string{hostKey(c.Host), vpnKey(parts[0], parts[1])}
	if c.Kind == routing.KindPort {
		keys = append(keys, bindingKey(parts[0], parts[1], c.Port))
	}
	return keys
}

// close closes the driver once. log may be nil.
func (d *driver) close(log *slog.Logger) {
	d.closeOnce.Do(func() {
		if err := d.Driver.Close(); err != nil && log != nil {
			log.Warn("closing a backend driver", "err", err)
		}
	})
}

// runOrdered runs jobs that move the state from before to after. Backends
// that hand a host over to another backend go first: two backends of one
// kind may share the host's real state (the same kernel), and the old one
// must let go before the new one takes over. Everything else runs in
// parallel.
func runOrdered(ctx context.Context, jobs []job, before, after routing.Result) []outcome {
	losing := map[string]bool{}
	for name, b := range before.Hosts {
		if a := after.Hosts[name]; a != nil && a.Backend != b.Backend {
			losing[b.Backend] = true
		}
	}
	if len(losing) == 0 {
		return run(ctx, jobs)
	}
	var first, rest []int
	for i, j := range jobs {
		if losing[j.backend] {
			first = append(first, i)
		} else {
			rest = append(rest, i)
		}
	}
	out := make([]outcome, len(jobs))
	for _, phase := range [][]int{first, rest} {
		sub := make([]job, len(phase))
		for k, i := range phase {
			sub[k] = jobs[i]
		}
		for k, o := range run(ctx, sub) {
			out[phase[k]] = o
		}
		if firstFailure(out) != nil {
			break // the second phase is not started; its outcomes stay empty
		}
	}
	return out
}
