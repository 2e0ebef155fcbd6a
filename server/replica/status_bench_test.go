package replica

import (
	"fmt"
	"strings"
	"testing"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	netreadyyang "github.com/netready/netready/yang"
)

// hostsWithStatus is a tree of n hosts, each with a status naming its
// backend; host 0's sync-state is sync0.
func hostsWithStatus(b *testing.B, sch *schema.Schema, n int, sync0 string) *tree.Node {
	var sb strings.Builder
	sb.WriteString(`{"netready-infrastructure:hosts": {"host": [`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sync := "in-sync"
		if i == 0 {
			sync = sync0
		}
		fmt.Fprintf(&sb, `{"name": "host-%d", "status": {"oper-status": "up", "sync-state": %q, "backend": [{"name": "vendor-a", "sync-state": %q}]}}`, i, sync, sync)
	}
	sb.WriteString(`]}}`)
	root, err := tree.DecodeStateJSON(sch.Root, []byte(sb.String()))
	if err != nil {
		b.Fatal(err)
	}
	return root
}

// BenchmarkStatusAt30kObjects: what one publication costs with 30,000
// objects holding status (hosts here): the leader encodes the whole
// status (at most once per interval), a follower decodes it and works
// out what changed (one object's status) outside its writer, which then
// writes only that.
func BenchmarkStatusAt30kObjects(b *testing.B) {
	sch, err := schema.LoadFS(netreadyyang.Files)
	if err != nil {
		b.Fatal(err)
	}
	own := map[string]bool{"system": true, "audit": true, "access": true}
	const n = 30000
	leader := hostsWithStatus(b, sch, n, "pending")
	follower := hostsWithStatus(b, sch, n, "in-sync")
	b.Run("encode", func(b *testing.B) {
		var size int
		for b.Loop() {
			size = len(encodeStatus(leader, 1, own))
		}
		b.ReportMetric(float64(size), "bytes")
	})
	st, err := decodeStatus(sch, encodeStatus(leader, 1, own))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode", func(b *testing.B) {
		val := encodeStatus(leader, 1, own)
		for b.Loop() {
			if _, err := decodeStatus(sch, val); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("edits", func(b *testing.B) { // a follower, outside its writer
		for b.Loop() {
			if _, err := statusEdits(follower, st, own); err != nil {
				b.Fatal(err)
			}
		}
	})
	edits, err := statusEdits(follower, st, own)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("apply", func(b *testing.B) { // in its writer
		for b.Loop() {
			if err := applyEdits(tree.Begin(follower), edits); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(edits)), "edits")
	})
}
