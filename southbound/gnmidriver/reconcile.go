package gnmidriver

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/netready/netready/server/gnmipath"
	"github.com/netready/netready/southbound"
)

// obj is one configuration object (container or list entry), as the
// state has it (want) or the target does (have).
type obj struct {
	elems  []*gpb.PathElem // our path
	leaves map[string]string
	// js is the object's own leaves as the state gives them (nil for an
	// object the state only implies, and on the target side).
	js       []byte
	children map[string]*obj
	order    []string
	// wholeList marks, on the target side, a list whose keys are unknown
	// (the state has no entry of it): only removable as a whole.
	wholeList bool
}

func newObj(elems []*gpb.PathElem) *obj {
	return &obj{elems: elems, leaves: map[string]string{}, children: map[string]*obj{}}
}

func (o *obj) child(e *gpb.PathElem) *obj {
	id := elemID(e)
	c := o.children[id]
	if c == nil {
		c = newObj(append(slices.Clip(o.elems), &gpb.PathElem{Name: unqualified(e.GetName()), Key: e.GetKey()}))
		o.children[id] = c
		o.order = append(o.order, id)
	}
	return c
}

// empty reports whether o holds nothing: it counts as absent.
func (o *obj) empty() bool {
	if o == nil {
		return true
	}
	if len(o.leaves) > 0 || o.wholeList {
		return false
	}
	for _, c := range o.children {
		if !c.empty() {
			return false
		}
	}
	return true
}

// schemaPath is the names of elems, for remembering list keys.
func schemaPath(elems []*gpb.PathElem) string {
	var b strings.Builder
	for _, e := range elems {
		b.WriteByte('/')
		b.WriteString(unqualified(e.GetName()))
	}
	return b.String()
}

// ReconcileData implements southbound.DataDriver.
func (d *Driver) ReconcileData(ctx context.Context, state []southbound.DataChange) ([]string, error) {
	want := newObj(nil)
	keys := map[string][]string{} // list schema path → key names
	for _, c := range state {
		if c.Op != southbound.DataUpdate {
			continue
		}
		elems, err := gnmipath.Parse(c.Path)
		if err != nil {
			return nil, err
		}
		o := want
		for i, e := range elems {
			o = o.child(e)
			if len(e.GetKey()) > 0 {
				names := make([]string, 0, len(e.GetKey()))
				for k := range e.GetKey() {
					names = append(names, k)
				}
				sort.Strings(names)
				keys[schemaPath(elems[:i+1])] = names
			}
		}
		m, err := object(c.JSON)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Path, err)
		}
		for k, v := range m {
			if isLeaf(v) {
				o.leaves[unqualified(k)] = canonical(v)
			}
		}
		o.js = c.JSON
		if len(o.js) == 0 {
			o.js = []byte("{}")
		}
	}

	// The carried subtrees: the paths option, else the state's tops.
	roots := d.roots
	if len(roots) == 0 {
		for _, id := range want.order {
			roots = append(roots, []*gpb.PathElem{want.children[id].elems[0]})
		}
	}
	r := d.newReconciler(keys)
	if err := r.run(ctx, roots, want); err != nil {
		return nil, err
	}
	if len(r.req.Delete)+len(r.req.Update) == 0 {
		return r.drift, nil
	}
	if _, err := d.gnmi.Set(d.callCtx(ctx), r.req); err != nil {
		return r.drift, d.fail("Set", err)
	}
	if len(r.extras) == 0 {
		return r.drift, nil
	}
	// What the target still has after its deletion is a default value:
	// learn it (it is neither drift now nor next time) and leave it out.
	again := d.newReconciler(keys)
	again.learn = true
	if err := again.run(ctx, roots, want); err != nil {
		return r.drift, err
	}
	kept := map[string]bool{}
	for _, l := range again.extras {
		kept[l] = true
	}
	drift := r.drift[:0:0]
	for _, l := range r.drift {
		if !kept[l] {
			drift = append(drift, l)
		}
	}
	return drift, nil
}

func (d *Driver) newReconciler(keys map[string][]string) *reconciler {
	return &reconciler{d: d, keys: keys, req: &gpb.SetRequest{Prefix: d.requestPrefix()}}
}

// run reads each carried subtree from the target and compares it with
// want.
func (r *reconciler) run(ctx context.Context, roots [][]*gpb.PathElem, want *obj) error {
	for _, root := range roots {
		w := want
		for _, e := range root {
			if w = w.children[elemID(e)]; w == nil {
				break
			}
		}
		var have *obj
		got, err := r.d.getObjects(ctx, []*gpb.Path{r.d.remote(root)})
		if err != nil {
			return err
		}
		if got[0] != nil {
			have = newObj(root)
			r.fill(have, got[0])
		}
		r.compare(root, w, have)
	}
	return nil
}

type reconciler struct {
	d     *Driver
	keys  map[string][]string
	req   *gpb.SetRequest
	drift []string
	// extras are the drift lines of what the target has extra.
	extras []string
	// learn: what is extra is a default value (the pass after the
	// deletions); remember it in d.defaults.
	learn bool
}

// fill makes o hold the target's JSON object m.
func (r *reconciler) fill(o *obj, m map[string]any) {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v, name := m[k], unqualified(k)
		if isLeaf(v) {
			o.leaves[name] = canonical(v)
			continue
		}
		switch v := v.(type) {
		case map[string]any:
			r.fill(o.child(&gpb.PathElem{Name: name}), v)
		case []any:
			sp := schemaPath(o.elems) + "/" + name
			keyNames, known := r.keys[sp]
			if !known {
				o.child(&gpb.PathElem{Name: name}).wholeList = true
				continue
			}
			for _, x := range v {
				e, ok := x.(map[string]any)
				if !ok {
					continue
				}
				kv := map[string]string{}
				for _, kn := range keyNames {
					if kx, ok := memberNamed(e, kn); ok {
						kv[kn] = keyText(kx)
					}
				}
				if len(kv) != len(keyNames) { // not keyed as we know it: it goes
					o.child(&gpb.PathElem{Name: name}).wholeList = true
					continue
				}
				r.fill(o.child(&gpb.PathElem{Name: name, Key: kv}), e)
			}
		}
	}
}

func (r *reconciler) note(elems []*gpb.PathElem, format string, args ...any) string {
	l := fmt.Sprintf("target %s: %s", r.d.endpoint, gnmipath.String(elems)) + fmt.Sprintf(format, args...)
	r.drift = append(r.drift, l)
	return l
}

// vacant reports whether the target's object o holds nothing but known
// default values: it counts as absent.
func (r *reconciler) vacant(o *obj) bool {
	if o == nil {
		return true
	}
	if o.wholeList {
		return false
	}
	for name, v := range o.leaves {
		if !r.d.isDefault(o.elems, name, v) {
			return false
		}
	}
	for _, c := range o.children {
		if !r.vacant(c) {
			return false
		}
	}
	return true
}

// learnAll remembers every leaf of o and below as a default value.
func (r *reconciler) learnAll(o *obj) {
	for name, v := range o.leaves {
		r.d.defaults[defaultKey(o.elems, name)] = v
	}
	for _, c := range o.children {
		r.learnAll(c)
	}
}

// compare records the drift of one object and what corrects it.
func (r *reconciler) compare(elems []*gpb.PathElem, want, have *obj) {
	switch {
	case want.empty() && r.vacant(have):
		return
	case want.empty():
		var l string
		if have.wholeList {
			l = r.note(elems, ": entries extra")
		} else {
			l = r.note(elems, " extra")
		}
		r.extras = append(r.extras, l)
		if r.learn {
			r.learnAll(have)
		}
		r.req.Delete = append(r.req.Delete, r.d.remote(elems))
		return
	case r.vacant(have):
		r.note(elems, " missing")
		r.create(want)
		return
	}
	changed := false
	for _, name := range sortedKeys(want.leaves) {
		hv, ok := have.leaves[name]
		switch {
		case !ok:
			r.note(elems, ": %s missing", name)
			changed = true
		case hv != want.leaves[name]:
			r.note(elems, ": %s is %s, want %s", name, hv, want.leaves[name])
			changed = true
		}
	}
	for _, name := range sortedKeys(have.leaves) {
		v := have.leaves[name]
		if _, ok := want.leaves[name]; ok || r.d.isDefault(elems, name, v) {
			continue
		}
		r.extras = append(r.extras, r.note(elems, ": %s extra (%s)", name, v))
		if r.learn {
			r.d.defaults[defaultKey(elems, name)] = v
		}
		r.req.Delete = append(r.req.Delete, child(r.d.remote(elems), name))
	}
	if changed && want.js != nil {
		r.update(want)
	}
	ids := slices.Clone(want.order)
	for _, id := range have.order {
		if want.children[id] == nil {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		w, h := want.children[id], have.children[id]
		e := w
		if e == nil {
			e = h
		}
		r.compare(e.elems, w, h)
	}
}

// create updates o and everything below it, parents first.
func (r *reconciler) create(o *obj) {
	if o.js != nil {
		r.update(o)
	}
	for _, id := range o.order {
		r.create(o.children[id])
	}
}

func (r *reconciler) update(o *obj) {
	r.req.Update = append(r.req.Update, &gpb.Update{Path: r.d.remote(o.elems),
		Val: &gpb.TypedValue{Value: &gpb.TypedValue_JsonIetfVal{JsonIetfVal: o.js}}})
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// defaultKey names a leaf in the schema (no keys): default values are
// learnt per schema leaf.
func defaultKey(elems []*gpb.PathElem, leaf string) string {
	return schemaPath(elems) + "/" + leaf
}

// isDefault reports whether v is the value the target was seen to give
// the leaf when it is not set.
func (d *Driver) isDefault(elems []*gpb.PathElem, leaf, v string) bool {
	dv, ok := d.defaults[defaultKey(elems, leaf)]
	return ok && dv == v
}
