package ebpffwd

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// The four entry points that change hosts (Apply, ApplyL2, Reconcile,
// ReconcileL2) share how they take the driver, find each host and leave
// it: the helpers below hold that part, so the L3 and L2 paths cannot
// drift apart in how a failed host is read again or a gone host treated.

// begin takes the driver for one call: the caller unlocks d.mu. A new
// epoch makes host() check each namespace once in the call.
func (d *Driver) begin() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return errors.New("driver closed")
	}
	d.epoch++
	return nil
}

// change is one step of an Apply or ApplyL2 call: the host it is for,
// whether it deletes (a delete on a host whose namespace is gone
// succeeds), how to do it and what it is (asked only for an error).
type change struct {
	host   string
	delete bool
	do     func(*host) error
	what   func() string
}

// applyChanges does changes in order, then flushes every host they
// touched and lets tidy remove what the host no longer needs. A host the
// call failed on is read from the kernel again next time.
func (d *Driver) applyChanges(ctx context.Context, changes []change, tidy func(*host)) error {
	touched := make(map[*host]bool)
	err := d.doChanges(ctx, changes, touched)
	for h := range touched {
		if ferr := h.flush(); ferr != nil && err == nil {
			err = fmt.Errorf("%s: %w", h.name, ferr)
		}
		if err != nil {
			h.stale = true
		}
		tidy(h)
	}
	return err
}

func (d *Driver) doChanges(ctx context.Context, changes []change, touched map[*host]bool) error {
	for _, c := range changes {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %s: %w", c.host, c.what(), err)
		}
		h, err := d.host(c.host)
		if c.delete && errors.Is(err, os.ErrNotExist) {
			continue // nothing to delete on a host that is not there
		}
		if err != nil {
			return fmt.Errorf("host %s: %w", c.host, err)
		}
		touched[h] = true
		if err := c.do(h); err != nil {
			return fmt.Errorf("%s: %s: %w", c.host, c.what(), err)
		}
	}
	return nil
}

// hostState is what Reconcile or ReconcileL2 makes one host hold: empty
// when it should hold nothing (then a host that is not up is in sync),
// and fix, which corrects the host, flushed or not, and returns one line
// per difference.
type hostState struct {
	host  string
	empty bool
	fix   func(*host) ([]string, error)
}

// reconcileHosts reads each host again (opening its namespace again, in
// case it was replaced) and corrects it, returning the differences as
// "host: line". It stops at the first host that fails, which is read
// again next time.
func (d *Driver) reconcileHosts(ctx context.Context, states []hostState) ([]string, error) {
	var drift []string
	for _, s := range states {
		if err := ctx.Err(); err != nil {
			return drift, err
		}
		if h := d.hosts[s.host]; h != nil {
			h.stale = true
		}
		h, err := d.host(s.host)
		if s.empty && errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return drift, fmt.Errorf("host %s: %w", s.host, err)
		}
		lines, err := s.fix(h)
		for _, l := range lines {
			drift = append(drift, s.host+": "+l)
		}
		if err != nil {
			h.stale = true
			return drift, fmt.Errorf("host %s: %w", s.host, err)
		}
	}
	return drift, nil
}
