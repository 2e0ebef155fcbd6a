package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// oldRecordsFile is a data file written by the code before record
// version 3 (commit 4e81730): the commits of oldRecordsCommits, plain ones
// as version 1 records and the one with a Kind as version 2.
const oldRecordsFile = "testdata/records-v1-v2.db"

// oldRecordsCommits are the commits oldRecordsFile holds: rows created,
// changed (the shape of an mtu Set over many ports), emptied and deleted,
// and a commit-confirmed step.
func oldRecordsCommits() []*Commit {
	at := time.Date(2026, 12, 3, 6, 0, 0, 123456789, time.UTC)
	port := func(i, mtu int) []byte {
		return fmt.Appendf(nil, `{"name":"p%d","host":"host-a","mac-address":"02:00:00:00:00:%02x","mtu":%d}`, i, i, mtu)
	}
	key := func(i int) string { return fmt.Sprintf("/tenants/tenant[name=load0]/ports/port[name=p%d]", i) }
	create := &Commit{ID: 1, Time: at, User: "admin", Peer: "127.0.0.1:1", Summary: "update /tenants"}
	change := &Commit{ID: 2, Time: at.Add(time.Second), User: "admin", Peer: "127.0.0.1:2", Summary: "update /tenants/tenant[name=load0]/ports"}
	for i := range 100 {
		create.Changes = append(create.Changes, RowChange{Key: key(i), New: port(i, 9000)})
		change.Changes = append(change.Changes, RowChange{Key: key(i), Old: port(i, 9000), New: port(i, 1500+i)})
	}
	return []*Commit{
		create,
		change,
		{ID: 3, Time: at.Add(2 * time.Second), User: "bob", Summary: "delete", Changes: []RowChange{
			{Key: key(0), Old: port(0, 1500)},
			{Key: "/system/config", Old: []byte(`{"x":1}`), New: []byte{}},
			{Key: "/a", Old: []byte{}, New: []byte("{}")},
		}},
		{ID: 4, Time: at.Add(3 * time.Second), User: "bob", Summary: "commit-confirmed", Kind: "commit-confirmed",
			Detail: []byte(`{"id":"c1"}`), Changes: []RowChange{{Key: key(1), Old: port(1, 1501), New: port(1, 9100)}}},
	}
}

// TestReadsRecordsTheOldCodeWrote: a file the code before record version
// 3 wrote opens (the check at open decodes the newest record) and its log
// reads back as it was written; new commits on it are written in the
// current version and read back beside the old ones.
func TestReadsRecordsTheOldCodeWrote(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	data, err := os.ReadFile(oldRecordsFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	want := oldRecordsCommits()
	s := openTest(t, path, BoltOptions{NoSync: true})
	versions := map[uint64]byte{}
	if err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketCommits).ForEach(func(k, v []byte) error {
			versions[binary.BigEndian.Uint64(k)] = v[0]
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(versions, map[uint64]byte{1: 1, 2: 1, 3: 1, 4: 2}) {
		t.Fatalf("record versions in %s: %v, want version 1 for 1-3 and 2 for 4", oldRecordsFile, versions)
	}
	next := &Commit{ID: 5, Time: want[3].Time.Add(time.Second), Summary: "update", Changes: []RowChange{
		{Key: want[3].Changes[0].Key, Old: want[3].Changes[0].New, New: []byte(`{"name":"p1","mtu":9200}`)},
	}}
	if err := s.Apply(context.Background(), []*Commit{next}); err != nil {
		t.Fatal(err)
	}
	want = append(want, next)
	var got []*Commit
	if err := s.Commits(context.Background(), 0, 0, func(c *Commit) error {
		got = append(got, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d commits, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("commit %d:\n got %+v\nwant %+v", want[i].ID, got[i], want[i])
		}
	}
}
