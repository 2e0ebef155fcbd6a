package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/netready/netready/server/certs"
)

// StoreMarker, in the data dir, records that a database was created there.
// With the users file and the generated certificate it tells a data dir
// that lost its database from a brand-new one, even when the users file
// and certificates live elsewhere.
const StoreMarker = ".netready-store"

const markerText = "This data dir holds NetReady's database (" + DBFile + ").\n" +
	"netreadyd refuses to start here with a missing or empty database unless\n" +
	"given --init-empty-store (docs/security.md, \"Damaged data and backups\").\n"

// guardEmptyStore refuses to start on a data dir that was used before but
// whose database is missing or empty: starting would serve, and accept
// Sets on, an empty configuration as if nothing had been lost. It runs
// before anything is written to the data dir. A brand-new data dir, or
// --init-empty-store, starts empty.
func (d *Daemon) guardEmptyStore() error {
	db := filepath.Join(d.cfg.DataDir, DBFile)
	fi, err := os.Stat(db)
	state := "missing"
	switch {
	case err == nil && fi.Size() > 0:
		return nil // the store checks it when opening
	case err == nil:
		state = "empty (0 bytes)"
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("data file: %w", err)
	}
	signs := d.signsOfUse()
	if len(signs) == 0 {
		return nil
	}
	if d.cfg.InitEmptyStore {
		d.log.Warn("starting with an empty database in a data dir used before (--init-empty-store)", "db", db, "state", state, "found", signs)
		return nil
	}
	return fmt.Errorf("the database %s is %s but the data dir was used before (found %s): refusing to start with an empty configuration; restore the database from a backup, or start once with --init-empty-store to begin empty on purpose",
		db, state, strings.Join(signs, ", "))
}

// signsOfUse lists the files in the data dir that a server which ran
// there leaves: the marker, the users file (when it lives in the data
// dir; one provisioned elsewhere says nothing about this dir), the initial
// password, the generated certificate and key, the loaded models.
func (d *Daemon) signsOfUse() []string {
	dir := d.cfg.DataDir
	candidates := []string{filepath.Join(dir, StoreMarker), filepath.Join(dir, InitialPasswordFile),
		filepath.Join(dir, certs.CertFile), filepath.Join(dir, certs.KeyFile), filepath.Join(dir, LoadedModelsDir)}
	if users := d.usersFile(); filepath.Clean(filepath.Dir(users)) == filepath.Clean(dir) {
		candidates = append(candidates, users)
	}
	var found []string
	for _, f := range candidates {
		if _, err := os.Lstat(f); !errors.Is(err, fs.ErrNotExist) {
			found = append(found, f)
		}
	}
	return found
}

// writeStoreMarker records that the data dir holds a database, once it was
// opened.
func (d *Daemon) writeStoreMarker() error {
	path := filepath.Join(d.cfg.DataDir, StoreMarker)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.WriteFile(path, []byte(markerText), 0o640); err != nil {
		return fmt.Errorf("data dir marker: %w", err)
	}
	return nil
}
