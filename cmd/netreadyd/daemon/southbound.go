package daemon

import (
	"bytes"
	"context"
	"fmt"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/ebpffwd"
	"github.com/netready/netready/southbound/gnmidriver"
	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/realize"
	"github.com/netready/netready/southbound/webhook"
)

// Drivers returns the driver kinds built into netreadyd.
func Drivers() southbound.Registry {
	r := southbound.Registry{}
	linuxfwd.Register(r)
	ebpffwd.Register(r)
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
// serves meanwhile, and a Set waits only for the backends it touches.
func (d *Daemon) startSouthbound(ctx context.Context) error {
	if d.realize == nil {
		return nil
	}
	state := map[string][]byte{}
	if err := d.st.State(ctx, realize.StatePrefix, func(k string, v []byte) error {
		state[k] = bytes.Clone(v)
		return nil
	}); err != nil {
		return err
	}
	if err := d.realize.Start(ctx, d.ds.Snapshot().Root, state); err != nil {
		return fmt.Errorf("southbound: %w", err)
	}
	d.realize.ReconcileInBackground()
	return nil
}
