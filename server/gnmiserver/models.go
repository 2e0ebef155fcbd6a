package gnmiserver

import (
	"sync"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
)

// modelView restricts Get and Subscribe to the data nodes of the modules a
// request names in use_models (gNMI 2.6: the target MUST NOT utilize data
// tree elements defined in modules outside the set). A node is served when
// the module that instantiates it is in the set; the containers, lists and
// list keys of other modules on the way to such a node are served too, as
// the path to it (an augmentation of another module's tree, like
// netready-l3vpn's VPNs under a netready-tenants tenant, is reachable only
// through them). Everything else, including other modules' augmentations
// of the named modules' trees, is left out.
//
// An empty use_models means every module (gNMI 3.2); it returns nil.
// A model the server does not have is InvalidArgument, as is a model
// named with another organization or version than the one loaded.
func modelView(op string, sch *schema.Schema, models []*gpb.ModelData) (tree.PathVisibleFunc, error) {
	if len(models) == 0 {
		return nil, nil
	}
	in := make(map[string]bool, len(models))
	for _, m := range models {
		mod, ok := sch.ModuleByName(m.GetName())
		if !ok {
			return nil, status.Errorf(codes.InvalidArgument, "%s: use_models names unknown model %q (Capabilities lists the models)", op, m.GetName())
		}
		if (m.GetOrganization() != "" && m.GetOrganization() != mod.Organization) || (m.GetVersion() != "" && m.GetVersion() != mod.Revision) {
			return nil, status.Errorf(codes.InvalidArgument, "%s: use_models: model %s is served as organization %q version %q, not %q %q",
				op, m.GetName(), mod.Organization, mod.Revision, m.GetOrganization(), m.GetVersion())
		}
		in[m.GetName()] = true
	}
	v := &view{in: in, memo: map[*schema.Node]tree.Visibility{}}
	root := sch.Root
	return func(path []*gpb.PathElem) tree.Visibility {
		s := root
		for _, e := range path {
			if s = s.Child(e.GetName()); s == nil {
				return tree.Hidden
			}
		}
		return v.of(s)
	}, nil
}

// view memoizes the visibility of schema nodes under one set of modules;
// Get and Subscribe ask from several goroutines (a stream's own, the hub's).
type view struct {
	in   map[string]bool
	mu   sync.Mutex
	memo map[*schema.Node]tree.Visibility
}

func (v *view) of(s *schema.Node) tree.Visibility {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.visibility(s)
}

// visibility is Visible for a node of the set with nothing of other
// modules below, Partly for one on the way to or around such nodes (its
// children are asked in turn), Hidden for the rest. A list key is shown
// whenever its entry is: the entry cannot be named without it.
func (v *view) visibility(s *schema.Node) tree.Visibility {
	if vis, ok := v.memo[s]; ok {
		return vis
	}
	var vis tree.Visibility
	switch {
	case s.Parent == nil:
		vis = tree.Partly // the root belongs to no module
	case s.IsKey:
		vis = tree.Hidden
		if v.visibility(s.Parent) != tree.Hidden {
			vis = tree.Visible
		}
	default:
		vis = v.fromChildren(s)
	}
	v.memo[s] = vis
	return vis
}

// fromChildren judges a non-key node by its own module and what lies below.
func (v *view) fromChildren(s *schema.Node) tree.Visibility {
	own, anyIn, allIn := v.in[s.Module], false, true
	for _, c := range s.Children {
		if c.IsKey {
			continue
		}
		switch v.visibility(c) {
		case tree.Visible:
			anyIn = true
		case tree.Partly:
			anyIn, allIn = true, false
		default:
			allIn = false
		}
	}
	switch {
	case own && allIn:
		return tree.Visible
	case own || anyIn:
		return tree.Partly
	}
	return tree.Hidden
}

// bothVisible is what a reader sees under two restrictions (nil: none).
func bothVisible(a, b tree.PathVisibleFunc) tree.PathVisibleFunc {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	return func(path []*gpb.PathElem) tree.Visibility {
		va := a(path)
		if va == tree.Hidden {
			return tree.Hidden
		}
		vb := b(path)
		switch {
		case vb == tree.Hidden:
			return tree.Hidden
		case va == tree.Visible && vb == tree.Visible:
			return tree.Visible
		}
		return tree.Partly
	}
}
