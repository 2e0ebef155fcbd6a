package store_test

import (
	"path/filepath"
	"testing"

	"github.com/netready/netready/server/store"
	"github.com/netready/netready/server/store/storetest"
)

// TestConformance: the bbolt store passes the tests every backend does.
func TestConformance(t *testing.T) {
	dir := t.TempDir()
	storetest.Run(t, func(t *testing.T, name string, o storetest.Options) store.Store {
		path := filepath.Join(dir, filepath.Base(t.Name())+"-"+name+".db")
		s, err := store.OpenBolt(path, store.BoltOptions{NoSync: true, Retention: o.Retention, AuditRetention: o.AuditRetention, AuditRetentionBytes: o.AuditRetentionBytes})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
