package ebpffwd

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// inNamespace runs f on a thread in the network namespace ns: attaching
// a TCX program names the device by ifindex, which the kernel resolves in
// the caller's namespace.
func inNamespace(ns netns.NsHandle, f func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	ferr := f()
	if err := netns.Set(orig); err != nil {
		return errors.Join(ferr, err) // the thread stays locked and dies with its goroutine
	}
	runtime.UnlockOSThread()
	return ferr
}

// ensureBPFFS mounts a BPF filesystem on dir unless one is there, as
// systemd does at boot on most distributions.
func ensureBPFFS(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("bpffs %s: %w", dir, err)
	}
	if st.Type == unix.BPF_FS_MAGIC {
		return nil
	}
	if err := unix.Mount("bpf", dir, "bpf", 0, "mode=0700"); err != nil {
		return fmt.Errorf("mount bpffs on %s: %w", dir, err)
	}
	return nil
}

// loadObjects loads the programs, with the maps pinned in dir: those
// already pinned are reused, so the data plane outlives the driver.
// Pinned maps of another layout (an older fwd.c) are replaced: the state
// they held is lost, and Reconcile puts it back.
func loadObjects(dir string) (*fwdObjects, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var objs fwdObjects
	opts := &ebpf.CollectionOptions{Maps: ebpf.MapOptions{PinPath: dir}}
	err := loadFwdObjects(&objs, opts)
	if errors.Is(err, ebpf.ErrMapIncompatible) {
		if rerr := removePins(dir); rerr != nil {
			return nil, rerr
		}
		err = loadFwdObjects(&objs, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("load BPF objects (maps pinned in %s): %w", dir, err)
	}
	return &objs, nil
}

func removePins(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.Remove(dir + "/" + e.Name()); err != nil {
			return err
		}
	}
	return nil
}

// attached reports whether prog (by name and tag) is attached to the
// TCX ingress of ifindex, and detaches other versions of it (same name,
// another tag), leaving programs that are not the driver's alone.
// It must run in the device's namespace.
func attached(ifindex int, prog *ebpf.Program) (bool, error) {
	want, err := prog.Info()
	if err != nil {
		return false, err
	}
	wantTag := want.Tag
	res, err := link.QueryPrograms(link.QueryOptions{Target: ifindex, Attach: ebpf.AttachTCXIngress})
	if err != nil {
		return false, fmt.Errorf("query TCX programs: %w", err)
	}
	found := false
	for _, ap := range res.Programs {
		p, err := ebpf.NewProgramFromID(ap.ID)
		if err != nil {
			continue // gone meanwhile
		}
		info, err := p.Info()
		if err == nil && info.Name == want.Name {
			if info.Tag == wantTag && !found {
				found = true
			} else {
				err = link.RawDetachProgram(link.RawDetachProgramOptions{Target: ifindex, Program: p, Attach: ebpf.AttachTCXIngress})
			}
		}
		p.Close()
		if err != nil {
			return false, fmt.Errorf("program %d: %w", ap.ID, err)
		}
	}
	return found, nil
}

// attach attaches prog to the TCX ingress of ifindex in ns unless it is
// there, and reports whether it had to. BPF_PROG_ATTACH (not a BPF link)
// keeps the program attached after the driver closes, for as long as the
// device lives.
func attach(ns netns.NsHandle, ifindex int, prog *ebpf.Program) (added bool, err error) {
	err = inNamespace(ns, func() error {
		ok, err := attached(ifindex, prog)
		if err != nil || ok {
			return err
		}
		added = true
		return link.RawAttachProgram(link.RawAttachProgramOptions{Target: ifindex, Program: prog, Attach: ebpf.AttachTCXIngress})
	})
	return added, err
}

// addVeth creates a vNIC's veth pair in the host namespace in one
// request (names, MACs, MTU MTU, the host end up) and gives both ends
// their aliases (the kernel ignores an alias in a creation request);
// leftovers of the same names are replaced. It returns the host end's
// ifindex.
func addVeth(h *netlink.Handle, host, guest, hostAlias, guestAlias string, hostMAC, guestMAC net.HardwareAddr) (int, error) {
	v := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: host, MTU: MTU, HardwareAddr: hostMAC, Flags: net.FlagUp, TxQLen: -1},
		PeerName:  guest, PeerHardwareAddr: guestMAC, PeerTxQLen: -1,
	}
	err := h.LinkAdd(v)
	if errors.Is(err, unix.EEXIST) {
		for _, n := range []string{host, guest} {
			if old, err := h.LinkByName(n); err == nil {
				if err := h.LinkDel(old); err != nil {
					return 0, fmt.Errorf("remove old %s: %w", n, err)
				}
			}
		}
		err = h.LinkAdd(v)
	}
	if err != nil {
		return 0, fmt.Errorf("create veth %s (guest end %s): %w", host, guest, err)
	}
	if err := h.LinkSetAlias(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: guest}}, guestAlias); err != nil {
		return 0, fmt.Errorf("alias %s: %w", guest, err)
	}
	hl, err := h.LinkByName(host)
	if err != nil {
		return 0, err
	}
	if err := h.LinkSetAlias(hl, hostAlias); err != nil {
		return 0, fmt.Errorf("alias %s: %w", host, err)
	}
	return hl.Attrs().Index, nil
}

// randomMAC returns a random locally administered unicast MAC address.
func randomMAC() (net.HardwareAddr, error) {
	m := make(net.HardwareAddr, 6)
	if _, err := rand.Read(m); err != nil {
		return nil, err
	}
	m[0] = m[0]&0xfe | 0x02
	return m, nil
}

// guestMAC is the MAC the driver gives the guest end of the vNIC whose
// host end has MAC host: the same with the lowest bit of the last byte
// flipped.
func guestMAC(host net.HardwareAddr) net.HardwareAddr {
	g := append(net.HardwareAddr(nil), host...)
	if len(g) == 6 {
		g[5] ^= 1
	}
	return g
}

// attachNew attaches prog to the TCX ingress of devices just created (so
// nothing is attached to them yet), in one visit of the namespace.
func attachNew(ns netns.NsHandle, ifindexes []int, prog *ebpf.Program) error {
	return inNamespace(ns, func() error {
		for _, i := range ifindexes {
			if err := link.RawAttachProgram(link.RawAttachProgramOptions{Target: i, Program: prog, Attach: ebpf.AttachTCXIngress}); err != nil {
				return fmt.Errorf("ifindex %d: %w", i, err)
			}
		}
		return nil
	})
}

// deleteGroup deletes every link of group in ns with one request: the
// kernel waits for RCU once for all of them, not once per link (a few
// milliseconds each).
func deleteGroup(ns netns.NsHandle, group uint32) error {
	return inNamespace(ns, func() error {
		req := nl.NewNetlinkRequest(unix.RTM_DELLINK, unix.NLM_F_ACK)
		req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
		req.AddData(nl.NewRtAttr(unix.IFLA_GROUP, nl.Uint32Attr(group)))
		_, err := req.Execute(unix.NETLINK_ROUTE, 0)
		if errors.Is(err, unix.ENODEV) {
			return nil
		}
		return err
	})
}

// ensureTunnel returns the index of a collect-metadata VXLAN device on
// UDP port, creating it when it is missing or not what it must be, and
// whether it had to.
func ensureTunnel(h *netlink.Handle, name string, port int) (int, bool, error) {
	if l, err := h.LinkByName(name); err == nil {
		if vx, ok := l.(*netlink.Vxlan); ok && vx.FlowBased && vx.Port == port && !vx.Learning {
			if l.Attrs().Flags&net.FlagUp == 0 {
				return l.Attrs().Index, true, h.LinkSetUp(l)
			}
			return l.Attrs().Index, false, nil
		}
		if err := h.LinkDel(l); err != nil {
			return 0, false, fmt.Errorf("remove %s: %w", name, err)
		}
	}
	vx := &netlink.Vxlan{LinkAttrs: netlink.LinkAttrs{Name: name}, FlowBased: true, Port: port, Learning: false}
	if err := h.LinkAdd(vx); err != nil {
		return 0, false, fmt.Errorf("create %s (VXLAN, external, port %d): %w", name, port, err)
	}
	l, err := h.LinkByName(name)
	if err != nil {
		return 0, false, err
	}
	if err := h.LinkSetUp(l); err != nil {
		return 0, false, fmt.Errorf("up %s: %w", name, err)
	}
	return l.Attrs().Index, true, nil
}

// deleteLink deletes the link name, if it is there.
func deleteLink(h *netlink.Handle, name string) error {
	l, err := h.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := h.LinkDel(l); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}
