package daemon

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/netready/netready/server/store"
)

// AdminSocket is the name, in the data dir, of the Unix socket that
// `netreadyd backup` talks to. It serves the server's own user (and root)
// only: it grants what reading the database file grants, no more.
const AdminSocket = "admin.sock"

// adminRequestTimeout bounds how long a client may take to send its
// request line.
const adminRequestTimeout = 10 * time.Second

// AdminReply is the first line the admin socket sends, as JSON: an error,
// or the commit and the size in bytes of the backup that follows it.
type AdminReply struct {
	Error  string `json:"error,omitempty"`
	Commit uint64 `json:"commit,omitempty"`
	Size   int64  `json:"size,omitempty"`
}

// admin serves the admin socket and remembers its connections so Stop can
// end backups in progress (the store cannot close under a read
// transaction).
type admin struct {
	lis   *net.UnixListener
	mu    sync.Mutex
	conns map[net.Conn]bool
}

// listenAdmin opens the admin socket. It runs once the store is open:
// holding the database's lock proves no other server uses this data dir,
// so a socket file left by a killed server can go.
func (d *Daemon) listenAdmin() error {
	path := filepath.Join(d.cfg.DataDir, AdminSocket)
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSocket != 0 {
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("admin socket: %w", err)
		}
	}
	lis, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		lis.Close()
		return fmt.Errorf("admin socket: %w", err)
	}
	d.admin = &admin{lis: lis, conns: map[net.Conn]bool{}}
	go d.serveAdmin()
	return nil
}

func (d *Daemon) serveAdmin() {
	for {
		c, err := d.admin.lis.AcceptUnix()
		if err != nil {
			return // closed by Stop
		}
		if !d.admin.track(c, true) {
			c.Close()
			return
		}
		go func() {
			defer d.admin.track(c, false)
			defer c.Close()
			d.handleAdmin(c)
		}()
	}
}

// track adds (or removes) a connection; it refuses new ones once closed.
func (a *admin) track(c net.Conn, add bool) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !add {
		delete(a.conns, c)
		return true
	}
	if a.conns == nil {
		return false
	}
	a.conns[c] = true
	return true
}

// close stops accepting and ends the connections in progress.
func (a *admin) close() {
	if a == nil {
		return
	}
	a.lis.Close() // also removes the socket file
	a.mu.Lock()
	defer a.mu.Unlock()
	for c := range a.conns {
		c.Close()
	}
	a.conns = nil
}

// handleAdmin reads one request line and answers it.
func (d *Daemon) handleAdmin(c *net.UnixConn) {
	if err := allowedPeer(c); err != nil {
		d.log.Warn("admin socket: connection refused", "err", err)
		replyAdmin(c, AdminReply{Error: err.Error()})
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(adminRequestTimeout))
	line, err := bufio.NewReader(io.LimitReader(c, 128)).ReadString('\n')
	if err != nil {
		replyAdmin(c, AdminReply{Error: fmt.Sprintf("reading the request: %v", err)})
		return
	}
	switch req := strings.TrimSpace(line); req {
	case "backup":
		d.backup(c)
	default:
		replyAdmin(c, AdminReply{Error: fmt.Sprintf("unknown request %q (want \"backup\")", req)})
	}
}

// backup streams a consistent copy of the database after its reply line.
func (d *Daemon) backup(c net.Conn) {
	d.reloadMu.Lock()
	open := d.st
	d.reloadMu.Unlock()
	st, bolt := open.(*store.Bolt)
	if open != nil && !bolt {
		replyAdmin(c, AdminReply{Error: "backup copies the bbolt file; this server stores in etcd: take an etcd snapshot (etcdctl snapshot save) or netreadyd migrate --to bbolt:DIR"})
		return
	}
	if st == nil {
		replyAdmin(c, AdminReply{Error: "the server has no open database (stopping, or a models reload failed)"})
		return
	}
	start := time.Now()
	w := bufio.NewWriterSize(c, 1<<20)
	var reply AdminReply
	err := st.Backup(w, func(commit uint64, size int64) error {
		reply = AdminReply{Commit: commit, Size: size}
		return replyAdmin(w, reply)
	})
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		d.log.Error("backup failed", "err", err)
		if reply.Size == 0 { // nothing sent yet: the client can be told
			replyAdmin(c, AdminReply{Error: err.Error()})
		}
		return
	}
	d.log.Info("backup taken", "commit", reply.Commit, "bytes", reply.Size, "took", time.Since(start).String())
}

func replyAdmin(w io.Writer, r AdminReply) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// allowedPeer admits the server's own user and root, by the peer's
// credentials: the socket file's mode alone leaves a window between
// creating and restricting it.
func allowedPeer(c *net.UnixConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if credErr != nil {
		return fmt.Errorf("peer credentials: %w", credErr)
	}
	if cred.Uid != 0 && int(cred.Uid) != os.Geteuid() {
		return errors.New("only the server's user and root may use the admin socket")
	}
	return nil
}
