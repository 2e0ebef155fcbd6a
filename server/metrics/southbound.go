package metrics

import (
	"context"
	"time"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/routing"
)

// Drivers returns r with every driver it opens measured: each Apply and
// Reconcile (or ApplyData and ReconcileData) is timed and its failure
// counted under the backend's name. A measured driver is of the same kind
// (Forwarder or DataDriver) as the one it wraps, so the realization engine
// treats it exactly the same. Series stay after a backend is removed, so
// counters never go back.
func (m *Metrics) Drivers(r southbound.Registry) southbound.Registry {
	out := make(southbound.Registry, len(r))
	for kind, p := range r {
		open := p.Open
		out[kind] = southbound.Plugin{Caps: p.Caps, Open: func(ctx context.Context, b southbound.Backend) (southbound.Driver, error) {
			d, err := open(ctx, b)
			if err != nil {
				return nil, err
			}
			return m.driver(b.Name, d), nil
		}}
	}
	return out
}

// driver wraps d by its kind; a driver of neither kind is left as it is
// (the engine refuses it at its first call).
func (m *Metrics) driver(backend string, d southbound.Driver) southbound.Driver {
	o := callObserver{m: m, backend: backend}
	switch d := d.(type) {
	case southbound.DataDriver:
		return &dataDriver{DataDriver: d, o: o}
	case southbound.Forwarder:
		f := &forwarder{Forwarder: d, o: o}
		c, counts := d.(southbound.Counter)
		p, probes := d.(southbound.Prober)
		switch {
		case counts && probes:
			return &liveForwarder{forwarder: f, c: countingForwarder{f, c}, p: probingForwarder{f, p}}
		case counts:
			return &countingForwarder{f, c}
		case probes:
			return &probingForwarder{f, p}
		}
		return f
	}
	return d
}

// callObserver records driver calls of one backend.
type callObserver struct {
	m       *Metrics
	backend string
}

func (o callObserver) observe(op string, start time.Time, err error) {
	o.m.realizeSeconds.WithLabelValues(o.backend, op).Observe(time.Since(start).Seconds())
	if err != nil {
		o.m.realizeFailures.WithLabelValues(o.backend, op).Inc()
	}
}

type forwarder struct {
	southbound.Forwarder
	o callObserver
}

func (f *forwarder) Apply(ctx context.Context, changes []routing.Change) error {
	start := time.Now()
	err := f.Forwarder.Apply(ctx, changes)
	f.o.observe("apply", start, err)
	return err
}

func (f *forwarder) Reconcile(ctx context.Context, hosts []*routing.HostView) ([]string, error) {
	start := time.Now()
	drift, err := f.Forwarder.Reconcile(ctx, hosts)
	f.o.observe("reconcile", start, err)
	return drift, err
}

// countingForwarder is a measured forwarder that also counts traffic,
// so the engine still finds its southbound.Counter.
type countingForwarder struct {
	*forwarder
	c southbound.Counter
}

func (f *countingForwarder) Counters(ctx context.Context, hosts []string) (map[southbound.PortRef]southbound.PortCounters, error) {
	start := time.Now()
	m, err := f.c.Counters(ctx, hosts)
	f.o.observe("counters", start, err)
	return m, err
}

// probingForwarder is a measured forwarder that probes its instances, so
// the engine still finds its southbound.Prober.
type probingForwarder struct {
	*forwarder
	p southbound.Prober
}

func (f *probingForwarder) Probe(ctx context.Context, hosts []string) (map[southbound.PortRef]southbound.Liveness, error) {
	start := time.Now()
	m, err := f.p.Probe(ctx, hosts)
	f.o.observe("probe", start, err)
	return m, err
}

// liveForwarder is a measured forwarder that counts and probes.
type liveForwarder struct {
	*forwarder
	c countingForwarder
	p probingForwarder
}

func (f *liveForwarder) Counters(ctx context.Context, hosts []string) (map[southbound.PortRef]southbound.PortCounters, error) {
	return f.c.Counters(ctx, hosts)
}

func (f *liveForwarder) Probe(ctx context.Context, hosts []string) (map[southbound.PortRef]southbound.Liveness, error) {
	return f.p.Probe(ctx, hosts)
}

type dataDriver struct {
	southbound.DataDriver
	o callObserver
}

func (d *dataDriver) ApplyData(ctx context.Context, changes []southbound.DataChange) error {
	start := time.Now()
	err := d.DataDriver.ApplyData(ctx, changes)
	d.o.observe("apply", start, err)
	return err
}

func (d *dataDriver) ReconcileData(ctx context.Context, state []southbound.DataChange) ([]string, error) {
	start := time.Now()
	drift, err := d.DataDriver.ReconcileData(ctx, state)
	d.o.observe("reconcile", start, err)
	return drift, err
}
