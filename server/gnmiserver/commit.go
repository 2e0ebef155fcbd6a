package gnmiserver

import (
	"fmt"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmi/proto/gnmi_ext"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/netready/netready/server/confirm"
	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/schema"
)

// maxCommitID bounds the client's commit id, like other request strings.
const maxCommitID = 256

// buildSet turns req into dreq: its operations, what its Commit extension
// asks for (gnmi-commit-confirmed.md), and a rollback-to request.
func (b *setBuilder) buildSet(req *gpb.SetRequest, dreq *datastore.Request) error {
	act, err := commitAction(req.GetExtension())
	if err != nil {
		return err
	}
	if act != nil && act.Step != confirm.Begin {
		// Confirm, cancel and set-rollback-duration act on the pending
		// commit: they carry no configuration of their own.
		if len(req.GetDelete())+len(req.GetReplace())+len(req.GetUpdate()) > 0 {
			return status.Errorf(codes.InvalidArgument, "set: a commit %s carries no operations", act.Kind())
		}
		b.texts = []string{stepText(act)}
		dreq.Action, dreq.Kind = act, act.Kind()
		return nil
	}
	if err := b.build(req); err != nil {
		return err
	}
	if err := b.rollbackTo(dreq); err != nil {
		return err
	}
	if act != nil {
		b.texts = append([]string{stepText(act)}, b.texts...)
		dreq.Action, dreq.Kind = act, act.Kind()
	}
	return nil
}

// rollbackTo turns a Set of /system/config/rollback-to alone into a
// restore of that commit's configuration (the leaf itself is not
// stored: it is a request, and gNMI has no other way to make one).
func (b *setBuilder) rollbackTo(dreq *datastore.Request) error {
	leaf := rollbackLeaf(b.sch)
	if leaf == nil {
		return nil
	}
	for i, op := range b.ops {
		if err := rollbackInside(op, leaf); err != nil {
			return err
		}
		if len(op.Path) == 0 || op.Path[len(op.Path)-1].Schema != leaf || op.Kind == datastore.Delete {
			continue
		}
		if len(b.ops) > 1 {
			return status.Errorf(codes.InvalidArgument, "set: %s must be the only operation of its Set (operation %d)", leaf.PathString(), i+1)
		}
		to, _ := op.Payload.Value().(uint64)
		dreq.Restore, dreq.Kind = &datastore.Restore{To: to}, confirm.KindRollbackTo
		b.ops, b.texts = nil, []string{fmt.Sprintf("rollback-to %d", to)}
	}
	return nil
}

// rollbackInside refuses a payload above /system/config/rollback-to that
// holds it: the request is the leaf itself, never stored configuration.
// It runs for every operation of every Set, so it allocates nothing: the
// schema nodes between the op's node and the leaf are found by walking up
// from the leaf, not collected.
func rollbackInside(op datastore.Op, leaf *schema.Node) error {
	if op.Payload == nil {
		return nil
	}
	depth := 0 // how far the op's node is above the leaf
	for n := leaf; !opNode(op, n); n = n.Parent {
		if n == nil {
			return nil // the op's node is not above the leaf
		}
		depth++
	}
	if depth == 0 {
		return nil // the op is the leaf itself
	}
	node := op.Payload
	for d := depth - 1; d >= 0; d-- {
		if node = node.Child(ancestor(leaf, d)); node == nil {
			return nil
		}
	}
	return status.Errorf(codes.InvalidArgument, "set: %s is a request, not configuration: update the leaf itself, alone", leaf.PathString())
}

// opNode reports whether n is the schema node op writes (the root for an
// op on the root).
func opNode(op datastore.Op, n *schema.Node) bool {
	if len(op.Path) == 0 {
		return n != nil && n.Parent == nil
	}
	return n == op.Path[len(op.Path)-1].Schema
}

// ancestor is n's ancestor d levels up (n itself for 0).
func ancestor(n *schema.Node, d int) *schema.Node {
	for ; d > 0; d-- {
		n = n.Parent
	}
	return n
}

// rollbackLeaf is /system/config/rollback-to, nil in a schema without it.
func rollbackLeaf(sch *schema.Schema) *schema.Node {
	n := sch.Root
	for _, name := range []string{"system", "config", "rollback-to"} {
		if n = n.Child(name); n == nil {
			return nil
		}
	}
	return n
}

// commitAction reads the Commit extension, nil if there is none. Other
// extensions are refused rather than ignored.
func commitAction(exts []*gnmi_ext.Extension) (*confirm.Action, error) {
	var act *confirm.Action
	for _, e := range exts {
		c := e.GetCommit()
		if c == nil {
			return nil, status.Errorf(codes.Unimplemented, "set: extension %T is not supported (only Commit is)", e.GetExt())
		}
		if act != nil {
			return nil, status.Error(codes.InvalidArgument, "set: more than one Commit extension")
		}
		var err error
		if act, err = parseCommit(c); err != nil {
			return nil, err
		}
	}
	return act, nil
}

func parseCommit(c *gnmi_ext.Commit) (*confirm.Action, error) {
	id := c.GetId()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "set: commit: id is required")
	}
	if len(id) > maxCommitID {
		return nil, status.Errorf(codes.InvalidArgument, "set: commit: id of %d bytes exceeds %d", len(id), maxCommitID)
	}
	a := &confirm.Action{ID: id}
	var err error
	switch x := c.GetAction().(type) {
	case *gnmi_ext.Commit_Commit:
		// A zero duration reads as none, so the default applies: proto3
		// clients (gnmic without --rollback-duration) send one.
		a.Step, a.Duration = confirm.Begin, confirm.DefaultRollback
		if rd := x.Commit.GetRollbackDuration(); rd != nil && rd.AsDuration() != 0 {
			a.Duration, err = rollbackDuration(rd)
		}
	case *gnmi_ext.Commit_Confirm:
		a.Step = confirm.Confirm
	case *gnmi_ext.Commit_Cancel:
		a.Step = confirm.Cancel
	case *gnmi_ext.Commit_SetRollbackDuration:
		a.Step = confirm.SetDuration
		a.Duration, err = rollbackDuration(x.SetRollbackDuration.GetRollbackDuration())
	default:
		err = status.Error(codes.InvalidArgument, "set: commit: no action (commit, confirm, cancel or set_rollback_duration)")
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// rollbackDuration checks a rollback_duration: present, valid and
// greater than 0.
func rollbackDuration(rd *durationpb.Duration) (time.Duration, error) {
	if rd == nil {
		return 0, status.Error(codes.InvalidArgument, "set: commit: rollback_duration is required")
	}
	if err := rd.CheckValid(); err != nil {
		return 0, status.Errorf(codes.InvalidArgument, "set: commit: rollback_duration: %v", err)
	}
	d := rd.AsDuration()
	if d <= 0 {
		return 0, status.Errorf(codes.InvalidArgument, "set: commit: rollback_duration %s must be greater than 0", d)
	}
	return d, nil
}

// stepText describes a commit-confirmed step for the audit log and the
// commit log.
func stepText(a *confirm.Action) string {
	switch a.Step {
	case confirm.Begin:
		return fmt.Sprintf("commit-confirmed request id=%s rollback-duration=%s", a.ID, a.Duration)
	case confirm.SetDuration:
		return fmt.Sprintf("commit-confirmed %s id=%s rollback-duration=%s", a.Kind(), a.ID, a.Duration)
	}
	return fmt.Sprintf("commit-confirmed %s id=%s", a.Kind(), a.ID)
}
