package gnmiserver

import (
	"context"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/tree"
)

// Get answers from one snapshot, so every path of a request sees the same
// commit. Each requested path gets one notification; a path that matches
// no data is NotFound.
func (s *Server) Get(ctx context.Context, req *gpb.GetRequest) (*gpb.GetResponse, error) {
	depth, err := getExtensions(req.GetExtension())
	if err != nil {
		return nil, err
	}
	enc := req.GetEncoding()
	if enc != gpb.Encoding_JSON && enc != gpb.Encoding_JSON_IETF && enc != gpb.Encoding_PROTO {
		return nil, status.Errorf(codes.Unimplemented, "get: encoding %s is not supported (JSON, JSON_IETF, PROTO are)", enc)
	}
	filter, err := dataFilter(req.GetType())
	if err != nil {
		return nil, err
	}
	models, err := modelView("get", s.ds.Schema(), req.GetUseModels())
	if err != nil {
		return nil, err
	}
	paths := req.GetPath()
	if len(paths) == 0 {
		paths = []*gpb.Path{{}}
	}
	if err := checkSizes("get", req.GetPrefix(), paths); err != nil {
		return nil, err
	}
	snap := s.ds.Snapshot()
	root := s.withLive(ctx, snap.Root, req.GetPrefix(), paths, filter)
	now := time.Now().UnixNano()
	resp := &gpb.GetResponse{Notification: make([]*gpb.Notification, 0, len(paths))}
	vis := bothVisible(s.readable(ctx, false), models)
	for _, p := range paths {
		n, err := s.getPath(root, req.GetPrefix(), p, enc, filter, vis, depth)
		if err != nil {
			return nil, err
		}
		n.Timestamp = now
		resp.Notification = append(resp.Notification, n)
	}
	return resp, nil
}

// withLive returns root with the live state (counters) the request's
// paths reach, read now (server/live); a configuration Get needs none.
func (s *Server) withLive(ctx context.Context, root *tree.Node, prefix *gpb.Path, paths []*gpb.Path, f tree.Filter) *tree.Node {
	if s.live == nil || f == tree.Config {
		return root
	}
	pats := make([][]*gpb.PathElem, 0, len(paths))
	for _, p := range paths {
		if elems, err := fullElems("get", prefix, p); err == nil {
			pats = append(pats, elems)
		}
	}
	return s.live.Overlay(ctx, root, pats...)
}

func dataFilter(t gpb.GetRequest_DataType) (tree.Filter, error) {
	switch t {
	case gpb.GetRequest_ALL:
		return tree.All, nil
	case gpb.GetRequest_CONFIG:
		return tree.Config, nil
	case gpb.GetRequest_STATE, gpb.GetRequest_OPERATIONAL:
		// All of NetReady's state is operational (status of realization).
		return tree.State, nil
	}
	return 0, status.Errorf(codes.InvalidArgument, "get: unknown data type %v", t)
}

func (s *Server) getPath(root *tree.Node, prefix, p *gpb.Path, enc gpb.Encoding, f tree.Filter, vis tree.PathVisibleFunc, depth uint32) (*gpb.Notification, error) {
	elems, err := readElems("get", root.Schema(), prefix, p)
	if err != nil {
		return nil, err
	}
	n := &gpb.Notification{Prefix: prefix}
	strip := len(prefix.GetElem())
	if hasWildcard(prefix.GetElem()) {
		// A wildcard prefix cannot be echoed as the common part of
		// concrete paths: send full paths instead.
		n.Prefix = &gpb.Path{Origin: prefix.GetOrigin(), Target: prefix.GetTarget()}
		strip = 0
	}
	matched := false
	err = tree.Match(root, elems, func(chain []*tree.Node) error {
		v := tree.Visible
		if vis != nil {
			v = vis(tree.GNMIElems(tree.ChainPath(chain)))
		}
		if v == tree.Hidden {
			return nil // as if it did not exist
		}
		matched = true
		var partly tree.VisibleFunc
		if v == tree.Partly {
			partly = tree.ByPath(vis)
		}
		partly = tree.Both(partly, tree.Depth(len(chain), depth))
		ups, err := updates(root, chain, strip, enc, f, partly)
		n.Update = append(n.Update, ups...)
		return err
	})
	if err != nil {
		return nil, grpcError("get", err)
	}
	if !matched {
		return nil, status.Errorf(codes.NotFound, "get: %s: no data", tree.ElemsText(elems))
	}
	return n, nil
}

// updates encodes one matched node: a single JSON value, or one scalar per
// leaf for PROTO. With partly set the reader may see only part of it.
func updates(root *tree.Node, chain []*tree.Node, strip int, enc gpb.Encoding, f tree.Filter, partly tree.VisibleFunc) ([]*gpb.Update, error) {
	if enc == gpb.Encoding_PROTO {
		var ups []*gpb.Update
		err := tree.LeavesUnder(root, chain, f, partly, func(lc []*tree.Node) error {
			ups = append(ups, &gpb.Update{Path: relPath(lc, strip), Val: tree.TypedValue(lc[len(lc)-1], gpb.Encoding_PROTO)})
			return nil
		})
		return ups, err
	}
	node := root
	if len(chain) > 0 {
		node = chain[len(chain)-1]
	}
	var js []byte
	var ok bool
	if partly != nil {
		js, ok = tree.AppendJSONVisible(nil, chain, root, enc == gpb.Encoding_JSON_IETF, f, partly)
	} else {
		js, ok = tree.AppendJSON(nil, node, enc == gpb.Encoding_JSON_IETF, f)
	}
	if !ok && len(chain) > 0 {
		return nil, nil // nothing passed the filter; the root is always answered
	}
	val := &gpb.TypedValue{Value: &gpb.TypedValue_JsonVal{JsonVal: js}}
	if enc == gpb.Encoding_JSON_IETF {
		val.Value = &gpb.TypedValue_JsonIetfVal{JsonIetfVal: js}
	}
	return []*gpb.Update{{Path: relPath(chain, strip), Val: val}}, nil
}

func relPath(chain []*tree.Node, strip int) *gpb.Path {
	elems := tree.GNMIElems(tree.ChainPath(chain))
	if strip > len(elems) {
		strip = len(elems)
	}
	return &gpb.Path{Elem: elems[strip:]}
}
