package metrics

import "time"

// ObserveDriver records one call the realization engine made to a
// backend's driver: op is "apply", "reconcile", "apply-l2",
// "reconcile-l2", "counters" or "probe". The engine calls it (through
// its Config.Observer) around every driver call, so every kind of driver
// and every optional interface is measured without wrapping the driver,
// and this package needs nothing from southbound. Series stay after a
// backend is removed, so counters never go back.
func (m *Metrics) ObserveDriver(backend, op string, took time.Duration, err error) {
	m.realizeSeconds.WithLabelValues(backend, op).Observe(took.Seconds())
	if err != nil {
		m.realizeFailures.WithLabelValues(backend, op).Inc()
	}
}
