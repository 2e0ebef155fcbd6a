package main_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestGCPercent runs the binary and reads the collector's target it runs
// with from its own metrics (go_gc_gogc_percent, the runtime's
// /gc/gogc:percent): the default is the server's (200), --gc-percent
// changes it, a GOGC environment variable wins over both, and a target
// that is not a positive percentage is refused before anything starts.
func TestGCPercent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and forks the binary")
	}
	bin := buildBinary(t)
	for _, c := range []struct {
		name string
		gogc string // "": no GOGC in the environment
		args []string
		want string
	}{
		{"default", "", nil, "200"},
		{"flag", "", []string{"--gc-percent", "300"}, "300"},
		{"environment wins", "150", []string{"--gc-percent", "300"}, "150"},
		{"environment over the default", "100", nil, "100"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := gcPercentOf(t, bin, c.gogc, c.args...); got != c.want {
				t.Errorf("go_gc_gogc_percent %s, want %s", got, c.want)
			}
		})
	}
	out, err := exec.Command(bin, "--data-dir", t.TempDir(), "--gc-percent", "0").CombinedOutput()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 2 || !strings.Contains(string(out), "--gc-percent 0: want a positive percentage") {
		t.Errorf("--gc-percent 0: %v, want exit status 2 and the flag named:\n%s", err, out)
	}
}

// gcPercentOf starts the binary with args and GOGC=gogc (none if empty)
// and returns the go_gc_gogc_percent its /metrics serves.
func gcPercentOf(t *testing.T, bin, gogc string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--no-southbound", "--metrics-listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = withoutGOGC(os.Environ())
	if gogc != "" {
		cmd.Env = append(cmd.Env, "GOGC="+gogc)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := logged(t, stderr, "serving metrics")
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "go_gc_gogc_percent "); ok {
			return v
		}
	}
	t.Fatalf("no go_gc_gogc_percent in /metrics:\n%s", body)
	return ""
}

// logged waits for the JSON log line with message msg and returns its addr.
func logged(t *testing.T, r io.Reader, msg string) string {
	t.Helper()
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == msg {
				addrc <- rec.Addr
			}
		}
	}()
	select {
	case addr := <-addrc:
		return addr
	case <-time.After(30 * time.Second):
		t.Fatalf("netreadyd did not log %q", msg)
	}
	return ""
}

func withoutGOGC(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GOGC=") {
			out = append(out, kv)
		}
	}
	return out
}
