package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/gnmidriver"
	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/realize"
	"github.com/netready/netready/southbound/webhook"
)

// Drivers returns the driver kinds built into netreadyd.
func Drivers() southbound.Registry {
	r := southbound.Registry{}
	linuxfwd.Register(r)
	gnmidriver.Register(r)
	webhook.Register(r)
	return r
}

func (d *Daemon) drivers() southbound.Registry {
	if d.cfg.Drivers != nil {
		return d.cfg.Drivers
	}
	return Drivers()
}

// startSouthbound hands the committed configuration to the realization
// engine and reconciles every backend in the background: the server
// serves meanwhile, and Sets wait for the backends they touch.
func (d *Daemon) startSouthbound(ctx context.Context) error {
	if d.realize == nil {
		return nil
	}
	state, err := d.st.State(ctx, realize.StateKey)
	if err != nil {
		return err
	}
	if err := d.realize.Start(ctx, d.ds.Snapshot().Root, state, d.ds.UpdateState); err != nil {
		return fmt.Errorf("southbound: %w", err)
	}
	go func() {
		start := time.Now()
		drift, err := d.realize.Reconcile(context.Background())
		n := 0
		for _, lines := range drift {
			n += len(lines)
		}
		if err != nil {
			d.log.Error("start-up reconciliation", "err", err, "took", time.Since(start).String())
			return
		}
		d.log.Info("backends reconciled", "backends", len(drift), "drift", n, "took", time.Since(start).String())
	}()
	return nil
}
