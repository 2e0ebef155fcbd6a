package gnmiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmi/proto/gnmi_ext"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/netready/netready/server/changeset"
	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/realizer"
	"github.com/netready/netready/server/tree"
)

// DryRunTarget is the path target that makes a Set a dry run, which gnmic
// sends with `gnmic set --target dry-run ...` (SetRequest.prefix.target):
// the Set is checked exactly as a real one (same codes and messages) and
// answered with what it would do, and nothing is stored, realized,
// published or audited. A target is the one request field every gNMI
// client can set on a Set; gnmic cannot send an arbitrary extension.
const DryRunTarget = "dry-run"

// DryRunExtension is the id of the registered extension that carries a
// dry run's result in the SetResponse (gnmi_ext.RegisteredExtension, msg
// a DryRunResult as JSON). gNMI has no registered id for it, so it uses
// the experimental one.
const DryRunExtension = gnmi_ext.ExtensionID_EID_EXPERIMENTAL

// DryRunResult is what a dry-run Set would do.
type DryRunResult struct {
	// Notifications are the configuration changes as gNMI notifications
	// (protojson), as a subscriber to the root would receive them.
	Notifications []json.RawMessage `json:"notifications"`
	// Plan is, per backend, what the realizer would send to it; empty when
	// the Set concerns no backend or the server realizes nothing.
	Plan realizer.Plan `json:"plan"`
}

// dryRun answers a dry-run Set whose operations b built: the UpdateResults
// a real Set would return, and the DryRunResult in an extension.
func (s *Server) dryRun(ctx context.Context, req *gpb.SetRequest, b *setBuilder, dreq *datastore.Request) (*gpb.SetResponse, error) {
	dr, err := s.ds.DryRun(ctx, dreq)
	if err != nil {
		return nil, grpcError("set", err)
	}
	now := time.Now().UnixNano()
	n := changeNotification(dr.Changes, now)
	js, err := protojson.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("set: dry run: %w", err)
	}
	res := DryRunResult{Notifications: []json.RawMessage{js}, Plan: dr.Plan}
	if res.Plan == nil {
		res.Plan = realizer.Plan{}
	}
	msg, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("set: dry run: %w", err)
	}
	ext := &gnmi_ext.Extension{Ext: &gnmi_ext.Extension_RegisteredExt{RegisteredExt: &gnmi_ext.RegisteredExtension{Id: DryRunExtension, Msg: msg}}}
	return &gpb.SetResponse{Prefix: req.GetPrefix(), Response: b.results, Timestamp: now, Extension: []*gnmi_ext.Extension{ext}}, nil
}

// changeNotification is a change set as one notification: every changed
// leaf as an update (JSON_IETF), every deleted node once, at its top.
func changeNotification(cs *changeset.Set, at int64) *gpb.Notification {
	n := &gpb.Notification{Timestamp: at}
	cs.Walk(func(chain []*tree.Node, o, nw *tree.Node) bool {
		p := &gpb.Path{Elem: tree.GNMIElems(tree.ChainPath(chain))}
		switch {
		case nw == nil:
			n.Delete = append(n.Delete, p)
			return false
		case !nw.Schema().IsDir():
			n.Update = append(n.Update, &gpb.Update{Path: p, Val: tree.TypedValue(nw, gpb.Encoding_JSON_IETF)})
		}
		return true
	})
	return n
}
