package daemon_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/cmd/netreadyd/daemon"
)

// lockedBuffer is a log destination the server's goroutines may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

// TestAuthFailuresDoNotFloodTheLog: unauthenticated clients sending 1 MiB
// user names must not be able to write megabytes into the server log.
func TestAuthFailuresDoNotFloodTheLog(t *testing.T) {
	var buf lockedBuffer
	ts := startLogged(t, daemon.Config{}, password{}, slog.New(slog.NewTextHandler(&buf, nil)))
	before := buf.Len()
	huge := strings.Repeat("m", 1<<20)
	conn := dialAs(t, ts.d.Addr(), ts.dir, password{huge, "wrong"})
	defer conn.Close()
	c := gpb.NewGNMIClient(conn)
	for i := range 20 {
		if _, err := c.Capabilities(ctx(t), &gpb.CapabilityRequest{}); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	grew := buf.Len() - before
	t.Logf("20 failed logins with 1 MiB user names: %d bytes of log", grew)
	if grew > 8<<10 {
		t.Fatalf("20 failed logins with 1 MiB user names grew the log by %d bytes", grew)
	}
}
