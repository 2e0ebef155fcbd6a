package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/netready/netready/server/changeset"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/gnmiserver"
	"github.com/netready/netready/server/rules"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
	"github.com/netready/netready/server/validate"
	netreadyyang "github.com/netready/netready/yang"
)

// ModelsDirName is the default models directory inside the data dir.
const ModelsDirName = "models"

// LoadedModelsDir, inside the data dir, holds a copy of every module of
// the models dir that is loaded, so that a restart after a module with
// data was removed (or broken) keeps serving it as it was.
const LoadedModelsDir = ".models-loaded"

// reloadReason ends the Subscribe streams open when the models reload.
const reloadReason = "server reloading its YANG models; subscribe again"

// models is what the daemon loaded: the schema, the sources of the
// modules of the models dir it includes, and every file's status.
type models struct {
	sch    *schema.Schema
	extra  []schema.Source     // loaded extra modules, as loaded
	status []schema.FileStatus // one per file of the models dir (and kept ones)
}

func (d *Daemon) modelsDir() string {
	if d.cfg.ModelsDir != "" {
		return d.cfg.ModelsDir
	}
	return filepath.Join(d.cfg.DataDir, ModelsDirName)
}

// readModels reads the *.yang files of the models dir; none when the
// directory does not exist.
func (d *Daemon) readModels() ([]schema.Source, error) {
	dir := d.modelsDir()
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return schema.ReadSources(os.DirFS(dir))
}

// loadModels builds the schema of the built-in modules and the models
// dir. prev (nil at start-up) is what is loaded now: a loaded module that
// was removed, or changed or refused, while the store holds data under it
// stays loaded as it was, so no stored data is ever orphaned.
func (d *Daemon) loadModels(ctx context.Context, prev *models) (*models, error) {
	builtin, err := schema.ReadSources(netreadyyang.Files)
	if err != nil {
		return nil, err
	}
	extra, err := d.readModels()
	if err != nil {
		return nil, err
	}
	if prev == nil {
		if prev, err = d.savedModels(builtin); err != nil {
			return nil, err
		}
	}
	kept := map[string]string{} // file -> why its old version stays
	for attempt := 0; attempt <= len(extra)+1; attempt++ {
		sch, status, err := schema.LoadWithModels(builtin, extra)
		if err != nil {
			return nil, err
		}
		m := &models{sch: sch, status: status}
		for i, st := range status {
			if st.Loaded {
				m.extra = append(m.extra, extra[i])
			}
			if why, ok := kept[st.File]; ok {
				m.status[i].Message = why
			}
		}
		if prev == nil || (sameSources(m.extra, prev.extra) && attempt == 0) {
			return m, nil // nothing loaded goes away
		}
		orphans, err := d.orphans(ctx, sch)
		if err != nil {
			return nil, err
		}
		if len(orphans) == 0 {
			return m, nil
		}
		// Keep the loaded version of every module with data the new
		// set would orphan (or leave invalid), and try again.
		n := len(kept)
		extra = keepLoaded(prev, extra, orphans, kept)
		if len(kept) == n {
			return nil, fmt.Errorf("models: the stored data does not load or validate under the new modules: %s", strings.Join(orphans, "; "))
		}
	}
	return nil, errors.New("models: no set of modules keeps the stored data valid")
}

// keepLoaded replaces (or adds back) in extra the loaded version of every
// extra module that defines a top-level node of an orphaned row.
func keepLoaded(prev *models, extra []schema.Source, orphans []string, kept map[string]string) []schema.Source {
	byModule := map[string]schema.Source{}
	for _, s := range prev.extra {
		for _, st := range prev.status {
			if st.File == s.Name && st.Loaded {
				byModule[st.Module] = s
			}
		}
	}
	for _, row := range orphans {
		top := strings.TrimPrefix(row, "/")
		if i := strings.IndexAny(top, "/[ ("); i >= 0 {
			top = top[:i]
		}
		if i := strings.IndexByte(top, ':'); i >= 0 {
			top = top[i+1:]
		}
		n := prev.sch.Root.Child(top)
		if n == nil {
			continue
		}
		src, ok := byModule[n.Module]
		if !ok {
			continue
		}
		if _, done := kept[src.Name]; done {
			continue
		}
		kept[src.Name] = fmt.Sprintf("%s: module %s was removed, refused or changed, but the store has data under it that would be orphaned or invalid (%s): the loaded version stays until that data is deleted", src.Name, n.Module, row)
		replaced := false
		for i := range extra {
			if extra[i].Name == src.Name {
				extra[i], replaced = src, true
			}
		}
		if !replaced {
			extra = append(extra, src)
		}
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].Name < extra[j].Name })
	return extra
}

// savedModels returns what was loaded when the server last loaded models
// (from LoadedModelsDir), nil if nothing.
func (d *Daemon) savedModels(builtin []schema.Source) (*models, error) {
	dir := filepath.Join(d.cfg.DataDir, LoadedModelsDir)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	saved, err := schema.ReadSources(os.DirFS(dir))
	if err != nil || len(saved) == 0 {
		return nil, err
	}
	sch, status, err := schema.LoadWithModels(builtin, saved)
	if err != nil {
		return nil, err
	}
	m := &models{sch: sch, status: status}
	for i, st := range status {
		if st.Loaded {
			m.extra = append(m.extra, saved[i])
		}
	}
	return m, nil
}

// saveModels keeps a copy of the loaded modules in LoadedModelsDir.
func (d *Daemon) saveModels(m *models) error {
	dir := filepath.Join(d.cfg.DataDir, LoadedModelsDir)
	if len(m.extra) == 0 {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("models: %w", err)
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("models: %w", err)
	}
	keep := map[string]bool{}
	for _, s := range m.extra {
		keep[s.Name] = true
		f := filepath.Join(dir, s.Name)
		if b, err := os.ReadFile(f); err == nil && string(b) == s.Content {
			continue
		}
		tmp := f + ".tmp"
		if err := os.WriteFile(tmp, []byte(s.Content), 0o640); err != nil {
			return fmt.Errorf("models: %w", err)
		}
		if err := os.Rename(tmp, f); err != nil {
			return fmt.Errorf("models: %w", err)
		}
	}
	old, _ := schema.ReadSources(os.DirFS(dir))
	for _, s := range old {
		if !keep[s.Name] {
			_ = os.Remove(filepath.Join(dir, s.Name))
		}
	}
	return nil
}

// orphans lists the stored rows that do not load under sch. Before the
// data stack is open (start-up) it opens the store for the check.
func (d *Daemon) orphans(ctx context.Context, sch *schema.Schema) ([]string, error) {
	st := d.st
	if st == nil {
		var err error
		st, err = d.openStore(ctx)
		if err != nil {
			return nil, err
		}
		defer st.Close()
	}
	var bad []string
	txn := tree.Begin(tree.NewRoot(sch))
	err := st.Load(ctx, func(key string, val []byte) error {
		if err := txn.LoadRow(key, val); err != nil {
			bad = append(bad, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("models: check stored data: %w", err)
	}
	if len(bad) > 0 {
		return bad, nil
	}
	// Every row loads: the data must also still be valid (a changed
	// module may add a mandatory leaf, narrow a range, add a must).
	val, err := validate.New(sch, rules.All())
	if err != nil {
		return nil, err
	}
	if _, err := val.Check(changeset.Compute(tree.NewRoot(sch), txn.Root()), nil); err != nil {
		var te *tree.Error
		if errors.As(err, &te) && te.Path != "" {
			return []string{te.Path + " (" + te.Msg + ")"}, nil
		}
		return []string{err.Error()}, nil
	}
	return nil, nil
}

// logModels logs every refused file and how many loaded.
func (d *Daemon) logModels(m *models) {
	for _, st := range m.status {
		switch {
		case !st.Loaded:
			d.log.Error("YANG module refused", "file", st.File, "module", st.Module, "err", st.Message)
		case st.Message != "":
			d.log.Warn("YANG module kept loaded", "file", st.File, "module", st.Module, "reason", st.Message)
		default:
			d.log.Info("YANG module loaded", "file", st.File, "module", st.Module, "revision", st.Revision)
		}
	}
}

// publishModels writes the status of every file under /system/models.
func (d *Daemon) publishModels(ctx context.Context, m *models) error {
	type entry struct {
		File     string `json:"file"`
		Name     string `json:"name,omitempty"`
		Revision string `json:"revision,omitempty"`
		Status   string `json:"status"`
		Message  string `json:"message,omitempty"`
	}
	list := []entry{}
	for _, st := range m.status {
		e := entry{File: st.File, Name: st.Module, Revision: st.Revision, Status: "loaded", Message: st.Message}
		if !st.Loaded {
			e.Status = "refused"
		}
		list = append(list, e)
	}
	js, err := json.Marshal(map[string]any{"netready-system:system": map[string]any{"models": map[string]any{"module": list}}})
	if err != nil {
		return err
	}
	root := d.ds.Schema().Root
	payload, err := tree.DecodeStateJSON(root, js)
	if err != nil {
		return fmt.Errorf("publish models: %w", err)
	}
	p := tree.MustResolve(root, "system", "models")
	sub := payload.Child(p[0].Schema).Child(p[1].Schema)
	return d.ds.UpdateState(ctx, func(t *tree.Txn) error {
		if sub == nil {
			t.Delete(p)
			return nil
		}
		return t.Replace(p, sub)
	})
}

// reloadRequest is the value of /system/config/models-reload-request in
// the running configuration (0 when unset).
func (d *Daemon) reloadRequest() uint64 {
	root := d.ds.Snapshot().Root
	for _, name := range []string{"system", "config", "models-reload-request"} {
		if root == nil {
			return 0
		}
		root = root.ChildByName(name)
	}
	if root == nil {
		return 0
	}
	v, _ := root.Value().(uint64)
	return v
}

// sameSources reports whether two sets of loaded extra modules are equal.
func sameSources(a, b []schema.Source) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ReloadModels reloads the modules of the models dir. When the set of
// loaded modules changes, the data stack (datastore, telemetry hub,
// realization engine, gNMI service) is reopened on the same store with
// the new schema, while the listener, TLS and connections stay: RPCs in
// flight finish first, new ones wait for the reload, and open Subscribe
// streams end with Unavailable so that collectors subscribe again.
func (d *Daemon) ReloadModels(ctx context.Context) error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	if d.stopped {
		return errors.New("models: server stopped")
	}
	m, err := d.loadModels(ctx, d.models)
	if err != nil {
		return err
	}
	d.logModels(m)
	if sameSources(m.extra, d.models.extra) {
		d.models = m
		return d.publishModels(ctx, m)
	}
	d.front.mu.Lock()
	defer d.front.mu.Unlock()
	old := d.models
	d.setServing(false)
	d.closeDataWith(reloadReason)
	d.sys.Rebind(m.sch)
	if err := d.open(ctx, m.sch); err != nil {
		d.log.Error("reload with the new models failed; reopening with the previous ones", "err", err)
		d.closeDataWith(reloadReason)
		d.sys.Rebind(old.sch)
		if err2 := d.open(ctx, old.sch); err2 != nil {
			d.errc <- fmt.Errorf("reopen after a failed models reload: %w", err2)
			return err2
		}
		d.dataUp()
		return err
	}
	d.dataUp()
	d.models = m
	if err := d.saveModels(m); err != nil {
		d.log.Error("saving the loaded models", "err", err)
	}
	d.log.Info("YANG models reloaded", "modules", len(m.sch.Modules))
	return d.publishModels(ctx, m)
}

// front is the gNMI service registered with gRPC: it forwards to the
// service of the current data stack, which a models reload replaces.
type front struct {
	gpb.UnimplementedGNMIServer
	d   *Daemon
	mu  sync.RWMutex
	cur *gnmiserver.Server
}

func (f *front) Capabilities(ctx context.Context, req *gpb.CapabilityRequest) (*gpb.CapabilityResponse, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.cur.Capabilities(ctx, req)
}

func (f *front) Get(ctx context.Context, req *gpb.GetRequest) (*gpb.GetResponse, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.cur.Get(ctx, req)
}

// Set forwards; when the Set changed models-reload-request, it reloads
// the models before it returns (the reload waits for this Set to end).
func (f *front) Set(ctx context.Context, req *gpb.SetRequest) (*gpb.SetResponse, error) {
	f.mu.RLock()
	resp, err := f.cur.Set(ctx, req)
	trigger := false
	if err == nil {
		last := f.d.lastReload.Load()
		if v := f.d.reloadRequest(); v != last {
			trigger = f.d.lastReload.CompareAndSwap(last, v)
		}
	}
	f.mu.RUnlock()
	if trigger {
		if err := f.d.ReloadModels(context.WithoutCancel(ctx)); err != nil {
			f.d.log.Error("models reload failed; keeping the loaded models", "err", err)
		}
	}
	return resp, err
}

// Subscribe does not hold the reload off: a reload ends the stream.
func (f *front) Subscribe(stream gpb.GNMI_SubscribeServer) error {
	f.mu.RLock()
	cur := f.cur
	f.mu.RUnlock()
	return cur.Subscribe(stream)
}
