package main

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/netready/netready/cmd/netreadyd/daemon"
	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/store/etcdstore"
	"github.com/netready/netready/server/store/etcdstore/etcdtest"
)

// TestMigrateBoltEtcdBolt: a bbolt datastore copied to etcd and back is
// the same everywhere (rows, commit log, audit log, state, last id); the
// copy in etcd goes on from the same ids; a copy into a store that holds
// something is refused.
func TestMigrateBoltEtcdBolt(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	st, err := store.OpenBolt(filepath.Join(src, daemon.DBFile), store.BoltOptions{NoSync: true, Retention: 2})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 22, 0, 0, 0, time.UTC)
	for id := uint64(1); id <= 4; id++ {
		c := &store.Commit{ID: id, Time: at, User: "alice", Summary: "s", Audit: []byte{'a', byte('0' + id)},
			Changes: []store.RowChange{{Key: "/r" + string(rune('0'+id)), New: []byte("v")}, {Key: "/empty", New: []byte{}}},
			State:   map[string][]byte{"k": {byte(id)}}}
		if err := st.Apply(ctx, []*store.Commit{c}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AppendAudit(ctx, [][]byte{[]byte("refused")}); err != nil {
		t.Fatal(err)
	}
	want, err := store.Export(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	c := etcdtest.Start(t, 3)
	etcdSpec := "etcd:" + strings.Join(c.Endpoints, ",")
	run := func(wantCode int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := runMigrate(append(args, "--etcd-prefix", "/m/"), &out, &errOut); code != wantCode {
			t.Fatalf("migrate %v: exit %d, want %d: %s%s", args, code, wantCode, out.String(), errOut.String())
		}
		return out.String() + errOut.String()
	}
	run(0, "--from", "bbolt:"+src, "--to", etcdSpec)
	if msg := run(1, "--from", "bbolt:"+src, "--to", etcdSpec); !strings.Contains(msg, "import only into a new store") {
		t.Fatalf("second copy into the same prefix: %s", msg)
	}
	back := t.TempDir()
	run(0, "--from", etcdSpec, "--to", "bbolt:"+back)
	run(2, "--from", "nowhere", "--to", "bbolt:"+back)

	es, err := etcdstore.Open(ctx, c.Client(t), etcdstore.Options{Prefix: "/m/"})
	if err != nil {
		t.Fatal(err)
	}
	inEtcd, err := store.Export(ctx, es)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := store.OpenBolt(filepath.Join(back, daemon.DBFile), store.BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	inBack, err := store.Export(ctx, bs)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]*store.Dump{"etcd": inEtcd, "bbolt again": inBack} {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s holds\n%+v\nwant\n%+v", name, got, want)
		}
	}
	// Both copies go on from commit 4 and audit entry 5.
	for _, s := range []store.Store{es, bs} {
		if err := s.Apply(ctx, []*store.Commit{{ID: 5, Audit: []byte("a5")}}); err != nil {
			t.Fatal(err)
		}
		var last uint64
		if err := s.Audit(ctx, func(seq uint64, _ []byte) error { last = seq; return nil }); err != nil || last != 6 {
			t.Fatalf("audit sequence after the copy: %d (%v), want 6", last, err)
		}
	}
}
