package ebpffwd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/netready/netready/southbound"
)

// The driver tells whether each port's instance answers.
var _ southbound.Prober = (*Driver)(nil)

// VNF liveness on vendor B. The data plane answers the guests' ARP
// itself and never asks a guest for its MAC (it delivers to the MAC the
// driver gave the guest end), so nothing in the kernel learns whether an
// instance still answers, and from_vnic drops the ARP replies a guest
// sends. The probe therefore asks actively, beside the data plane, with
// fwd.c unchanged: per vNIC one AF_PACKET socket bound to its host end
// sends an ARP request for each bound IPv4 address (unicast to the guest
// end's MAC, with the binding's tag, sender address 0.0.0.0 so the
// guest's neighbour table is not touched), and receives the replies:
// packet taps see a device's ingress frames before its TCX programs run,
// so from_vnic dropping them does not hide them. A classic BPF filter
// keeps only ARP replies, and the socket ignores the frames the device
// sends, so the data plane's own traffic costs one filter run per frame
// the guest sends and is never queued.

// Verdicts, from the host end's carrier and the replies (see
// docs/southbound.md, "VNF liveness"): an instance is dead at once when
// its vNIC has no carrier (the guest's end is down or gone) or its vNIC
// is gone; dead when at least missRounds requests in a row, the first
// sent at least missAfter ago, went unanswered; alive when a reply came
// since the last call; else nothing is known yet.
const (
	missRounds = 2
	missAfter  = time.Second
	// maxDrain bounds the replies read from one vNIC per call, so a
	// guest flooding ARP replies cannot hold the driver.
	maxDrain = 64
)

// hostProbe is what the probe keeps of one host between calls: the
// sockets of its vNICs and what each port's instance did.
type hostProbe struct {
	nsID  string                // the host namespace the sockets live in
	socks map[int]int           // vNIC host-end ifindex → socket
	ports map[uint32]*portProbe // by label
}

// portProbe is the probing of one port: what it probes (a change starts
// afresh) and the requests still unanswered.
type portProbe struct {
	ifindex    int
	vlan       uint16
	addr       netip.Addr
	unanswered int       // requests sent since the last reply
	since      time.Time // when the first of them was sent
}

// replyKey is what identifies a reply's port: its vNIC, its tag and the
// address it answered for.
type replyKey struct {
	ifindex int
	vlan    uint16
	addr    netip.Addr
}

// Probe returns what the driver knows of the instances behind the ports
// on hosts, and sends the next ARP requests; see southbound.Prober and
// the verdicts above. A port whose binding has no IPv4 address is not
// probed; nor, after a restart, one the driver read back from the maps
// until an Apply or Reconcile gives it its address.
func (d *Driver) Probe(ctx context.Context, hosts []string) (map[southbound.PortRef]southbound.Liveness, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errors.New("driver closed")
	}
	d.epoch++
	for name := range d.probes {
		if !slices.Contains(hosts, name) {
			d.dropProbe(name) // no longer the backend's: its sockets go
		}
	}
	out := make(map[southbound.PortRef]southbound.Liveness)
	now := time.Now()
	for _, name := range hosts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := d.host(name)
		if errors.Is(err, os.ErrNotExist) {
			d.dropProbe(name) // a host that is not up holds no ports
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", name, err)
		}
		if err := d.probeOf(name, h).round(h, now, out); err != nil {
			return nil, fmt.Errorf("host %s: probe: %w", name, err)
		}
	}
	return out, nil
}

// probeOf returns the probe state of host name, afresh when its namespace
// is not the one the state was made in (the host was rebuilt).
func (d *Driver) probeOf(name string, h *host) *hostProbe {
	id := h.ns.UniqueId()
	if p := d.probes[name]; p != nil && p.nsID == id {
		return p
	}
	d.dropProbe(name)
	if d.probes == nil {
		d.probes = make(map[string]*hostProbe)
	}
	p := &hostProbe{nsID: id, socks: make(map[int]int), ports: make(map[uint32]*portProbe)}
	d.probes[name] = p
	return p
}

// dropProbe closes and forgets the probe state of host name.
func (d *Driver) dropProbe(name string) {
	if p := d.probes[name]; p != nil {
		p.close()
		delete(d.probes, name)
	}
}

func (p *hostProbe) close() {
	for _, fd := range p.socks {
		unix.Close(fd)
	}
	clear(p.socks)
}

// round judges every probed port of h into out and sends the next
// requests: reads the vNICs' carrier (one link dump) and the replies
// that came since the last call, then sends.
func (p *hostProbe) round(h *host, now time.Time, out map[southbound.PortRef]southbound.Liveness) error {
	carrier, err := carriers(h.ns)
	if err != nil {
		return fmt.Errorf("links: %w", err)
	}
	if err := p.openSockets(h, carrier); err != nil {
		return err
	}
	replies, err := p.drain()
	if err != nil {
		return err
	}
	for label := range p.ports {
		if pt := h.byLabel[label]; pt == nil || !pt.addr.Is4() {
			delete(p.ports, label)
		}
	}
	for label, pt := range h.byLabel {
		if !pt.addr.Is4() {
			continue // IPv6 or no address: not probed
		}
		st := p.ports[label]
		if st == nil || st.ifindex != pt.vnic.ifindex || st.vlan != pt.vlan || st.addr != pt.addr {
			st = &portProbe{ifindex: pt.vnic.ifindex, vlan: pt.vlan, addr: pt.addr}
			p.ports[label] = st
		}
		ref := southbound.PortRef{Host: h.name, VRF: pt.id.vrf, Interface: pt.id.iface}
		l, known := st.judge(carrier, replies, now)
		if known {
			out[ref] = l
		}
		fd, ok := p.socks[st.ifindex]
		if !ok {
			continue // no carrier, or its vNIC is gone: nobody to ask
		}
		sent, err := sendRequest(fd, pt.vnic, st.vlan, st.addr)
		if err != nil {
			return fmt.Errorf("port %s: ARP request for %s: %w", pt.id.iface, st.addr, err)
		}
		if sent {
			if st.unanswered == 0 {
				st.since = now
			}
			st.unanswered++
		}
	}
	return nil
}

// judge returns what is known of the port's instance (see the verdicts
// above); known is false when nothing is yet. Without carrier the
// requests still unanswered are forgotten: the instance starts afresh
// when its link comes back.
func (st *portProbe) judge(carrier map[int]bool, replies map[replyKey]bool, now time.Time) (l southbound.Liveness, known bool) {
	up, exists := carrier[st.ifindex]
	switch {
	case !exists:
		st.unanswered = 0
		return southbound.Liveness{Reason: "the instance's vNIC is gone"}, true
	case !up:
		st.unanswered = 0
		return southbound.Liveness{Reason: "no carrier on the instance's interface"}, true
	case replies[replyKey{st.ifindex, st.vlan, st.addr}]:
		st.unanswered = 0
		return southbound.Liveness{Answers: true}, true
	case st.unanswered >= missRounds && now.Sub(st.since) >= missAfter:
		return southbound.Liveness{Reason: fmt.Sprintf("no ARP reply from %s", st.addr)}, true
	}
	return southbound.Liveness{}, false
}

// openSockets makes sure every vNIC with carrier and a port to probe has
// its socket (opened in the host's namespace, all in one visit), and
// closes the others' (vNICs gone, without carrier or without a port to
// probe).
func (p *hostProbe) openSockets(h *host, carrier map[int]bool) error {
	want := make(map[int]bool)
	for _, pt := range h.ports {
		if pt.addr.Is4() && carrier[pt.vnic.ifindex] {
			want[pt.vnic.ifindex] = true
		}
	}
	for ifindex, fd := range p.socks {
		if !want[ifindex] {
			unix.Close(fd)
			delete(p.socks, ifindex)
		}
	}
	var missing []int
	for ifindex := range want {
		if _, ok := p.socks[ifindex]; !ok {
			missing = append(missing, ifindex)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return inNamespace(h.ns, func() error {
		for _, ifindex := range missing {
			fd, err := openARPSocket(ifindex)
			if err != nil {
				return fmt.Errorf("vNIC ifindex %d: %w", ifindex, err)
			}
			p.socks[ifindex] = fd
		}
		return nil
	})
}

// drain reads the replies waiting on every socket.
func (p *hostProbe) drain() (map[replyKey]bool, error) {
	replies := make(map[replyKey]bool)
	buf := make([]byte, 128)
	oob := make([]byte, unix.CmsgSpace(auxSize))
	for ifindex, fd := range p.socks {
		for range maxDrain {
			vlan, addr, ok, err := readReply(fd, buf, oob)
			if err != nil {
				return nil, fmt.Errorf("vNIC ifindex %d: %w", ifindex, err)
			}
			if !ok {
				break
			}
			replies[replyKey{ifindex, vlan, addr}] = true
		}
	}
	return replies, nil
}

// rtextFilterSkipStats is RTEXT_FILTER_SKIP_STATS (linux/rtnetlink.h).
const rtextFilterSkipStats = 1 << 3

// carriers returns, by ifindex, whether each link in ns has carrier:
// one link dump without statistics, of which only each link's flags are
// read (decoding every attribute of a few thousand links would be most
// of the probe's time).
func carriers(ns netns.NsHandle) (map[int]bool, error) {
	var msgs [][]byte
	err := inNamespace(ns, func() error {
		req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_DUMP)
		req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
		req.AddData(nl.NewRtAttr(unix.IFLA_EXT_MASK, nl.Uint32Attr(rtextFilterSkipStats)))
		var err error
		msgs, err = req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[int]bool, len(msgs))
	for _, m := range msgs {
		if len(m) < unix.SizeofIfInfomsg {
			continue
		}
		ifi := nl.DeserializeIfInfomsg(m)
		out[int(ifi.Index)] = ifi.Flags&unix.IFF_LOWER_UP != 0
	}
	return out, nil
}

// keepAddrs gives the ports read again from the maps the addresses the
// host's previous reading had (nil: none): the maps do not hold them (the
// data plane delivers by MAC), only the probe asks for them, and a
// reconciliation (L2 included) that reads the host again must not leave
// its ports unprobed until their next change.
func (h *host) keepAddrs(was *host) {
	if was == nil {
		return
	}
	for id, p := range h.ports {
		if o := was.ports[id]; o != nil && o.label == p.label {
			p.addr = o.addr
		}
	}
}
