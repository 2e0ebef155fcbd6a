package metrics

import (
	"context"
	"time"

	"github.com/netready/netready/server/store"
)

// Store returns st measured: every Apply is one group commit, whose size
// and durable write time are recorded. Everything else passes through.
func (m *Metrics) Store(st store.Store) store.Store { return &meteredStore{Store: st, m: m} }

type meteredStore struct {
	store.Store
	m *Metrics
}

func (s *meteredStore) Apply(ctx context.Context, commits []*store.Commit) error {
	start := time.Now()
	if err := s.Store.Apply(ctx, commits); err != nil {
		s.m.writeFailures.Inc()
		return err
	}
	s.m.writeSeconds.Observe(time.Since(start).Seconds())
	s.m.batchSize.Observe(float64(len(commits)))
	return nil
}
