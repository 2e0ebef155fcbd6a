package realize

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/l2"
	"github.com/netready/netready/southbound/routing"
)

// VNF liveness: the engine asks the forwarders that probe
// (southbound.Prober) at an interval which instances do not answer, and
// decides. A binding whose instance answered once and then stops is
// marked unreachable in the model it computes routes from
// (routing.Binding.Unreachable): its addresses leave every route's next
// hops on every host, through the same serialized path (e.mu) and the
// same all-or-nothing application as a Set, and come back when it answers
// again. The configuration is not touched; the binding's status says
// why. A binding whose instance never answered (no VM attached yet) is
// left as configured: it did not stop answering.

// probingDrivers returns the open drivers of admin-up backends that
// probe, by backend. The caller holds e.mu.
func (e *Engine) probingDrivers() map[string]liveDriver {
	out := map[string]liveDriver{}
	for name, b := range e.backends {
		if b.drv == nil || !b.cfg.AdminUp {
			continue
		}
		if _, ok := b.drv.Driver.(southbound.Prober); ok {
			out[name] = liveDriver{drv: b.drv, timeout: b.cfg.Timeout}
		}
	}
	return out
}

// watchLiveness probes every interval until ctx ends.
func (e *Engine) watchLiveness(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		e.probeOnce(ctx, every)
	}
}

// probeOnce asks every probing backend, each within timeout, and hands
// the verdicts to the engine; the rerouting they cause runs within each
// backend's own timeout, as a Set's does. A backend that does not answer
// leaves its bindings as they were.
func (e *Engine) probeOnce(ctx context.Context, timeout time.Duration) {
	t, pds := e.target.Load(), e.probing.Load()
	if t == nil || pds == nil || len(*pds) == 0 {
		return
	}
	hosts := map[string][]string{}
	for name, h := range t.result.Hosts {
		if _, ok := (*pds)[h.Backend]; ok {
			hosts[h.Backend] = append(hosts[h.Backend], name)
		}
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	found := map[southbound.PortRef]southbound.Liveness{}
	answered := map[string]bool{}
	for backend, hs := range hosts {
		slices.Sort(hs)
		wg.Go(func() {
			m, err := callProbe(pctx, (*pds)[backend], hs)
			if err != nil {
				e.log.Debug("liveness not probed", "backend", backend, "err", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			answered[backend] = true
			maps.Copy(found, m)
		})
	}
	wg.Wait()
	verdict := map[routing.BindingRef]southbound.Liveness{}
	for host, hv := range t.result.Hosts {
		if !answered[hv.Backend] {
			continue
		}
		for _, v := range hv.VRFs {
			for _, p := range v.Ports {
				if l, ok := found[southbound.PortRef{Host: host, VRF: v.ID, Interface: p.Interface}]; ok {
					verdict[routing.BindingRef{VPN: v.Tenant + "/" + v.VPN, Interface: p.Interface}] = l
				}
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.judge(ctx, verdict)
}

// callProbe calls Probe through the driver's lock, as callCounters does.
func callProbe(ctx context.Context, p liveDriver, hosts []string) (map[southbound.PortRef]southbound.Liveness, error) {
	return withDriver(ctx, p, func(ctx context.Context) (map[southbound.PortRef]southbound.Liveness, error) {
		return call(p.drv, "probe", func() (map[southbound.PortRef]southbound.Liveness, error) {
			return p.drv.Driver.(southbound.Prober).Probe(ctx, hosts)
		})
	})
}

// judge takes the probes' verdicts (bindings without one stay as they
// are): a binding that answered once and now does not is unreachable,
// one that answers again is not. When that moves any binding, the routes
// are recomputed and applied to every backend concerned; the status is
// written whenever a verdict changed. The caller holds e.mu.
func (e *Engine) judge(ctx context.Context, verdict map[routing.BindingRef]southbound.Liveness) {
	next := maps.Clone(e.dead)
	var flipped []routing.BindingRef
	changed := false
	for ref, l := range verdict {
		old, was := next[ref]
		reason := l.Reason
		if reason == "" {
			reason = "does not answer"
		}
		switch {
		case l.Answers:
			e.seen[ref] = true
			if was {
				delete(next, ref)
				flipped = append(flipped, ref)
			}
		case !e.seen[ref]:
		case !was:
			next[ref] = reason
			flipped = append(flipped, ref)
		case old != reason:
			next[ref] = reason
			changed = true
		}
	}
	e.forgetUnplaced(next)
	if len(flipped) > 0 {
		before := e.dead
		e.dead = next
		if err := e.realizeLiveness(ctx, flipped); err != nil {
			e.dead = before
			e.log.Error("liveness: rerouting failed; will retry at the next probe", "err", err)
		} else {
			e.log.Info("liveness: bindings rerouted", "changed", len(flipped), "unreachable", len(e.dead))
		}
		changed = true
	} else {
		e.dead = next
	}
	if changed {
		e.send(e.statusEdits(e.root, nil))
	}
}

// forgetUnplaced drops the bindings the engine no longer places from the
// liveness records: a binding placed again starts as never seen.
func (e *Engine) forgetUnplaced(dead map[routing.BindingRef]string) {
	placed := map[routing.BindingRef]bool{}
	for _, hv := range e.result.Hosts {
		for _, v := range hv.VRFs {
			for _, p := range v.Ports {
				placed[routing.BindingRef{VPN: v.Tenant + "/" + v.VPN, Interface: p.Interface}] = true
			}
		}
	}
	maps.DeleteFunc(e.seen, func(r routing.BindingRef, _ bool) bool { return !placed[r] })
	maps.DeleteFunc(dead, func(r routing.BindingRef, _ string) bool { return !placed[r] })
}

// realizeLiveness recomputes the routes of the flipped bindings with
// e.dead and applies the changes to every backend concerned, all or
// nothing, as Prepare does. The caller holds e.mu.
func (e *Engine) realizeLiveness(ctx context.Context, flipped []routing.BindingRef) error {
	model := e.withLiveness(e.ix.Model())
	computed, diffs, asg := e.inc.Apply(model, routing.Touched{Bindings: flipped})
	e.markRecomputed()
	placed, diffs := e.overlayLearnt(computed, diffs) // learnt routes stay in the VRFs the reroute touches
	result := placed.Result
	var jobs []job
	for _, name := range slices.Sorted(maps.Keys(diffs)) {
		b := e.backends[name]
		if b == nil || b.drv == nil || !b.cfg.AdminUp || len(diffs[name]) == 0 {
			continue
		}
		j := job{backend: name, drv: b.drv, timeout: b.cfg.Timeout, changes: diffs[name]}
		if b.mustReconcile {
			j.changes, j.reconcile = nil, true
			j.views, j.l2views = viewsOf(result, name, b.mayHold...), l2.ViewsOf(e.l2, name, b.mayHold...)
		}
		jobs = append(jobs, j)
	}
	now := time.Now()
	e.target.Store(&target{root: e.root, result: result, l2: e.l2})
	outcomes := runOrdered(ctx, jobs, e.result, result)
	if failed := firstFailure(outcomes); failed != nil {
		e.undoLiveness(jobs, outcomes, e.result, result)
		e.inc.Rollback()
		e.recordFailure(*failed, now)
		e.published()
		return fmt.Errorf("backend %s: %w", failed.backend, failed.err)
	}
	learntVPNs := routing.PlacedVPNs(e.result, result, placed.Changed)
	e.learnt.Keep(placed)
	e.model, e.computed, e.result, e.asg = model, computed, result, asg
	e.published()
	e.recordSuccess(outcomes, diffs, nil, now)
	e.showLearnt(learntVPNs, nil)
	e.announceCurrent(ctx)
	return nil
}

// undoLiveness gives the forwarders a failed rerouting reached the
// reverse of it (reconciled ones are reconciled back); one that cannot
// be reached is marked for reconciliation.
func (e *Engine) undoLiveness(jobs []job, outcomes []outcome, before, after routing.Result) {
	reverse := routing.Diff(after, before)
	var back []job
	for i, j := range jobs {
		switch {
		case outcomes[i].backend == "":
			continue
		case outcomes[i].stuck:
			e.mustReconcile(j.backend, hostsOf(j)...)
			continue
		case j.reconcile:
			j.views = viewsOf(before, j.backend, hostsOf(j)...)
		default:
			j.changes = reverse[j.backend]
		}
		back = append(back, j)
	}
	for i, o := range runOrdered(context.Background(), back, after, before) {
		if o.err != nil {
			e.mustReconcile(back[i].backend, hostsOf(back[i])...)
		}
	}
}

// withLiveness returns m with the bindings in e.dead unreachable,
// copying only the VPNs it changes. The caller holds e.mu.
func (e *Engine) withLiveness(m routing.Model) routing.Model {
	if len(e.dead) == 0 {
		return m
	}
	m.VPNs = slices.Clone(m.VPNs)
	for i := range m.VPNs {
		v := &m.VPNs[i]
		copied := false
		for j := range v.Bindings {
			if _, ok := e.dead[routing.BindingRef{VPN: v.Key(), Interface: v.Bindings[j].Interface}]; !ok {
				continue
			}
			if !copied {
				v.Bindings, copied = slices.Clone(v.Bindings), true
			}
			v.Bindings[j].Unreachable = true
		}
	}
	return m
}

// forgetPorts forgets that the instances of the ports a transaction
// created or deleted answered: a new port waits for its instance to
// attach, and one that never answered cannot stop answering. Whether a
// binding is unreachable stays as it was until its instance answers.
// The caller holds e.mu.
func (e *Engine) forgetPorts(diffs map[string][]routing.Change) {
	for _, changes := range diffs {
		for _, c := range changes {
			if c.Kind != routing.KindPort {
				continue
			}
			if parts := strings.SplitN(c.VRF, "/", 3); len(parts) >= 2 {
				delete(e.seen, routing.BindingRef{VPN: parts[0] + "/" + parts[1], Interface: c.Port})
			}
		}
	}
}

// deadReason is why a binding's instance is unreachable, "" when it is
// not. The caller holds e.mu.
func (e *Engine) deadReason(tenant, vpn, iface string) string {
	return e.dead[routing.BindingRef{VPN: tenant + "/" + vpn, Interface: iface}]
}
