package daemon

import (
	"bytes"
	"context"
	"fmt"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/bgp"
	"github.com/netready/netready/southbound/ebpffwd"
	"github.com/netready/netready/southbound/gnmidriver"
	"github.com/netready/netready/southbound/interconnect"
	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/realize"
	"github.com/netready/netready/southbound/routing"
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

// newTerm is a fresh realization engine with its BGP speaker and the
// gateway's interconnects, for one term of realizing.
func (d *Daemon) newTerm(sch *schema.Schema) *term {
	t := &term{bgp: bgp.New(d.log), gw: interconnect.New(d.cfg.Gateway, d.log)}
	// The tunnel first: a session over it comes up at once.
	ann := realize.Announcers{t.gw, t.bgp}
	t.eng = realize.New(sch, realize.Config{Registry: d.drivers(), Logger: d.log, Announcer: ann,
		Routing: routing.Options{MinLabel: d.cfg.LabelMin}, ProbeEvery: probeEvery, Observer: d.metrics})
	return t
}

// startSouthbound hands the committed configuration to the realization
// engine and reconciles every backend in the background: the server
// serves meanwhile, and a Set waits only for the backends it touches.
// A replica does so each time it is elected, and stops when deposed
// (realizing.lead, driven by the replica's role).
func (d *Daemon) startSouthbound(ctx context.Context) error {
	if d.realize == nil {
		return nil
	}
	if d.replica != nil {
		d.realize.follow(d.ds, d.realizeState)
		return nil
	}
	state, err := d.realizeState(ctx)
	if err != nil {
		return err
	}
	if err := d.realize.start(ctx, d.ds, state); err != nil {
		return fmt.Errorf("southbound: %w", err)
	}
	return nil
}

// realizeState reads the engine's stored assignments.
func (d *Daemon) realizeState(ctx context.Context) (map[string][]byte, error) {
	state := map[string][]byte{}
	err := d.st.State(ctx, realize.StatePrefix, func(k string, v []byte) error {
		state[k] = bytes.Clone(v)
		return nil
	})
	return state, err
}
