package ebpffwd

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// deleteVNIC deletes a vNIC's veth pair (wherever its guest end is) at
// the next flush: its host end joins doomGroup.
func (h *host) deleteVNIC(v *vnic) error {
	err := h.nl.LinkSetGroup(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Index: v.ifindex}}, doomGroup)
	var nf netlink.LinkNotFoundError
	if err != nil && !errors.As(err, &nf) && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("delete %s: %w", HostLink(h.prefix, v.n), err)
	}
	if h.doomed == nil {
		h.doomed = make(map[int]bool)
	}
	h.doomed[v.n] = true
	return nil
}

// flush attaches the programs of new vNICs and deletes the doomed ones.
func (h *host) flush() error {
	if len(h.unattached) > 0 {
		if err := attachNew(h.ns, h.unattached, h.objs.FromVnic); err != nil {
			return fmt.Errorf("attach from_vnic: %w", err)
		}
		h.unattached = nil
	}
	if len(h.doomed) > 0 {
		if err := deleteGroup(h.ns, doomGroup); err != nil {
			return fmt.Errorf("delete vNICs: %w", err)
		}
		clear(h.doomed)
	}
	return nil
}

// useVNIC returns the vNIC with the key, creating its veth pair (its
// guest end named guestAlias) when it is the first port's.
func (h *host) useVNIC(key, guestAlias string) (*vnic, error) {
	if v := h.vnics[key]; v != nil {
		v.users++
		return v, nil
	}
	used := make(map[int]bool, len(h.vnics)+len(h.doomed))
	for n := range h.doomed {
		used[n] = true
	}
	for _, v := range h.vnics {
		used[v.n] = true
	}
	n := 0
	for used[n] {
		n++
	}
	v, err := h.createVNIC(key, guestAlias, n)
	if err != nil {
		return nil, err
	}
	v.users = 1
	h.vnics[key] = v
	return v, nil
}

// createVNIC creates vNIC n; its program is attached at the next flush.
// The guest end's MAC follows from the host end's (guestMAC), so the
// driver knows it again after the guest end has left the namespace.
func (h *host) createVNIC(key, guestAlias string, n int) (*vnic, error) {
	hostMAC, err := randomMAC()
	if err != nil {
		return nil, err
	}
	guestMAC := guestMAC(hostMAC)
	idx, err := addVeth(h.nl, HostLink(h.prefix, n), GuestLink(h.prefix, n), hostAliasPrefix+key, guestAlias, hostMAC, guestMAC)
	if err != nil {
		return nil, err
	}
	h.unattached = append(h.unattached, idx)
	return &vnic{key: key, n: n, ifindex: idx, hostMAC: hostMAC, guestMAC: guestMAC}, nil
}
