package main_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/ygot/ygot"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// buildBinary compiles netreadyd once for the crash test.
func buildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "netreadyd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// daemon is a netreadyd child process.
type daemon struct {
	cmd  *exec.Cmd
	addr string
}

// startDaemon runs the binary on dir (with extra flags) and waits for its
// "serving gNMI" log line.
func startDaemon(t testing.TB, bin, dir string, extra ...string) *daemon {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--listen", "127.0.0.1:0", "--data-dir", dir, "--no-southbound"}, extra...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var rec struct {
				Msg, Addr string
			}
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "serving gNMI" {
				addrc <- rec.Addr
			}
		}
	}()
	select {
	case addr := <-addrc:
		return &daemon{cmd: cmd, addr: addr}
	case <-time.After(30 * time.Second):
		t.Fatal("netreadyd did not start")
	}
	return nil
}

func connect(t testing.TB, addr, dir string) gpb.GNMIClient {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(dir, "server.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	pw, err := os.ReadFile(filepath.Join(dir, "initial-admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "localhost"})),
		grpc.WithPerRPCCredentials(adminCreds{strings.TrimSpace(string(pw))}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return gpb.NewGNMIClient(conn)
}

// adminCreds sends the admin user's password as gNMI clients do.
type adminCreds struct{ password string }

func (c adminCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"username": "admin", "password": c.password}, nil
}

func (adminCreds) RequireTransportSecurity() bool { return true }

func mustPath(s string) *gpb.Path {
	p, err := ygot.StringToStructuredPath(s)
	if err != nil {
		panic(err)
	}
	return p
}

func ietf(s string) *gpb.TypedValue {
	return &gpb.TypedValue{Value: &gpb.TypedValue_JsonIetfVal{JsonIetfVal: []byte(s)}}
}

// TestKill9LosesNoAcknowledgedSet kills netreadyd with SIGKILL while
// several clients are writing. After a restart every Set that was
// acknowledged is there, and no Set is there by half.
func TestKill9LosesNoAcknowledgedSet(t *testing.T) {
	bin, dir, d, c := running(t)

	w := startWriters(c, 8)
	time.Sleep(1500 * time.Millisecond)
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	d.cmd.Wait()
	acked := w.wait()
	if len(acked) < 50 {
		t.Fatalf("only %d Sets acknowledged before the kill; the test needs a stream of Sets", len(acked))
	}
	checkAfterRestart(t, bin, dir, acked)
	// The killed server left its admin socket behind; the restarted one
	// replaced it and takes backups.
	out, err := exec.Command(bin, "backup", "--data-dir", dir, "--to", filepath.Join(t.TempDir(), "b.db")).CombinedOutput()
	if err != nil {
		t.Fatalf("backup after a kill -9 and a restart: %v\n%s", err, out)
	}
}

// writers stream Sets from several clients until the server goes away.
// Each Set creates a port and an interface on it together.
type writers struct {
	mu    sync.Mutex
	acked map[string]bool
	wg    sync.WaitGroup
}

func startWriters(c gpb.GNMIClient, n int) *writers {
	w := &writers{acked: map[string]bool{}}
	for k := 0; k < n; k++ {
		w.wg.Add(1)
		go func(k int) {
			defer w.wg.Done()
			for i := 0; ; i++ {
				name := fmt.Sprintf("w%d-%d", k, i)
				_, err := c.Set(context.Background(), &gpb.SetRequest{Update: []*gpb.Update{
					{Path: mustPath("/tenants/tenant[name=t]/ports/port[name=" + name + "]"), Val: ietf(`{"host": "h"}`)},
					{Path: mustPath("/tenants/tenant[name=t]/interfaces/interface[name=" + name + "]"), Val: ietf(`{"type": "untagged", "port": "` + name + `"}`)},
				}})
				if err != nil {
					return // the server is gone
				}
				w.mu.Lock()
				w.acked[name] = true
				w.mu.Unlock()
			}
		}(k)
	}
	return w
}

// wait returns the names of the acknowledged Sets once every writer stopped.
func (w *writers) wait() map[string]bool {
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acked
}

// checkAfterRestart restarts the server on dir and checks that every
// acknowledged Set is there and that no Set is there by half.
func checkAfterRestart(t *testing.T, bin, dir string, acked map[string]bool) {
	t.Helper()
	d2 := startDaemon(t, bin, dir)
	c2 := connect(t, d2.addr, dir)
	ports := names(t, c2, "/tenants/tenant[name=t]/ports/port/name")
	ifaces := names(t, c2, "/tenants/tenant[name=t]/interfaces/interface/name")
	for name := range acked {
		if !ports[name] || !ifaces[name] {
			t.Errorf("acknowledged Set %s lost (port %v, interface %v)", name, ports[name], ifaces[name])
		}
	}
	for name := range ports {
		if !ifaces[name] {
			t.Errorf("Set %s half applied: port without its interface", name)
		}
	}
	for name := range ifaces {
		if !ports[name] {
			t.Errorf("Set %s half applied: interface without its port", name)
		}
	}
	t.Logf("%d Sets acknowledged, %d present after restart", len(acked), len(ports))
}

// TestSIGTERMShutsDownCleanly stops netreadyd with SIGTERM while clients
// write: it must exit 0 within its grace period, having kept every Set it
// acknowledged. While it runs, DATA-DIR/netreadyd.pid names it (the
// README signals it so); once it has stopped, the file is gone.
func TestSIGTERMShutsDownCleanly(t *testing.T) {
	bin, dir, d, c := running(t)
	pidFile := filepath.Join(dir, "netreadyd.pid")
	if b, err := os.ReadFile(pidFile); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(d.cmd.Process.Pid) {
		t.Errorf("%s holds %q (%v), want the server's process ID %d", pidFile, b, err, d.cmd.Process.Pid)
	}
	w := startWriters(c, 4)
	time.Sleep(500 * time.Millisecond)
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- d.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("netreadyd exited with %v after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("netreadyd did not stop after SIGTERM")
	}
	if _, err := os.Stat(pidFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s after a clean stop: %v, want it gone", pidFile, err)
	}
	checkAfterRestart(t, bin, dir, w.wait())
}

// running builds netreadyd, starts it on a fresh data dir, connects as
// admin and creates the backend, host and tenant the writers use.
func running(t *testing.T) (bin, dir string, d *daemon, c gpb.GNMIClient) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and forks the binary")
	}
	bin, dir = buildBinary(t), t.TempDir()
	d = startDaemon(t, bin, dir)
	c = connect(t, d.addr, dir)
	setup(t, c)
	return bin, dir, d, c
}

func setup(t *testing.T, c gpb.GNMIClient) {
	t.Helper()
	if _, err := c.Set(context.Background(), &gpb.SetRequest{Update: []*gpb.Update{{Path: &gpb.Path{}, Val: ietf(`{
		"netready-infrastructure:backends": {"backend": [{"name": "b", "driver": "linux-vforwarder"}]},
		"netready-infrastructure:hosts": {"host": [{"name": "h", "backend": "b"}]},
		"netready-tenants:tenants": {"tenant": [{"name": "t"}]}}`)}}}); err != nil {
		t.Fatal(err)
	}
}

func names(t *testing.T, c gpb.GNMIClient, p string) map[string]bool {
	t.Helper()
	resp, err := c.Get(context.Background(), &gpb.GetRequest{Path: []*gpb.Path{mustPath(p)}, Encoding: gpb.Encoding_JSON_IETF})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, u := range resp.GetNotification()[0].GetUpdate() {
		out[strings.Trim(string(u.GetVal().GetJsonIetfVal()), `"`)] = true
	}
	return out
}
