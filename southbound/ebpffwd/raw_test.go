package ebpffwd_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"
	"unsafe"

	"github.com/netready/netready/southbound/linuxfwd"
	"github.com/netready/netready/southbound/linuxfwd/lab"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// rawPort is an AF_PACKET socket on a guest's eth0: the guest's 802.1Q
// sub-interfaces, which this kernel cannot make (no 8021q), played by
// hand. It sends tagged frames and receives frames with their tag
// (PACKET_AUXDATA when the tag travels as metadata).
type rawPort struct {
	fd      int
	ifindex int
	mac     net.HardwareAddr
}

func openRaw(g *lab.Guest) (*rawPort, error) {
	ns, err := netns.GetFromName(g.NS)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	r := &rawPort{fd: -1}
	err = linuxfwd.InNamespace(ns, func() error {
		eth, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		r.ifindex, r.mac = eth.Index, eth.HardwareAddr
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

func (r *rawPort) close() { unix.Close(r.fd) }

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// udpFrame is an Ethernet frame (tagged with vlan unless 0) carrying one
// UDP datagram of payload from src:sport to dst:lab.UDPPort.
func udpFrame(srcMAC net.HardwareAddr, vlan uint16, src, dst netip.Addr, sport uint16, payload []byte) []byte {
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
	binary.BigEndian.PutUint16(udp[2:], lab.UDPPort)
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

func (r *rawPort) send(frame []byte) error {
	return unix.Sendto(r.fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: r.ifindex, Halen: 6})
}

// received is a UDP datagram to lab.UDPPort a rawPort saw, with its tag.
type received struct {
	vlan     uint16
	src, dst netip.Addr
	dstMAC   net.HardwareAddr
}

// receive returns the UDP datagrams to lab.UDPPort that arrive in d.
func (r *rawPort) receive(d time.Duration) []received {
	var out []received
	buf := make([]byte, 2048)
	oob := make([]byte, 256)
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		n, oobn, _, from, err := unix.Recvmsg(r.fd, buf, oob, 0)
		if err != nil {
			continue // timeout
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue // what this socket sent
		}
		f := buf[:n]
		vlan := auxVLAN(oob[:oobn])
		if len(f) < 14 {
			continue
		}
		dstMAC := net.HardwareAddr(append([]byte(nil), f[:6]...))
		etype, l3 := binary.BigEndian.Uint16(f[12:]), f[14:]
		if etype == unix.ETH_P_8021Q && len(f) >= 18 { // a tag left in the frame
			vlan, etype, l3 = binary.BigEndian.Uint16(f[14:])&0xfff, binary.BigEndian.Uint16(f[16:]), f[18:]
		}
		if etype != unix.ETH_P_IP || len(l3) < 28 || l3[9] != unix.IPPROTO_UDP || binary.BigEndian.Uint16(l3[22:]) != lab.UDPPort {
			continue
		}
		out = append(out, received{vlan: vlan, src: netip.AddrFrom4([4]byte(l3[12:16])), dst: netip.AddrFrom4([4]byte(l3[16:20])), dstMAC: dstMAC})
	}
	return out
}

// auxVLAN returns the VLAN id a PACKET_AUXDATA control message carries,
// 0 when none.
func auxVLAN(oob []byte) uint16 {
	cms, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, c := range cms {
		if c.Header.Level == unix.SOL_PACKET && c.Header.Type == unix.PACKET_AUXDATA && len(c.Data) >= int(unsafe.Sizeof(unix.TpacketAuxdata{})) {
			aux := (*unix.TpacketAuxdata)(unsafe.Pointer(&c.Data[0]))
			if aux.Status&unix.TP_STATUS_VLAN_VALID != 0 {
				return aux.Vlan_tci & 0xfff
			}
		}
	}
	return 0
}
