package lab

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"
	"unsafe"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/netready/netready/southbound/linuxfwd"
)

// RawPort is an AF_PACKET socket on a guest's eth0: the guest's 802.1Q
// sub-interfaces, which this kernel cannot make (no 8021q), played by
// hand. It sends tagged frames and receives frames with their tag
// (PACKET_AUXDATA when the tag travels as metadata).
type RawPort struct {
	fd      int
	ifindex int
	MAC     net.HardwareAddr
}

func OpenRaw(g *Guest) (*RawPort, error) {
	ns, err := netns.GetFromName(g.NS)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	r := &RawPort{fd: -1}
	err = linuxfwd.InNamespace(ns, func() error {
		eth, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		r.ifindex, r.MAC = eth.Index, eth.HardwareAddr
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return err
		}
		r.fd = fd
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
			return err
		}
		tv := unix.NsecToTimeval(int64(50 * time.Millisecond))
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: eth.Index})
	})
	if err != nil {
		if r.fd >= 0 {
			unix.Close(r.fd)
		}
		return nil, fmt.Errorf("raw socket in %s: %w", g.NS, err)
	}
	return r, nil
}

func (r *RawPort) Close() { unix.Close(r.fd) }

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// UDPFrame is an Ethernet frame (tagged with vlan unless 0) carrying one
// UDP datagram of payload from src:sport to dst:UDPPort.
func UDPFrame(srcMAC net.HardwareAddr, vlan uint16, src, dst netip.Addr, sport uint16, payload []byte) []byte {
	var f []byte
	f = append(f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff) // the forwarder routes by IP, whatever the MAC
	f = append(f, srcMAC...)
	if vlan != 0 {
		f = binary.BigEndian.AppendUint16(f, unix.ETH_P_8021Q)
		f = binary.BigEndian.AppendUint16(f, vlan)
	}
	f = binary.BigEndian.AppendUint16(f, unix.ETH_P_IP)
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, unix.IPPROTO_UDP
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	s, d := src.As4(), dst.As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
	udp := make([]byte, 8)
	binary.BigEndian.PutUint16(udp, sport)
	binary.BigEndian.PutUint16(udp[2:], UDPPort)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload))) // checksum 0: none (IPv4)
	f = append(f, ip...)
	f = append(f, udp...)
	return append(f, payload...)
}

func ipChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// Send sends one frame as it is.
func (r *RawPort) Send(frame []byte) error {
	return unix.Sendto(r.fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: r.ifindex, Halen: 6})
}

// Received is a UDP datagram to UDPPort a RawPort saw, with its tag.
type Received struct {
	VLAN     uint16
	Src, Dst netip.Addr
	DstMAC   net.HardwareAddr
}

// Receive returns the UDP datagrams to UDPPort that arrive in d.
func (r *RawPort) Receive(d time.Duration) []Received {
	return r.ServeARP(0, netip.Addr{}, d).UDP
}

// Seen is what ServeARP saw: ARP requests answered, UDP datagrams.
type Seen struct {
	ARP int
	UDP []Received
}

// ServeARP plays the guest's VLAN sub-interface vlan (0: untagged) with
// address addr for d: it answers ARP requests for addr arriving with
// that tag (the reply with the same) and collects the UDP datagrams to
// UDPPort. The frames the socket itself sent are left out.
func (r *RawPort) ServeARP(vlan uint16, addr netip.Addr, d time.Duration) Seen {
	var out Seen
	buf := make([]byte, 2048)
	oob := make([]byte, 256)
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		n, oobn, _, from, err := unix.Recvmsg(r.fd, buf, oob, 0)
		if err != nil {
			continue
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		tag, etype, l3 := frameTag(buf[:n], oob[:oobn])
		switch {
		case addr.IsValid() && etype == unix.ETH_P_ARP && tag == vlan && len(l3) >= 28 && binary.BigEndian.Uint16(l3[6:]) == 1 &&
			netip.AddrFrom4([4]byte(l3[24:28])) == addr:
			out.ARP++
			if err := r.Send(arpReply(r.MAC, vlan, addr, l3)); err != nil {
				return out
			}
		case etype == unix.ETH_P_IP && len(l3) >= 28 && l3[9] == unix.IPPROTO_UDP && binary.BigEndian.Uint16(l3[22:]) == UDPPort:
			out.UDP = append(out.UDP, Received{VLAN: tag, Src: netip.AddrFrom4([4]byte(l3[12:16])),
				Dst: netip.AddrFrom4([4]byte(l3[16:20])), DstMAC: net.HardwareAddr(slices.Clone(buf[:6]))})
		}
	}
	return out
}

// AnswerARP plays the guest's VLAN sub-interfaces (tag 0: untagged)
// for which ok holds, whatever address is asked for: it answers every ARP
// request arriving with such a tag (the reply with the same), until done
// is closed.
func (r *RawPort) AnswerARP(done <-chan struct{}, ok func(vlan uint16) bool) {
	buf := make([]byte, 2048)
	oob := make([]byte, 256)
	for {
		select {
		case <-done:
			return
		default:
		}
		n, oobn, _, from, err := unix.Recvmsg(r.fd, buf, oob, 0)
		if err != nil {
			continue // the receive timeout: look at done again
		}
		if ll, isLL := from.(*unix.SockaddrLinklayer); isLL && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		tag, etype, l3 := frameTag(buf[:n], oob[:oobn])
		if etype != unix.ETH_P_ARP || len(l3) < 28 || binary.BigEndian.Uint16(l3[6:]) != 1 || !ok(tag) {
			continue
		}
		if err := r.Send(arpReply(r.MAC, tag, netip.AddrFrom4([4]byte(l3[24:28])), l3)); err != nil {
			return
		}
	}
}

// frameTag returns a received frame's VLAN (from PACKET_AUXDATA or the
// frame), EtherType and payload.
func frameTag(f, oob []byte) (uint16, uint16, []byte) {
	if len(f) < 14 {
		return 0, 0, nil
	}
	var vlan uint16
	if cms, err := unix.ParseSocketControlMessage(oob); err == nil {
		for _, c := range cms {
			if c.Header.Level == unix.SOL_PACKET && c.Header.Type == unix.PACKET_AUXDATA && len(c.Data) >= int(unsafe.Sizeof(unix.TpacketAuxdata{})) {
				if aux := (*unix.TpacketAuxdata)(unsafe.Pointer(&c.Data[0])); aux.Status&unix.TP_STATUS_VLAN_VALID != 0 {
					vlan = aux.Vlan_tci & 0xfff
				}
			}
		}
	}
	etype, l3 := binary.BigEndian.Uint16(f[12:]), f[14:]
	if etype == unix.ETH_P_8021Q && len(f) >= 18 {
		vlan, etype, l3 = binary.BigEndian.Uint16(f[14:])&0xfff, binary.BigEndian.Uint16(f[16:]), f[18:]
	}
	return vlan, etype, l3
}

// arpReply answers the ARP request req (its payload) for addr from mac,
// tagged vlan unless 0.
func arpReply(mac net.HardwareAddr, vlan uint16, addr netip.Addr, req []byte) []byte {
	sha, spa := req[8:14], req[14:18]
	f := append([]byte(nil), sha...)
	f = append(f, mac...)
	if vlan != 0 {
		f = binary.BigEndian.AppendUint16(f, unix.ETH_P_8021Q)
		f = binary.BigEndian.AppendUint16(f, vlan)
	}
	f = binary.BigEndian.AppendUint16(f, unix.ETH_P_ARP)
	f = append(f, 0, 1, 8, 0, 6, 4, 0, 2) // Ethernet, IPv4, reply
	a := addr.As4()
	f = append(f, mac...)
	f = append(f, a[:]...)
	f = append(f, sha...)
	return append(f, spa...)
}
