package gnmiserver

import (
	"context"

	"github.com/openconfig/gnmi/proto/gnmi_ext"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/telemetry"
)

// subscribeExtensions applies the extensions a subscription may carry
// (History, Depth) and refuses any other as Unimplemented, rather than
// ignoring what the client relies on.
func (s *Server) subscribeExtensions(ctx context.Context, exts []*gnmi_ext.Extension, req *telemetry.Request) error {
	for _, e := range exts {
		var err error
		switch x := e.GetExt().(type) {
		case *gnmi_ext.Extension_History:
			err = s.history(ctx, x.History, req)
		case *gnmi_ext.Extension_Depth:
			req.Depth = x.Depth.GetLevel()
		default:
			err = status.Errorf(codes.Unimplemented, "subscribe: extension %T is not supported (History and Depth are)", e.GetExt())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// getExtensions reads the extensions of a GetRequest: Depth (its level; 0
// when absent). Any other is Unimplemented.
func getExtensions(exts []*gnmi_ext.Extension) (uint32, error) {
	var depth uint32
	for _, e := range exts {
		d, ok := e.GetExt().(*gnmi_ext.Extension_Depth)
		if !ok {
			return 0, status.Errorf(codes.Unimplemented, "get: extension %T is not supported (Depth is)", e.GetExt())
		}
		depth = d.Depth.GetLevel()
	}
	return depth, nil
}
