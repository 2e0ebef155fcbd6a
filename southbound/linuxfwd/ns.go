package linuxfwd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NetnsDir is where named network namespaces are bind-mounted (as by
// "ip netns add").
const NetnsDir = "/run/netns"

// nsRef is an open named network namespace: a file descriptor, a netlink
// handle and a raw netlink socket in it. The driver keeps them open across
// calls and checks before use that the name still refers to the same
// namespace.
type nsRef struct {
	name     string
	fd       netns.NsHandle
	dev, ino uint64
	h        *netlink.Handle
	sock     *nl.SocketHandle
	checked  uint64 // epoch of the last check
}

// openNS opens the named namespace; os.ErrNotExist when there is none.
func openNS(name string) (*nsRef, error) {
	fd, err := netns.GetFromName(name)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(fd), &st); err != nil {
		fd.Close()
		return nil, err
	}
	h, err := netlink.NewHandleAt(fd, unix.NETLINK_ROUTE)
	if err != nil {
		fd.Close()
		return nil, fmt.Errorf("netlink in %s: %w", name, err)
	}
	s, err := nl.GetNetlinkSocketAt(fd, netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		h.Close()
		fd.Close()
		return nil, fmt.Errorf("netlink in %s: %w", name, err)
	}
	s.SetExtAck(true)
	return &nsRef{name: name, fd: fd, dev: st.Dev, ino: st.Ino, h: h, sock: &nl.SocketHandle{Socket: s}}, nil
}

// current reports whether the name still refers to the namespace r holds.
func (r *nsRef) current() (bool, error) {
	var st unix.Stat_t
	err := unix.Stat(filepath.Join(NetnsDir, r.name), &st)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return st.Dev == r.dev && st.Ino == r.ino, nil
}

func (r *nsRef) close() {
	if r == nil {
		return
	}
	if r.h != nil {
		r.h.Close()
		r.h = nil
	}
	if r.sock != nil {
		r.sock.Close()
		r.sock = nil
	}
	if r.fd >= 0 {
		r.fd.Close()
		r.fd = -1
	}
}

// sysctl is one /proc/sys/net setting, path relative to /proc/sys/net.
type sysctl struct{ path, value string }

// vrfSysctls are the settings of a VRF namespace. Setting proxy_arp for
// all interfaces covers every port without a namespace switch per port
// (proxy_delay, which has no "all", is set per port by netlink: see
// setProxyDelay).
var vrfSysctls = []sysctl{
	{"ipv4/ip_forward", "1"},
	{"ipv4/conf/all/rp_filter", "0"},
	{"ipv4/conf/default/rp_filter", "0"},
	{"ipv4/conf/all/proxy_arp", "1"},
	{"ipv4/conf/all/send_redirects", "0"},
	{"ipv4/conf/default/send_redirects", "0"},
	{"ipv4/fib_multipath_hash_policy", "1"},
	{"ipv6/conf/all/forwarding", "1"},
	{"ipv6/fib_multipath_hash_policy", "1"},
}

// InNamespace runs f on a thread switched into the namespace fd.
func InNamespace(fd netns.NsHandle, f func() error) error {
	return onOwnThread(func() error {
		if err := netns.Set(fd); err != nil {
			return fmt.Errorf("setns: %w", err)
		}
		return f()
	})
}

// onOwnThread runs f on a locked thread that f may move into another
// network namespace, and moves the thread back afterwards. If it cannot be
// moved back, it is left locked so that it dies with its goroutine rather
// than serving others in the wrong namespace.
func onOwnThread(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		err = f()
		if serr := netns.Set(orig); serr != nil {
			errc <- fmt.Errorf("setns back: %w", serr)
			return // the thread stays locked and dies
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// createNS creates the named namespace, applies the sysctls in it and
// returns it open. It fails with os.ErrExist when the name is taken.
func createNS(name string, sysctls []sysctl) (*nsRef, error) {
	if err := os.MkdirAll(NetnsDir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(NetnsDir, name)
	err := onOwnThread(func() error {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
		if err != nil {
			return err
		}
		f.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			os.Remove(path)
			return fmt.Errorf("unshare: %w", err)
		}
		if err := unix.Mount("/proc/thread-self/ns/net", path, "", unix.MS_BIND, ""); err != nil {
			os.Remove(path)
			return fmt.Errorf("bind mount %s: %w", path, err)
		}
		return writeSysctls(sysctls)
	})
	if err != nil {
		if !errors.Is(err, os.ErrExist) {
			DeleteNamespace(name)
		}
		return nil, fmt.Errorf("create namespace %s: %w", name, err)
	}
	r, err := openNS(name)
	if err != nil {
		DeleteNamespace(name)
		return nil, fmt.Errorf("open namespace %s: %w", name, err)
	}
	return r, nil
}

func writeSysctls(sysctls []sysctl) error {
	for _, s := range sysctls {
		if err := os.WriteFile("/proc/sys/net/"+s.path, []byte(s.value), 0); err != nil {
			return fmt.Errorf("sysctl net/%s: %w", s.path, err)
		}
	}
	return nil
}

// readSysctls returns the values that differ from sysctls.
func readSysctls(fd netns.NsHandle, sysctls []sysctl) (wrong []sysctl, err error) {
	err = InNamespace(fd, func() error {
		for _, s := range sysctls {
			b, err := os.ReadFile("/proc/sys/net/" + s.path)
			if err != nil {
				return fmt.Errorf("sysctl net/%s: %w", s.path, err)
			}
			if v := strings.TrimSpace(string(b)); v != s.value {
				wrong = append(wrong, sysctl{s.path, v})
			}
		}
		return nil
	})
	return wrong, err
}

// DeleteNamespace removes the name of a namespace; the namespace goes away when
// nothing else holds it. A missing name is not an error.
func DeleteNamespace(name string) error {
	path := filepath.Join(NetnsDir, name)
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// renameNS gives the namespace named from the name to.
func renameNS(from, to string) error {
	src, dst := filepath.Join(NetnsDir, from), filepath.Join(NetnsDir, to)
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return err
	}
	f.Close()
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		os.Remove(dst)
		return fmt.Errorf("bind mount %s: %w", dst, err)
	}
	return DeleteNamespace(from)
}

// listNS returns the names in NetnsDir that start with prefix.
func listNS(prefix string) ([]string, error) {
	ents, err := os.ReadDir(NetnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
