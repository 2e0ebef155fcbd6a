package realize_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/l2"
	"github.com/netready/netready/southbound/routing"
)

// The fakes below are drivers, not mocks of the engine: they implement the
// southbound contract (idempotent Apply, Reconcile that corrects and reports
// drift) over state kept in memory, the way linuxfwd and gnmidriver keep it
// on a kernel or a target. Faults are injected per backend name, so they
// apply to whichever driver the engine has open for that backend.

// fakeNet is the network the fake drivers of one test realize: every
// backend's drivers, the faults to inject, and one call log ordering all
// calls of all drivers.
type fakeNet struct {
	mu      sync.Mutex
	seq     int
	calls   []call
	drivers map[string][]fakeDriver // per backend, in opening order
	faults  map[string]*fault
	// state is each backend's realized state: it outlives the drivers
	// (closing a driver leaves the backend as it is).
	fwd  map[string]map[string]map[string]*routing.VRF // backend → host → VRF ID
	data map[string]map[string]string                  // backend → path → JSON
	l2   map[string]map[string]map[string]l2.Segment   // backend → host → segment ID
	// silent are the interfaces whose instance does not answer Probe,
	// with the reason.
	silent map[string]string
}

// fakeDriver is what fakeNet records of an opened driver.
type fakeDriver interface {
	southbound.Driver
	isClosed() bool
}

// call is one driver call: what it was and when it started and ended on
// the fakeNet's sequence.
type call struct {
	backend    string
	op         string // apply, reconcile
	changes    []string
	start, end int
	err        error
}

// fault is what to do wrong on one backend.
type fault struct {
	// failApply fails the Apply/ApplyData call that makes applies equal
	// to it (set it to applies+1 to fail the next), after applying the
	// first partial changes of that call.
	failApply, partial int
	// failReconcile fails every Reconcile/ReconcileData.
	failReconcile error
	// gate, when set, holds every call until it is closed, whatever the
	// context says (a hung backend); entered is signalled (without
	// blocking) as each call is held.
	gate    chan struct{}
	entered chan string
	applies int
}

func newFakeNet() *fakeNet {
	return &fakeNet{
		drivers: map[string][]fakeDriver{}, faults: map[string]*fault{},
		fwd: map[string]map[string]map[string]*routing.VRF{}, data: map[string]map[string]string{},
		l2:     map[string]map[string]map[string]l2.Segment{},
		silent: map[string]string{},
	}
}

// registry opens fake forwarders under the scenarios' two driver kinds
// and fake data drivers under "fake-data".
func (n *fakeNet) registry() southbound.Registry {
	fwd := southbound.Plugin{Caps: southbound.Capabilities{Forwarding: true, L2: true}, Open: func(_ context.Context, b southbound.Backend) (southbound.Driver, error) {
		d := &fakeForwarder{net: n, name: b.Name}
		n.opened(b.Name, d)
		return d, nil
	}}
	return southbound.Registry{
		"linux-vforwarder": fwd,
		"ebpf-vforwarder":  fwd,
		"fake-data": {Open: func(_ context.Context, b southbound.Backend) (southbound.Driver, error) {
			if err := southbound.CheckOptions(b, southbound.PathsOption); err != nil {
				return nil, err
			}
			d := &fakeData{net: n, name: b.Name}
			n.opened(b.Name, d)
			return d, nil
		}},
	}
}

func (n *fakeNet) opened(name string, d fakeDriver) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.drivers[name] = append(n.drivers[name], d)
}

// fault returns the backend's fault settings, to change under n.mu (use
// n.inject).
func (n *fakeNet) inject(name string, set func(f *fault)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f := n.faults[name]
	if f == nil {
		f = &fault{}
		n.faults[name] = f
	}
	set(f)
}

// begin logs the start of a call and waits at the backend's gate, if any.
// It returns the call's index and the fault to apply.
func (n *fakeNet) begin(backend, op string, changes []string) (int, fault) {
	n.mu.Lock()
	n.seq++
	n.calls = append(n.calls, call{backend: backend, op: op, changes: changes, start: n.seq})
	i := len(n.calls) - 1
	f := fault{}
	if p := n.faults[backend]; p != nil {
		if op == "apply" {
			p.applies++
		}
		f = *p
	}
	n.mu.Unlock()
	if f.gate != nil {
		if f.entered != nil {
			select {
			case f.entered <- backend:
			default:
			}
		}
		<-f.gate
	}
	return i, f
}

func (n *fakeNet) end(i int, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seq++
	n.calls[i].end, n.calls[i].err = n.seq, err
}

// callsOf returns the logged calls of a backend.
func (n *fakeNet) callsOf(backend string) []call {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []call
	for _, c := range n.calls {
		if c.backend == backend {
			out = append(out, c)
		}
	}
	return out
}

// mark returns the current position in the call log, for sinceMark.
func (n *fakeNet) mark() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.calls)
}

// since returns the calls of backend logged after mark m.
func (n *fakeNet) since(m int, backend string) []call {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []call
	for _, c := range n.calls[m:] {
		if c.backend == backend {
			out = append(out, c)
		}
	}
	return out
}

// fwdState is a forwarder backend's state in a canonical encoding: hosts
// with their VRFs, ports and routes, sorted; hosts without VRFs left out.
func (n *fakeNet) fwdState(backend string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return encodeHosts(n.fwd[backend])
}

// dataState is a data backend's state in a canonical encoding.
func (n *fakeNet) dataState(backend string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return encodeData(n.data[backend])
}

// driversOf returns the drivers opened for a backend.
func (n *fakeNet) driversOf(backend string) []fakeDriver {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.drivers[backend])
}

// fakeForwarder is a southbound.Forwarder over fakeNet's state.
type fakeForwarder struct {
	net    *fakeNet
	name   string
	mu     sync.Mutex // the contract: one goroutine at a time
	closed bool
}

func (d *fakeForwarder) Close() error {
	d.net.mu.Lock()
	defer d.net.mu.Unlock()
	d.closed = true
	return nil
}

func (d *fakeForwarder) isClosed() bool {
	d.net.mu.Lock()
	defer d.net.mu.Unlock()
	return d.closed
}

// ApplyL2 sets and deletes segments as the changes say.
func (d *fakeForwarder) ApplyL2(_ context.Context, changes []l2.Change) error {
	d.net.mu.Lock()
	defer d.net.mu.Unlock()
	for _, c := range changes {
		segs := d.net.l2Host(d.name, c.Host)
		if c.Op == l2.Delete {
			delete(segs, c.Segment.ID)
		} else {
			segs[c.Segment.ID] = c.Segment
		}
	}
	return nil
}

// ReconcileL2 makes each host hold its view's segments; it reports no
// drift (the L2 fake holds what it was last given).
func (d *fakeForwarder) ReconcileL2(_ context.Context, hosts []*l2.HostView) ([]string, error) {
	d.net.mu.Lock()
	defer d.net.mu.Unlock()
	for _, hv := range hosts {
		segs := d.net.l2Host(d.name, hv.Host)
		clear(segs)
		for _, s := range hv.Networks {
			segs[s.ID] = s
		}
	}
	return nil, nil
}

// l2Host returns the segments backend holds on host; the caller holds
// n.mu.
func (n *fakeNet) l2Host(backend, host string) map[string]l2.Segment {
	if n.l2[backend] == nil {
		n.l2[backend] = map[string]map[string]l2.Segment{}
	}
	if n.l2[backend][host] == nil {
		n.l2[backend][host] = map[string]l2.Segment{}
	}
	return n.l2[backend][host]
}

// l2State returns what backend holds of L2, host by host (hosts holding
// nothing left out).
func (n *fakeNet) l2State(backend string) map[string]map[string]l2.Segment {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[string]map[string]l2.Segment{}
	for host, segs := range n.l2[backend] {
		if len(segs) > 0 {
			out[host] = maps.Clone(segs)
		}
	}
	return out
}

// Apply applies the changes in order, idempotently, failing on a port or
// route of a VRF that does not exist (a real backend has nowhere to put
// it).
func (d *fakeForwarder) Apply(ctx context.Context, changes []routing.Change) (err error) {
	if !d.mu.TryLock() {
		return errors.New("fake: concurrent use of a driver")
	}
	defer d.mu.Unlock()
	lines := make([]string, len(changes))
	for i, c := range changes {
		lines[i] = c.String()
	}
	i, f := d.net.begin(d.name, "apply", lines)
	defer func() { d.net.end(i, err) }()
	if d.isClosed() {
		return errors.New("fake: driver closed")
	}
	n := len(changes)
	failing := f.failApply != 0 && f.applies == f.failApply
	if failing {
		n = min(f.partial, n)
	}
	d.net.mu.Lock()
	defer d.net.mu.Unlock()
	hosts := d.net.fwd[d.name]
	if hosts == nil {
		hosts = map[string]map[string]*routing.VRF{}
		d.net.fwd[d.name] = hosts
	}
	for _, c := range changes[:n] {
		if err := applyChange(hosts, c); err != nil {
			return err
		}
	}
	if failing {
		return fmt.Errorf("fake: injected failure after %d of %d changes", n, len(changes))
	}
	return ctx.Err()
}

func applyChange(hosts map[string]map[string]*routing.VRF, c routing.Change) error {
	vrfs := hosts[c.Host]
	if vrfs == nil {
		vrfs = map[string]*routing.VRF{}
		hosts[c.Host] = vrfs
	}
	v := vrfs[c.VRF]
	if c.Kind != routing.KindVRF && v == nil {
		if c.Op == routing.Delete {
			return nil
		}
		return fmt.Errorf("fake: %s: no VRF %s on %s", c, c.VRF, c.Host)
	}
	switch c.Kind {
	case routing.KindVRF:
		if c.Op == routing.Delete {
			delete(vrfs, c.VRF)
			return nil
		}
		nv := clone(*c.Spec)
		if v != nil {
			nv.Ports, nv.Routes = v.Ports, v.Routes
		}
		vrfs[c.VRF] = &nv
	case routing.KindPort:
		v.Ports = slices.DeleteFunc(v.Ports, func(p routing.Port) bool { return p.Interface == c.Port })
		if c.Op != routing.Delete {
			v.Ports = append(v.Ports, *c.PortSpec)
			slices.SortFunc(v.Ports, func(a, b routing.Port) int { return strings.Compare(a.Interface, b.Interface) })
		}
	case routing.KindRoute:
		v.Routes = slices.DeleteFunc(v.Routes, func(r routing.Route) bool { return r.Prefix == c.Prefix })
		if c.Op != routing.Delete {
			v.Routes = append(v.Routes, clone(*c.Route))
			slices.SortFunc(v.Routes, func(a, b routing.Route) int { return a.Prefix.Compare(b.Prefix) })
		}
	}
	return nil
}

// Reconcile makes each listed host hold exactly its view and reports what
// differed; like linuxfwd, hosts not listed are left as they are.
func (d *fakeForwarder) Reconcile(ctx context.Context, hosts []*routing.HostView) (drift []string, err error) {
	if !d.mu.TryLock() {
		return nil, errors.New("fake: concurrent use of a driver")
	}
	defer d.mu.Unlock()
	i, f := d.net.begin(d.name, "reconcile", hostNamesOf(hosts))
	defer func() { d.net.end(i, err) }()
	if d.isClosed() {
		return nil, errors.New("fake: driver closed")
	}
	if f.failReconcile != nil {
		return nil, f.failReconcile
	}
	d.net.mu.Lock()
	defer d.net.mu.Unlock()
	state := d.net.fwd[d.name]
	if state == nil {
		state = map[string]map[string]*routing.VRF{}
		d.net.fwd[d.name] = state
	}
	for _, hv := range hosts {
		want := map[string]*routing.VRF{}
		for _, v := range hv.VRFs {
			c := clone(flatVRF(v))
			want[v.ID] = &c
		}
		for _, id := range slices.Sorted(maps.Keys(union(state[hv.Host], want))) {
			have, ok := state[hv.Host][id]
			w, wok := want[id]
			switch {
			case !ok:
				drift = append(drift, hv.Host+": VRF "+id+" missing")
			case !wok:
				drift = append(drift, hv.Host+": VRF "+id+" extra")
			case encode(have) != encode(w):
				drift = append(drift, hv.Host+": VRF "+id+" differs")
			}
		}
		state[hv.Host] = want
	}
	return drift, ctx.Err()
}

func union(a, b map[string]*routing.VRF) map[string]*routing.VRF {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]*routing.VRF{}
	}
	maps.Copy(out, b)
	return out
}

func hostNamesOf(hosts []*routing.HostView) []string {
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = h.Host
	}
	return out
}

// fakeData is a southbound.DataDriver over fakeNet's state: objects by
// path.
type fakeData struct {
	net    *fakeNet
	name   string
	mu     sync.Mutex
	closed bool
}

func (d *fakeData) Close() error {
	d.net.mu.Lock()
	defer d.net.mu.Unlock()
	d.closed = true
	return nil
}

func (d *fakeData) isClosed() bool {
	d.net.mu.Lock()
	defer d.net.mu.Unlock()
	return d.closed
}

// ApplyData updates or deletes (with what is below) each object in order.
func (d *fakeData) ApplyData(ctx context.Context, changes []southbound.DataChange) (err error) {
	if !d.mu.TryLock() {
		return errors.New("fake: concurrent use of a driver")
	}
	defer d.mu.Unlock()
	lines := make([]string, len(changes))
	for i, c := range changes {
		lines[i] = c.Op.String() + " " + c.Path
	}
	i, f := d.net.begin(d.name, "apply", lines)
	defer func() { d.net.end(i, err) }()
	if d.isClosed() {
		return errors.New("fake: driver closed")
	}
	n := len(changes)
	failing := f.failApply != 0 && f.applies == f.failApply
	if failing {
		n = min(f.partial, n)
	}
	d.net.mu.Lock()
	defer d.net.mu.Unlock()
	objs := d.net.data[d.name]
	if objs == nil {
		objs = map[string]string{}
		d.net.data[d.name] = objs
	}
	for _, c := range changes[:n] {
		if c.Op == southbound.DataDelete {
			maps.DeleteFunc(objs, func(p, _ string) bool { return p == c.Path || strings.HasPrefix(p, c.Path+"/") })
		} else {
			objs[c.Path] = string(c.JSON)
		}
	}
	if failing {
		return fmt.Errorf("fake: injected failure after %d of %d changes", n, len(changes))
	}
	return ctx.Err()
}

// ReconcileData makes the backend hold exactly state.
func (d *fakeData) ReconcileData(ctx context.Context, state []southbound.DataChange) (drift []string, err error) {
	if !d.mu.TryLock() {
		return nil, errors.New("fake: concurrent use of a driver")
	}
	defer d.mu.Unlock()
	i, f := d.net.begin(d.name, "reconcile", nil)
	defer func() { d.net.end(i, err) }()
	if d.isClosed() {
		return nil, errors.New("fake: driver closed")
	}
	if f.failReconcile != nil {
		return nil, f.failReconcile
	}
	want := map[string]string{}
	for _, c := range state {
		want[c.Path] = string(c.JSON)
	}
	d.net.mu.Lock()
	defer d.net.mu.Unlock()
	have := d.net.data[d.name]
	for p := range have {
		if _, ok := want[p]; !ok {
			drift = append(drift, p+" extra")
		}
	}
	for p, j := range want {
		if h, ok := have[p]; !ok || h != j {
			drift = append(drift, p+" differs")
		}
	}
	slices.Sort(drift)
	d.net.data[d.name] = want
	return drift, ctx.Err()
}

// clone deep-copies a value of plain data, so the fakes never share
// memory with the engine's results.
// flatVRF returns v with its learnt routes merged into Routes: what a
// forwarder holds, in the form the fake keeps.
func flatVRF(v routing.VRF) routing.VRF {
	v.Routes, v.Learnt = slices.Collect(v.AllRoutes()), routing.LearntRoutes{}
	return v
}

func clone[T any](v T) T {
	var out T
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	if err != nil {
		panic(err)
	}
	return out
}

func encode(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// encodeHosts is the canonical form of a forwarder state: json sorts map
// keys; empty hosts are left out.
func encodeHosts(hosts map[string]map[string]*routing.VRF) string {
	out := map[string][]*routing.VRF{}
	for h, vrfs := range hosts {
		for _, id := range slices.Sorted(maps.Keys(vrfs)) {
			v := *vrfs[id]
			// nil and empty lists are the same state
			for _, l := range []*[]string{&v.ImportRTs, &v.ExportRTs} {
				if len(*l) == 0 {
					*l = nil
				}
			}
			if len(v.Ports) == 0 {
				v.Ports = nil
			}
			if len(v.Routes) == 0 {
				v.Routes = nil
			}
			out[h] = append(out[h], &v)
		}
	}
	return encode(out)
}

func encodeData(objs map[string]string) string { return encode(objs) }

// wantHosts is the canonical form of what res says backend must hold.
func wantHosts(res routing.Result, backend string) string {
	hosts := map[string]map[string]*routing.VRF{}
	for _, hv := range res.Hosts {
		if hv.Backend != backend || len(hv.VRFs) == 0 {
			continue
		}
		hosts[hv.Host] = map[string]*routing.VRF{}
		for _, v := range hv.VRFs {
			c := clone(flatVRF(v))
			hosts[hv.Host][v.ID] = &c
		}
	}
	return encodeHosts(hosts)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Counters counts, for every port the backend holds on hosts, a value
// made of its label (in: label packets of 100 octets; out: twice that),
// so a test can tell every port's counters from its label.
func (d *fakeForwarder) Counters(ctx context.Context, hosts []string) (out map[southbound.PortRef]southbound.PortCounters, err error) {
	if !d.mu.TryLock() {
		return nil, errors.New("fake: concurrent use of a driver")
	}
	defer d.mu.Unlock()
	i, _ := d.net.begin(d.name, "counters", hosts)
	defer func() { d.net.end(i, err) }()
	d.net.mu.Lock()
	defer d.net.mu.Unlock()
	out = map[southbound.PortRef]southbound.PortCounters{}
	for _, h := range hosts {
		for id, v := range d.net.fwd[d.name][h] {
			for _, p := range v.Ports {
				l := uint64(p.Label)
				out[southbound.PortRef{Host: h, VRF: id, Interface: p.Interface}] = southbound.PortCounters{
					InPackets: l, InOctets: 100 * l, OutPackets: 2 * l, OutOctets: 200 * l}
			}
		}
	}
	return out, ctx.Err()
}

// Probe reports every port the backend holds on hosts: silent ones do
// not answer.
func (d *fakeForwarder) Probe(ctx context.Context, hosts []string) (out map[southbound.PortRef]southbound.Liveness, err error) {
	if !d.mu.TryLock() {
		return nil, errors.New("fake: concurrent use of a driver")
	}
	defer d.mu.Unlock()
	i, _ := d.net.begin(d.name, "probe", hosts)
	defer func() { d.net.end(i, err) }()
	d.net.mu.Lock()
	defer d.net.mu.Unlock()
	out = map[southbound.PortRef]southbound.Liveness{}
	for _, h := range hosts {
		for id, v := range d.net.fwd[d.name][h] {
			for _, p := range v.Ports {
				reason, silent := d.net.silent[p.Interface]
				out[southbound.PortRef{Host: h, VRF: id, Interface: p.Interface}] = southbound.Liveness{Answers: !silent, Reason: reason}
			}
		}
	}
	return out, ctx.Err()
}

// silence makes the instances of ifaces stop answering (reason) or, with
// reason "", answer again.
func (n *fakeNet) silence(reason string, ifaces ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, i := range ifaces {
		if reason == "" {
			delete(n.silent, i)
		} else {
			n.silent[i] = reason
		}
	}
}
