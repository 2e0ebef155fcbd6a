package daemon_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netready/netready/cmd/netreadyd/daemon"
)

// adminRequest sends one request line to the admin socket of dir and
// returns the reply line.
func adminRequest(t *testing.T, dir, req string) (daemon.AdminReply, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("unix", filepath.Join(dir, daemon.AdminSocket))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, req+"\n"); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(c)
	line, err := rd.ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var r daemon.AdminReply
	if err := json.Unmarshal(line, &r); err != nil {
		t.Fatalf("reply %q: %v", line, err)
	}
	return r, rd
}

// TestAdminSocket: the socket is the server user's only, answers an
// unknown request with an error and a backup with its commit and size
// followed by exactly that many bytes; Stop removes it.
func TestAdminSocket(t *testing.T) {
	ts := start(t, "")
	fi, err := os.Stat(filepath.Join(ts.dir, daemon.AdminSocket))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket: %v %v", fi, err)
	}
	if r, _ := adminRequest(t, ts.dir, "restore"); !strings.Contains(r.Error, `unknown request "restore"`) {
		t.Fatalf("unknown request: %+v", r)
	}
	r, rd := adminRequest(t, ts.dir, "backup")
	if r.Error != "" || r.Size == 0 {
		t.Fatalf("backup reply: %+v", r)
	}
	n, err := io.Copy(io.Discard, rd)
	if err != nil || n != r.Size {
		t.Fatalf("backup stream: %d bytes of %d: %v", n, r.Size, err)
	}
	ts.stop()
	if _, err := os.Stat(filepath.Join(ts.dir, daemon.AdminSocket)); !os.IsNotExist(err) {
		t.Fatalf("admin socket left after Stop: %v", err)
	}
}
