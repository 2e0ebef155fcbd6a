package ebpffwd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The probe's AF_PACKET sockets (see probe.go): one per vNIC host end,
// sending ARP requests and receiving the replies.

const (
	etherTypeARP  = 0x0806
	etherTypeVLAN = 0x8100
	arpRequest    = 1
	arpReply      = 2
)

// arpReplyFilter is a classic BPF socket filter that accepts ARP replies,
// untagged or with an 802.1Q header in the frame (on ingress the kernel
// usually moves the tag into the skb's metadata: see readReply), and
// drops everything else before it is queued.
var arpReplyFilter = []unix.SockFilter{
	{Code: unix.BPF_LDX | unix.BPF_W | unix.BPF_IMM, K: 0},                    // 0: X = 0
	{Code: unix.BPF_LD | unix.BPF_H | unix.BPF_ABS, K: 12},                    // 1: A = ethertype
	{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: etherTypeARP, Jt: 4},  // 2: ARP → 7
	{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: etherTypeVLAN, Jf: 6}, // 3: not 802.1Q → drop
	{Code: unix.BPF_LDX | unix.BPF_W | unix.BPF_IMM, K: 4},                    // 4: X = 4 (the tag)
	{Code: unix.BPF_LD | unix.BPF_H | unix.BPF_IND, K: 12},                    // 5: A = inner ethertype
	{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: etherTypeARP, Jf: 3},  // 6: not ARP → drop
	{Code: unix.BPF_LD | unix.BPF_H | unix.BPF_IND, K: 20},                    // 7: A = ARP operation
	{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: arpReply, Jf: 1},      // 8: not a reply → drop
	{Code: unix.BPF_RET | unix.BPF_K, K: 128},                                 // 9: accept 128 bytes
	{Code: unix.BPF_RET | unix.BPF_K, K: 0},                                   // 10: drop
}

// openARPSocket opens the probe's socket on the device ifindex. It must
// run in the device's namespace. The filter is attached before the
// socket is bound to a protocol, so nothing else is ever queued; frames
// the device sends (the data plane's deliveries, the probe's own
// requests) are not seen at all.
func openARPSocket(ifindex int) (int, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("AF_PACKET socket: %w", err)
	}
	err = setupARPSocket(fd, ifindex)
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func setupARPSocket(fd, ifindex int) error {
	prog := unix.SockFprog{Len: uint16(len(arpReplyFilter)), Filter: &arpReplyFilter[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
		return fmt.Errorf("attach filter: %w", err)
	}
	for _, o := range []struct {
		opt  int
		name string
	}{{unix.PACKET_IGNORE_OUTGOING, "PACKET_IGNORE_OUTGOING"}, {unix.PACKET_AUXDATA, "PACKET_AUXDATA"}} {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, o.opt, 1); err != nil {
			return fmt.Errorf("%s: %w", o.name, err)
		}
	}
	// Taps see every protocol, and see it before TCX: an ETH_P_ARP
	// binding would be served after from_vnic, which drops replies.
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}
	if err := unix.Bind(fd, sa); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// sendRequest sends on fd an ARP request for addr to the guest end of
// v, tagged with vlan when it is not 0, from the host end's MAC and
// sender address 0.0.0.0 (as an RFC 5227 probe: the guest answers
// without caching anything). It reports false when the device could not
// take the frame now (its queue full): the request is not counted.
func sendRequest(fd int, v *vnic, vlan uint16, addr netip.Addr) (bool, error) {
	f := make([]byte, 0, 46)
	f = append(f, v.guestMAC...)
	f = append(f, v.hostMAC...)
	if vlan != 0 {
		f = binary.BigEndian.AppendUint16(f, etherTypeVLAN)
		f = binary.BigEndian.AppendUint16(f, vlan)
	}
	f = binary.BigEndian.AppendUint16(f, etherTypeARP)
	f = append(f, 0, 1, 0x08, 0x00, 6, 4) // Ethernet, IPv4
	f = binary.BigEndian.AppendUint16(f, arpRequest)
	f = append(f, v.hostMAC...)
	f = append(f, 0, 0, 0, 0) // sender address: none
	f = append(f, 0, 0, 0, 0, 0, 0)
	a := addr.As4()
	f = append(f, a[:]...)
	_, err := unix.Write(fd, f)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.ENOBUFS) {
		return false, nil
	}
	return err == nil, err
}

// readReply reads one queued ARP reply from fd and returns the VLAN it
// came on (from the frame, or the metadata the kernel moved the tag to)
// and the address it answers for; ok is false when none is queued.
func readReply(fd int, buf, oob []byte) (vlan uint16, addr netip.Addr, ok bool, err error) {
	for {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			return 0, netip.Addr{}, false, nil
		}
		if err != nil {
			return 0, netip.Addr{}, false, fmt.Errorf("receive: %w", err)
		}
		if vlan, addr, ok := parseReply(buf[:n], oob[:oobn]); ok {
			return vlan, addr, true, nil
		}
	}
}

// parseReply returns the VLAN and sender address of an ARP reply frame
// for IPv4 over Ethernet.
func parseReply(f, oob []byte) (uint16, netip.Addr, bool) {
	var vlan uint16
	if len(f) < 14 {
		return 0, netip.Addr{}, false
	}
	arp := f[14:]
	if binary.BigEndian.Uint16(f[12:]) == etherTypeVLAN {
		if len(f) < 18 {
			return 0, netip.Addr{}, false
		}
		vlan = binary.BigEndian.Uint16(f[14:]) & 0x0fff
		arp = f[18:]
	} else {
		vlan = auxVLAN(oob)
	}
	if len(arp) < 28 || binary.BigEndian.Uint16(arp[0:]) != 1 || binary.BigEndian.Uint16(arp[2:]) != 0x0800 ||
		arp[4] != 6 || arp[5] != 4 || binary.BigEndian.Uint16(arp[6:]) != arpReply {
		return 0, netip.Addr{}, false
	}
	return vlan, netip.AddrFrom4([4]byte(arp[14:18])), true
}

// auxSize is the size of struct tpacket_auxdata.
const auxSize = int(unsafe.Sizeof(unix.TpacketAuxdata{}))

// auxVLAN returns the VLAN id in a PACKET_AUXDATA control message, 0
// when the frame carried no tag.
func auxVLAN(oob []byte) uint16 {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_PACKET || m.Header.Type != unix.PACKET_AUXDATA || len(m.Data) < auxSize {
			continue
		}
		// struct tpacket_auxdata: tp_status at 0, tp_vlan_tci at 16.
		if binary.NativeEndian.Uint32(m.Data[0:])&unix.TP_STATUS_VLAN_VALID != 0 {
			return binary.NativeEndian.Uint16(m.Data[16:]) & 0x0fff
		}
	}
	return 0
}
