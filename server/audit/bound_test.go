package audit

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestBound: an entry of a Set with many operations and huge paths takes a
// few KiB, says what it left out, and leaves the request's slices alone.
func TestBound(t *testing.T) {
	ops := make([]string, 10_000)
	for i := range ops {
		ops[i] = fmt.Sprintf("update /hosts/host[name=h%d]/description", i)
	}
	ops[0] = "update /hosts/host[name=" + strings.Repeat("k", 8<<20) + "]"
	e := Entry{User: "vic", Operations: ops, Result: Denied, Message: "set: " + ops[0][7:] + ": permission denied"}
	Bound(&e)
	b, _ := json.Marshal(&e)
	if len(b) > 4096 {
		t.Fatalf("bounded entry takes %d bytes", len(b))
	}
	if !strings.Contains(e.Operations[0], "bytes cut)") || !strings.HasSuffix(e.Message, "permission denied") {
		t.Fatalf("clipped texts lost their marker or their end: %.200q, %.200q", e.Operations[0], e.Message)
	}
	if last := e.Operations[len(e.Operations)-1]; !strings.HasPrefix(last, "… and ") || !strings.HasSuffix(last, " more operations") {
		t.Fatalf("last operation %q does not say how many were left out", last)
	}
	if len(ops[0]) < 8<<20 {
		t.Fatal("Bound changed the request's operations")
	}
	small := Entry{User: "admin", Operations: []string{"update /a"}, Message: "m"}
	Bound(&small)
	if small.Operations[0] != "update /a" || small.Message != "m" {
		t.Fatalf("a small entry changed: %+v", small)
	}
}
