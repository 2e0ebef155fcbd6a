package gnmidriver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/gnmipath"
	"github.com/netready/netready/southbound"
)

// getParallel bounds the Gets one ApplyData runs at once when it reads
// objects one by one.
const getParallel = 16

// ApplyData implements southbound.DataDriver: one SetRequest.
func (d *Driver) ApplyData(ctx context.Context, changes []southbound.DataChange) error {
	if len(changes) == 0 {
		return nil
	}
	req := &gpb.SetRequest{Prefix: d.requestPrefix()}
	var ups []*gpb.Path
	var ours [][]*gpb.PathElem
	var vals []map[string]any
	for _, c := range changes {
		elems, err := gnmipath.Parse(c.Path)
		if err != nil {
			return err
		}
		p := d.remote(elems)
		if c.Op == southbound.DataDelete {
			req.Delete = append(req.Delete, p)
			continue
		}
		v, err := object(c.JSON)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Path, err)
		}
		js := c.JSON
		if len(js) == 0 {
			js = []byte("{}")
		}
		req.Update = append(req.Update, &gpb.Update{Path: p, Val: &gpb.TypedValue{Value: &gpb.TypedValue_JsonIetfVal{JsonIetfVal: js}}})
		ups, ours, vals = append(ups, p), append(ours, elems), append(vals, v)
	}
	// An update merges: delete the leaves the objects hold that their new
	// value does not have.
	if len(ups) > 0 {
		cur, err := d.getObjects(ctx, ups)
		if err != nil {
			return err
		}
		for i, have := range cur {
			for _, name := range leafNames(have) {
				hv, _ := memberNamed(have, name)
				nv, ok := memberNamed(vals[i], name)
				_, list := hv.([]any)
				switch {
				case !ok && d.isDefault(ours[i], name, canonical(hv)):
				case !ok, list && canonical(hv) != canonical(nv):
					// A leaf-list is deleted before it is updated, so it
					// holds exactly the new values on targets whose
					// update merges leaf-lists.
					req.Delete = append(req.Delete, child(ups[i], name))
				}
			}
		}
	}
	if _, err := d.gnmi.Set(d.callCtx(ctx), req); err != nil {
		return d.fail("Set", err)
	}
	return nil
}

// object decodes a JSON object (nil or empty: {}).
func object(js []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(js)) == 0 {
		return map[string]any{}, nil
	}
	v, err := decode(js)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("value %.40s is not a JSON object", js)
	}
	return m, nil
}

func decode(js []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("bad JSON: %w", err)
	}
	return v, nil
}

// isLeaf tells a leaf's (or leaf-list's) JSON_IETF value from a
// container's (an object) or a list's (an array of objects).
func isLeaf(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		return false
	case []any:
		for _, e := range v {
			if _, ok := e.(map[string]any); ok {
				return false
			}
		}
		return len(v) > 0 // an empty array is nothing
	}
	return true
}

// leafNames returns the unqualified names of obj's leaves.
func leafNames(obj map[string]any) []string {
	var out []string
	for k, v := range obj {
		if isLeaf(v) {
			out = append(out, unqualified(k))
		}
	}
	sort.Strings(out)
	return out
}

// memberNamed finds the member of obj called name, qualified or not.
func memberNamed(obj map[string]any, name string) (any, bool) {
	for k, v := range obj {
		if unqualified(k) == name {
			return v, true
		}
	}
	return nil, false
}

func child(p *gpb.Path, name string, keys ...map[string]string) *gpb.Path {
	e := &gpb.PathElem{Name: name}
	if len(keys) > 0 {
		e.Key = keys[0]
	}
	return &gpb.Path{Elem: append(slices.Clip(p.GetElem()), e)}
}

// getObjects reads the configuration at each path: the object's JSON
// object, or nil where the target has none. One Get for all, or one per
// path when some are missing (a Get of a missing path fails as a whole).
func (d *Driver) getObjects(ctx context.Context, paths []*gpb.Path) ([]map[string]any, error) {
	out, err := d.get(ctx, paths)
	if status.Code(err) != codes.NotFound {
		return out, err
	}
	out = make([]map[string]any, len(paths))
	errs := make([]error, len(paths))
	sem := make(chan struct{}, getParallel)
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := d.get(ctx, []*gpb.Path{p})
			switch {
			case status.Code(err) == codes.NotFound:
			case err != nil:
				errs[i] = err
			default:
				out[i] = r[0]
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// get reads the configuration at paths (JSON_IETF): one object each,
// assembled from whatever updates the target answers with.
func (d *Driver) get(ctx context.Context, paths []*gpb.Path) ([]map[string]any, error) {
	resp, err := d.gnmi.Get(d.callCtx(ctx), &gpb.GetRequest{Prefix: d.requestPrefix(), Path: paths,
		Type: gpb.GetRequest_CONFIG, Encoding: gpb.Encoding_JSON_IETF})
	if status.Code(err) == codes.NotFound {
		return nil, err
	}
	if err != nil {
		return nil, d.fail("Get", err)
	}
	out := make([]map[string]any, len(paths))
	for _, n := range resp.GetNotification() {
		for _, u := range n.GetUpdate() {
			full := append(slices.Clip(n.GetPrefix().GetElem()), u.GetPath().GetElem()...)
			v, err := typedValue(u.GetVal())
			if err != nil {
				return nil, fmt.Errorf("target %s: Get %s: %w", d.endpoint, gnmipath.String(full), err)
			}
			// The most specific requested path the update is at or below
			// (a batch may hold an object and one below it).
			best := -1
			for i, p := range paths {
				if _, ok := below(full, p.GetElem()); ok && (best < 0 || len(p.GetElem()) > len(paths[best].GetElem())) {
					best = i
				}
			}
			if best < 0 {
				continue
			}
			rel, _ := below(full, paths[best].GetElem())
			if out[best] == nil {
				out[best] = map[string]any{}
			}
			if err := insert(out[best], rel, v, paths[best].GetElem()); err != nil {
				return nil, fmt.Errorf("target %s: Get %s: %w", d.endpoint, gnmipath.String(full), err)
			}
		}
	}
	return out, nil
}

func typedValue(tv *gpb.TypedValue) (any, error) {
	switch v := tv.GetValue().(type) {
	case *gpb.TypedValue_JsonIetfVal:
		return decode(v.JsonIetfVal)
	case *gpb.TypedValue_JsonVal:
		return decode(v.JsonVal)
	case *gpb.TypedValue_StringVal:
		return v.StringVal, nil
	case *gpb.TypedValue_BoolVal:
		return v.BoolVal, nil
	case *gpb.TypedValue_IntVal:
		return json.Number(fmt.Sprint(v.IntVal)), nil
	case *gpb.TypedValue_UintVal:
		return json.Number(fmt.Sprint(v.UintVal)), nil
	default:
		return nil, fmt.Errorf("value of type %T: ask for JSON_IETF", v)
	}
}

// below returns full's elems below base, if full is at or below base.
func below(full, base []*gpb.PathElem) ([]*gpb.PathElem, bool) {
	if len(full) < len(base) {
		return nil, false
	}
	for i, e := range base {
		if unqualified(full[i].GetName()) != unqualified(e.GetName()) || !keysEqual(full[i].GetKey(), e.GetKey()) {
			return nil, false
		}
	}
	return full[len(base):], true
}

func keysEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// insert puts v, found at rel below the object doc, into doc. base is
// doc's own path: a list entry read as a one-entry array is unwrapped.
func insert(doc map[string]any, rel []*gpb.PathElem, v any, base []*gpb.PathElem) error {
	if len(rel) == 0 {
		if a, ok := v.([]any); ok && len(a) == 1 && len(base) > 0 && len(base[len(base)-1].GetKey()) > 0 {
			v = a[0]
		}
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("the value of an object is not a JSON object")
		}
		for k, x := range m {
			doc[k] = x
		}
		return nil
	}
	e := rel[0]
	name := unqualified(e.GetName())
	if len(rel) == 1 && len(e.GetKey()) == 0 {
		doc[name] = v
		return nil
	}
	cur, _ := memberNamed(doc, name)
	var next map[string]any
	if len(e.GetKey()) == 0 {
		next, _ = cur.(map[string]any)
		if next == nil {
			next = map[string]any{}
			doc[name] = next
		}
	} else {
		list, _ := cur.([]any)
		for _, x := range list {
			if m, ok := x.(map[string]any); ok && entryHasKeys(m, e.GetKey()) {
				next = m
			}
		}
		if next == nil {
			next = map[string]any{}
			for k, kv := range e.GetKey() {
				next[k] = kv
			}
			doc[name] = append(list, next)
		}
	}
	return insert(next, rel[1:], v, rel[:1])
}

func entryHasKeys(m map[string]any, keys map[string]string) bool {
	for k, v := range keys {
		x, ok := memberNamed(m, k)
		if !ok || keyText(x) != v {
			return false
		}
	}
	return true
}

// keyText is a key leaf's JSON_IETF value as a path writes it.
func keyText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func canonical(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// elemID identifies a path elem among its siblings: its text, name
// unqualified.
func elemID(e *gpb.PathElem) string {
	return gnmipath.String([]*gpb.PathElem{{Name: unqualified(e.GetName()), Key: e.GetKey()}})
}
