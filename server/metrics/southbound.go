package metrics

import (
	"context"
	"time"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/l2"
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
		if l, ok := d.(southbound.L2Forwarder); ok {
			return &l2Forwarder{forwarder: f, l2: l}
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

// l2Forwarder is a measured forwarder that also realizes L2 networks: it
// stays an L2Forwarder, its L2 calls measured under their own operations.
type l2Forwarder struct {
	*forwarder
	l2 southbound.L2Forwarder
}

func (f *l2Forwarder) ApplyL2(ctx context.Context, changes []l2.Change) error {
	start := time.Now()
	err := f.l2.ApplyL2(ctx, changes)
	f.o.observe("apply-l2", start, err)
	return err
}

func (f *l2Forwarder) ReconcileL2(ctx context.Context, hosts []*l2.HostView) ([]string, error) {
	start := time.Now()
	drift, err := f.l2.ReconcileL2(ctx, hosts)
	f.o.observe("reconcile-l2", start, err)
	return drift, err
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
