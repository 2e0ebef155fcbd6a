package gnmiserver

import (
	"bytes"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netready/netready/server/datastore"
	"github.com/netready/netready/server/schema"
	"github.com/netready/netready/server/tree"
)

// checkValue refuses, before decoding, the values of an update or replace
// that gNMI 3.4 rules out whatever the data:
//   - an encoding the server does not advertise (ascii_val, and the
//     structured protobuf forms any_val and proto_bytes): Unimplemented
//     SHOULD be used (3.4.7);
//   - a replace that would delete by a null or empty value: JSON null for
//     any node, {} for a list entry (it would leave the entry without its
//     keys). The target MUST reject both with INVALID_ARGUMENT (3.4.4);
//     delete is the operation for that.
func checkValue(kind datastore.OpKind, p tree.Path, tv *gpb.TypedValue) error {
	if err := checkEncoding(p, tv); err != nil {
		return err
	}
	if kind != datastore.Replace {
		return nil
	}
	var js []byte
	switch v := tv.GetValue().(type) {
	case *gpb.TypedValue_JsonIetfVal:
		js = v.JsonIetfVal
	case *gpb.TypedValue_JsonVal:
		js = v.JsonVal
	default:
		return nil
	}
	js = bytes.TrimSpace(js)
	if string(js) == "null" {
		return status.Errorf(codes.InvalidArgument, "set: %s: replace with null is not a delete; use delete", tree.PathString(p))
	}
	if isEntry(p) && len(js) >= 2 && js[0] == '{' && js[len(js)-1] == '}' && len(bytes.TrimSpace(js[1:len(js)-1])) == 0 {
		return status.Errorf(codes.InvalidArgument, "set: %s: replace of a list entry with {} would leave it without its keys; use delete", tree.PathString(p))
	}
	return nil
}

// isEntry reports whether p ends at one list entry.
func isEntry(p tree.Path) bool {
	return len(p) > 0 && p[len(p)-1].Schema.Kind == schema.List && p[len(p)-1].Keys != nil
}

// checkEncoding refuses values in encodings Capabilities does not list.
func checkEncoding(p tree.Path, tv *gpb.TypedValue) error {
	switch v := tv.GetValue().(type) {
	case *gpb.TypedValue_AsciiVal:
		return status.Errorf(codes.Unimplemented, "set: %s: ascii_val: the ASCII encoding is not supported (JSON, JSON_IETF, PROTO are)", tree.PathString(p))
	case *gpb.TypedValue_AnyVal:
		return status.Errorf(codes.Unimplemented, "set: %s: any_val: structured protobuf values are not supported (PROTO takes one scalar per leaf)", tree.PathString(p))
	case *gpb.TypedValue_ProtoBytes:
		return status.Errorf(codes.Unimplemented, "set: %s: proto_bytes: structured protobuf values are not supported (PROTO takes one scalar per leaf)", tree.PathString(p))
	case *gpb.TypedValue_LeaflistVal:
		for _, el := range v.LeaflistVal.GetElement() {
			if err := checkEncoding(p, el); err != nil {
				return err
			}
		}
	}
	return nil
}
