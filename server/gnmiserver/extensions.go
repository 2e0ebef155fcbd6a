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
		default:
			err = status.Errorf(codes.Unimplemented, "subscribe: extension %T is not supported (History and Depth are)", e.GetExt())
		}
		if err != nil {
			return err
		}
	}
	return nil
}
