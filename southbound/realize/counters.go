package realize

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/netready/netready/server/live"
	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/southbound"
	"github.com/netready/netready/southbound/routing"
)

// Traffic counters are live state (server/live): the engine reads them
// from the drivers that count (southbound.Counter) when a reader asks,
// and never writes them into the tree.

// counterNodes are the schema nodes of one counters container.
type counterNodes struct {
	container, inPkts, inOctets, outPkts, outOctets *schema.Node
}

func countersOf(entry *schema.Node) counterNodes {
	c := child(entry, "counters")
	return counterNodes{container: c, inPkts: child(c, "in-pkts"), inOctets: child(c, "in-octets"),
		outPkts: child(c, "out-pkts"), outOctets: child(c, "out-octets")}
}

// liveDriver is a driver asked for live state or liveness outside
// transactions, with its backend's timeout.
type liveDriver struct {
	drv     *driver
	timeout time.Duration
}

// countingDrivers returns the open drivers of admin-up backends that
// count, by backend. The caller holds e.mu.
func (e *Engine) countingDrivers() map[string]liveDriver {
	out := map[string]liveDriver{}
	for name, b := range e.backends {
		if b.drv == nil || !b.cfg.AdminUp {
			continue
		}
		if _, ok := b.drv.Driver.(southbound.Counter); ok {
			out[name] = liveDriver{drv: b.drv, timeout: b.cfg.Timeout}
		}
	}
	return out
}

// LivePaths implements live.Source: the counters of every binding and
// of every VPN, and the VPNs' learnt routes (learntlive.go).
func (e *Engine) LivePaths() [][]string {
	out := e.learntLivePaths()
	for _, n := range []counterNodes{e.paths.vpnCnt, e.paths.bindCnt} {
		for _, leaf := range []*schema.Node{n.inPkts, n.inOctets, n.outPkts, n.outOctets} {
			out = append(out, strings.Split(strings.TrimPrefix(leaf.Path, "/"), "/"))
		}
	}
	return out
}

// ReadLive implements live.Source. It asks every counting backend that
// serves a host holding a binding in, or a binding of a VPN in, asks for
// (in the published target), in parallel, each through its driver's lock
// (after the transaction or reconciliation holding it) and within ctx
// and the backend's timeout. It never takes the engine lock, so a Set
// being realized does not hold up readers of backends it does not
// touch. A binding whose backend did not answer gets no counters; a VPN
// with such a binding gets no sum. The learnt routes asked for come from
// the engine's memory (learntlive.go).
func (e *Engine) ReadLive(ctx context.Context, root *tree.Node, in live.Scope) realizer.Status {
	learnt := e.readLearnt(in)
	t, cds := e.target.Load(), e.counting.Load()
	if t == nil || cds == nil {
		return learnt
	}
	w := e.askedFor(t.result, in)
	hosts := map[string][]string{}
	for name, h := range t.result.Hosts {
		if _, ok := (*cds)[h.Backend]; ok && w.hosts[name] {
			hosts[h.Backend] = append(hosts[h.Backend], name)
		}
	}
	read := e.readCounters(ctx, *cds, hosts)
	return append(e.counterEdits(t.result, read, w), learnt...)
}

// asked is what a reader asks for: the counters of which bindings and
// VPNs (by their counters container's path), and so which hosts to read.
type asked struct {
	bindings, vpns map[string]bool // by path
	hosts          map[string]bool
}

// askedFor finds, in res, the bindings and VPNs whose counters in asks
// for, and the hosts holding them (every host of a VPN whose sum is asked
// for).
func (e *Engine) askedFor(res routing.Result, in live.Scope) asked {
	p := e.paths
	w := asked{bindings: map[string]bool{}, vpns: map[string]bool{}, hosts: map[string]bool{}}
	vpnAsked := map[[2]string]bool{}
	for host, hv := range res.Hosts {
		for _, v := range hv.VRFs {
			k := [2]string{v.Tenant, v.VPN}
			vp := vpnCounters(p, v.Tenant, v.VPN)
			yes, seen := vpnAsked[k]
			if !seen {
				yes = in.In(tree.GNMIElems(vp))
				vpnAsked[k] = yes
				w.vpns[tree.PathString(vp)] = yes
			}
			for _, port := range v.Ports {
				bp := bindingCounters(p, v.Tenant, v.VPN, port.Interface)
				b := in.In(tree.GNMIElems(bp))
				w.bindings[tree.PathString(bp)] = b
				if b || yes {
					w.hosts[host] = true
				}
			}
		}
	}
	return w
}

// vpnCounters and bindingCounters are the paths of a VPN's and of a
// binding's counters container.
func vpnCounters(p *statusPaths, tenant, vpn string) tree.Path {
	return tree.Path{{Schema: p.tenants}, keyed(p.tenant, tenant), {Schema: p.vpns}, keyed(p.vpn, vpn), {Schema: p.vpnCnt.container}}
}

func bindingCounters(p *statusPaths, tenant, vpn, iface string) tree.Path {
	return tree.Path{{Schema: p.tenants}, keyed(p.tenant, tenant), {Schema: p.vpns}, keyed(p.vpn, vpn),
		{Schema: p.bindings}, keyed(p.binding, iface), {Schema: p.bindCnt.container}}
}

// readCounters asks each backend for its hosts' counters in parallel and
// returns what those that answered counted.
func (e *Engine) readCounters(ctx context.Context, cds map[string]liveDriver, hosts map[string][]string) map[southbound.PortRef]southbound.PortCounters {
	var mu sync.Mutex
	var wg sync.WaitGroup
	all := map[southbound.PortRef]southbound.PortCounters{}
	for backend, hs := range hosts {
		sort.Strings(hs)
		wg.Go(func() {
			m, err := callCounters(ctx, cds[backend], hs)
			if err != nil {
				e.log.Debug("counters not read", "backend", backend, "err", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for k, v := range m {
				all[k] = v
			}
		})
	}
	wg.Wait()
	return all
}

// callCounters calls Counters through the driver's lock.
func callCounters(ctx context.Context, c liveDriver, hosts []string) (map[southbound.PortRef]southbound.PortCounters, error) {
	return withDriver(ctx, c, func(ctx context.Context) (map[southbound.PortRef]southbound.PortCounters, error) {
		return call(c.drv, "counters", func() (map[southbound.PortRef]southbound.PortCounters, error) {
			return c.drv.Driver.(southbound.Counter).Counters(ctx, hosts)
		})
	})
}

// withDriver runs f on c's driver through the driver's lock (a Forwarder
// is used by one goroutine at a time), within ctx and the backend's
// timeout. A call that overruns is abandoned; it keeps the lock until
// the driver returns, as any abandoned call does (runJob).
func withDriver[T any](ctx context.Context, c liveDriver, f func(context.Context) (T, error)) (T, error) {
	var zero T
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	select {
	case c.drv.busy <- struct{}{}:
	case <-ctx.Done():
		return zero, fmt.Errorf("driver busy: %w", ctx.Err())
	}
	type answer struct {
		v   T
		err error
	}
	done := make(chan answer, 1)
	go func() {
		defer func() { <-c.drv.busy }()
		v, err := f(ctx)
		done <- answer{v, err}
	}()
	select {
	case a := <-done:
		return a.v, a.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// counterEdits turns what was read into the counters asked for: of the
// bindings the result places, and of their VPNs — the sum over the VPN's
// bindings in the result, only when every one of them was read.
func (e *Engine) counterEdits(res routing.Result, read map[southbound.PortRef]southbound.PortCounters, w asked) realizer.Status {
	type vpnSum struct {
		path     tree.Path
		sum      southbound.PortCounters
		complete bool
	}
	var out realizer.Status
	vpns := map[[2]string]*vpnSum{}
	var order [][2]string
	for host, hv := range res.Hosts {
		for _, v := range hv.VRFs {
			k := [2]string{v.Tenant, v.VPN}
			s := vpns[k]
			if s == nil {
				s = &vpnSum{complete: true, path: vpnCounters(e.paths, v.Tenant, v.VPN)}
				vpns[k] = s
				order = append(order, k)
			}
			for _, port := range v.Ports {
				c, ok := read[southbound.PortRef{Host: host, VRF: v.ID, Interface: port.Interface}]
				if !ok {
					s.complete = false
					continue
				}
				s.sum = add(s.sum, c)
				if bp := bindingCounters(e.paths, v.Tenant, v.VPN, port.Interface); w.bindings[tree.PathString(bp)] {
					out = appendCounters(out, bp, e.paths.bindCnt, c)
				}
			}
		}
	}
	for _, k := range order {
		if s := vpns[k]; s.complete && w.vpns[tree.PathString(s.path)] {
			out = appendCounters(out, s.path, e.paths.vpnCnt, s.sum)
		}
	}
	return out
}

// appendCounters appends the edits setting c in the counters container
// at path.
func appendCounters(out realizer.Status, path tree.Path, n counterNodes, c southbound.PortCounters) realizer.Status {
	obj := len(path) - 1 // the object the container is in
	base := path[:len(path):len(path)]
	for _, l := range []struct {
		s *schema.Node
		v uint64
	}{{n.inPkts, c.InPackets}, {n.inOctets, c.InOctets}, {n.outPkts, c.OutPackets}, {n.outOctets, c.OutOctets}} {
		out = append(out, realizer.Edit{Path: append(base[:len(base):len(base)], tree.Elem{Schema: l.s}), Object: obj, Value: l.v})
	}
	return out
}

func add(a, b southbound.PortCounters) southbound.PortCounters {
	return southbound.PortCounters{
		InPackets: a.InPackets + b.InPackets, InOctets: a.InOctets + b.InOctets,
		OutPackets: a.OutPackets + b.OutPackets, OutOctets: a.OutOctets + b.OutOctets,
	}
}
