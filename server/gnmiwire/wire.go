// Package gnmiwire writes the protobuf wire form of the gNMI messages the
// server sends in bulk — Subscribe responses carrying notifications — by
// hand, and gives gRPC a codec that uses it.
//
// Why: a bulk Set's push carries 1,000s of updates, and the generic
// protobuf marshaller walks each update's path and key map by reflection
// (one allocation per key and value, the map sorted or hashed per
// element): ≈ 7 % of a 1,000-leaf Set's CPU with one stream
// (docs/performance.md). The hand-written form is the same bytes as
// proto.MarshalOptions{Deterministic: true} (map keys in order); without
// Deterministic, proto.Marshal orders a map of two or more keys at random,
// so the bytes are one of those it may write. Anything the hand-written
// form does not cover (google.protobuf.Any values, extensions, the
// deprecated Value and Error messages, unknown fields, strings that are
// not UTF-8, nil list elements) leaves the whole message to proto.Marshal,
// so nothing is written differently or lost.
package gnmiwire

import (
	"math"
	"slices"
	"unicode/utf8"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Field numbers of gnmi.proto (v0.14).
const (
	respUpdate = 1 // SubscribeResponse.update
	respSync   = 3 // SubscribeResponse.sync_response

	notifTimestamp = 1
	notifPrefix    = 2
	notifUpdate    = 4
	notifDelete    = 5
	notifAtomic    = 6

	updatePath       = 1
	updateVal        = 3
	updateDuplicates = 4

	pathElement = 1
	pathOrigin  = 2
	pathElem    = 3
	pathTarget  = 4

	elemName = 1
	elemKey  = 2
	mapKey   = 1
	mapValue = 2

	tvString     = 1
	tvInt        = 2
	tvUint       = 3
	tvBool       = 4
	tvBytes      = 5
	tvFloat      = 6
	tvDecimal    = 7
	tvLeaflist   = 8
	tvJSON       = 10
	tvJSONIETF   = 11
	tvASCII      = 12
	tvProtoBytes = 13
	tvDouble     = 14

	decDigits    = 1
	decPrecision = 2
	arrElement   = 1
)

// Size is the length of AppendResponse(nil, r), or -1 when the package
// does not write r by hand and the caller marshals it with proto.Marshal.
// It checks and measures in one pass over r.
func Size(r *gpb.SubscribeResponse) int {
	if r == nil || len(r.Extension) > 0 || unknown(r) {
		return -1
	}
	switch v := r.Response.(type) {
	case nil:
		return 0
	case *gpb.SubscribeResponse_SyncResponse:
		return tagSize(respSync) + 1
	case *gpb.SubscribeResponse_Update:
		if v.Update == nil {
			return -1
		}
		return nestedSize(respUpdate, notificationSize(v.Update))
	}
	return -1
}

// AppendResponse appends the wire form of r, which the package writes
// (Size(r) >= 0), to b.
func AppendResponse(b []byte, r *gpb.SubscribeResponse) []byte {
	switch v := r.Response.(type) {
	case *gpb.SubscribeResponse_SyncResponse:
		return appendVarint(b, respSync, protowire.EncodeBool(v.SyncResponse))
	case *gpb.SubscribeResponse_Update:
		at := openNested(&b, respUpdate)
		b = appendNotification(b, v.Update)
		return closeNested(b, at)
	}
	return b
}

// A nested message is written with one byte kept for its length, which
// nearly every path, element, update and value fits; closeNested moves
// the body when the length needs more (a notification, once).

// openNested appends the tag of message field num and a one-byte length
// placeholder, returning where the placeholder is.
func openNested(b *[]byte, num protowire.Number) int {
	*b = protowire.AppendTag(*b, num, protowire.BytesType)
	*b = append(*b, 0)
	return len(*b) - 1
}

// closeNested writes the length of the message body after position at.
func closeNested(b []byte, at int) []byte {
	n := len(b) - at - 1
	if n < 0x80 {
		b[at] = byte(n)
		return b
	}
	extra := protowire.SizeVarint(uint64(n)) - 1
	b = slices.Grow(b, extra)[:len(b)+extra]
	copy(b[at+1+extra:], b[at+1:len(b)-extra])
	protowire.AppendVarint(b[:at], uint64(n))
	return b
}

func tagSize(num protowire.Number) int { return protowire.SizeTag(num) }

// nestedSize is the size of a length-delimited field num of n bytes; -1
// (not written by hand) when n is.
func nestedSize(num protowire.Number, n int) int {
	if n < 0 {
		return -1
	}
	return tagSize(num) + protowire.SizeBytes(n)
}

// sum adds sizes, -1 when one of them is.
func sum(a, b int) int {
	if a < 0 || b < 0 {
		return -1
	}
	return a + b
}

func notificationSize(n *gpb.Notification) int {
	if unknown(n) {
		return -1
	}
	s := 0
	if n.Timestamp != 0 {
		s += tagSize(notifTimestamp) + protowire.SizeVarint(uint64(n.Timestamp))
	}
	if n.Prefix != nil {
		s = sum(s, nestedSize(notifPrefix, pathSize(n.Prefix)))
	}
	for _, u := range n.Update {
		s = sum(s, nestedSize(notifUpdate, updateSize(u)))
	}
	for _, p := range n.Delete {
		s = sum(s, nestedSize(notifDelete, pathSize(p)))
	}
	if n.Atomic {
		s += tagSize(notifAtomic) + 1
	}
	return s
}

func appendNotification(b []byte, n *gpb.Notification) []byte {
	if n.Timestamp != 0 {
		b = appendVarint(b, notifTimestamp, uint64(n.Timestamp))
	}
	if n.Prefix != nil {
		at := openNested(&b, notifPrefix)
		b = closeNested(appendPath(b, n.Prefix), at)
	}
	for _, u := range n.Update {
		at := openNested(&b, notifUpdate)
		b = closeNested(appendUpdate(b, u), at)
	}
	for _, p := range n.Delete {
		at := openNested(&b, notifDelete)
		b = closeNested(appendPath(b, p), at)
	}
	if n.Atomic {
		b = appendVarint(b, notifAtomic, 1)
	}
	return b
}

func updateSize(u *gpb.Update) int {
	if u == nil || u.Value != nil || unknown(u) {
		return -1
	}
	s := 0
	if u.Path != nil {
		s = sum(s, nestedSize(updatePath, pathSize(u.Path)))
	}
	if u.Val != nil {
		s = sum(s, nestedSize(updateVal, valueSize(u.Val)))
	}
	if u.Duplicates != 0 {
		s += tagSize(updateDuplicates) + protowire.SizeVarint(uint64(u.Duplicates))
	}
	return s
}

func appendUpdate(b []byte, u *gpb.Update) []byte {
	if u.Path != nil {
		at := openNested(&b, updatePath)
		b = closeNested(appendPath(b, u.Path), at)
	}
	if u.Val != nil {
		at := openNested(&b, updateVal)
		b = closeNested(appendValue(b, u.Val), at)
	}
	if u.Duplicates != 0 {
		b = appendVarint(b, updateDuplicates, uint64(u.Duplicates))
	}
	return b
}

func pathSize(p *gpb.Path) int {
	if p == nil || unknown(p) {
		return -1
	}
	s := 0
	for _, e := range p.Element {
		s = sum(s, stringSize(pathElement, e))
	}
	if p.Origin != "" {
		s = sum(s, stringSize(pathOrigin, p.Origin))
	}
	for _, e := range p.Elem {
		s = sum(s, nestedSize(pathElem, elemSize(e)))
	}
	if p.Target != "" {
		s = sum(s, stringSize(pathTarget, p.Target))
	}
	return s
}

func appendPath(b []byte, p *gpb.Path) []byte {
	for _, e := range p.Element {
		b = appendString(b, pathElement, e)
	}
	if p.Origin != "" {
		b = appendString(b, pathOrigin, p.Origin)
	}
	for _, e := range p.Elem {
		at := openNested(&b, pathElem)
		b = closeNested(appendElem(b, e), at)
	}
	if p.Target != "" {
		b = appendString(b, pathTarget, p.Target)
	}
	return b
}

func elemSize(e *gpb.PathElem) int {
	if e == nil || unknown(e) {
		return -1
	}
	s := 0
	if e.Name != "" {
		s = sum(s, stringSize(elemName, e.Name))
	}
	if len(e.Key) == 0 {
		return s // starting a map iteration costs more than the rest
	}
	for k, v := range e.Key {
		s = sum(s, nestedSize(elemKey, sum(stringSize(mapKey, k), stringSize(mapValue, v))))
	}
	return s
}

// appendElem writes the element's keys in key order, as deterministic
// marshalling does; a path element's keys are one or two.
func appendElem(b []byte, e *gpb.PathElem) []byte {
	if e.Name != "" {
		b = appendString(b, elemName, e.Name)
	}
	switch len(e.Key) {
	case 0:
	case 1:
		for k, v := range e.Key {
			b = appendKey(b, k, v)
		}
	default:
		var buf [4]string
		keys := buf[:0]
		for k := range e.Key {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = appendKey(b, k, e.Key[k])
		}
	}
	return b
}

// appendKey writes one map entry: key and value, each even when empty, as
// protobuf writes map entries.
func appendKey(b []byte, k, v string) []byte {
	at := openNested(&b, elemKey)
	b = appendString(b, mapKey, k)
	b = appendString(b, mapValue, v)
	return closeNested(b, at)
}

// valueSize and appendValue write a oneof member even when it holds the
// zero value: a member that is set is present on the wire.
func valueSize(v *gpb.TypedValue) int {
	if unknown(v) {
		return -1
	}
	switch x := v.Value.(type) {
	case nil:
		return 0
	case *gpb.TypedValue_StringVal:
		return stringSize(tvString, x.StringVal)
	case *gpb.TypedValue_IntVal:
		return tagSize(tvInt) + protowire.SizeVarint(uint64(x.IntVal))
	case *gpb.TypedValue_UintVal:
		return tagSize(tvUint) + protowire.SizeVarint(x.UintVal)
	case *gpb.TypedValue_BoolVal:
		return tagSize(tvBool) + 1
	case *gpb.TypedValue_FloatVal:
		return tagSize(tvFloat) + 4
	case *gpb.TypedValue_DoubleVal:
		return tagSize(tvDouble) + 8
	case *gpb.TypedValue_DecimalVal:
		return nestedSize(tvDecimal, decimalSize(x.DecimalVal))
	case *gpb.TypedValue_LeaflistVal:
		return nestedSize(tvLeaflist, arraySize(x.LeaflistVal))
	case *gpb.TypedValue_BytesVal:
		return bytesSize(tvBytes, x.BytesVal)
	case *gpb.TypedValue_JsonVal:
		return bytesSize(tvJSON, x.JsonVal)
	case *gpb.TypedValue_JsonIetfVal:
		return bytesSize(tvJSONIETF, x.JsonIetfVal)
	case *gpb.TypedValue_ProtoBytes:
		return bytesSize(tvProtoBytes, x.ProtoBytes)
	case *gpb.TypedValue_AsciiVal:
		return stringSize(tvASCII, x.AsciiVal)
	}
	// any_val, and members this package does not know.
	return -1
}

func appendValue(b []byte, v *gpb.TypedValue) []byte {
	switch x := v.Value.(type) {
	case *gpb.TypedValue_StringVal:
		return appendString(b, tvString, x.StringVal)
	case *gpb.TypedValue_IntVal:
		return appendVarint(b, tvInt, uint64(x.IntVal))
	case *gpb.TypedValue_UintVal:
		return appendVarint(b, tvUint, x.UintVal)
	case *gpb.TypedValue_BoolVal:
		return appendVarint(b, tvBool, protowire.EncodeBool(x.BoolVal))
	case *gpb.TypedValue_BytesVal:
		return appendBytes(b, tvBytes, x.BytesVal)
	case *gpb.TypedValue_FloatVal:
		b = protowire.AppendTag(b, tvFloat, protowire.Fixed32Type)
		return protowire.AppendFixed32(b, math.Float32bits(x.FloatVal))
	case *gpb.TypedValue_DoubleVal:
		b = protowire.AppendTag(b, tvDouble, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, math.Float64bits(x.DoubleVal))
	case *gpb.TypedValue_DecimalVal:
		at := openNested(&b, tvDecimal)
		return closeNested(appendDecimal(b, x.DecimalVal), at)
	case *gpb.TypedValue_LeaflistVal:
		at := openNested(&b, tvLeaflist)
		return closeNested(appendArray(b, x.LeaflistVal), at)
	case *gpb.TypedValue_JsonVal:
		return appendBytes(b, tvJSON, x.JsonVal)
	case *gpb.TypedValue_JsonIetfVal:
		return appendBytes(b, tvJSONIETF, x.JsonIetfVal)
	case *gpb.TypedValue_AsciiVal:
		return appendString(b, tvASCII, x.AsciiVal)
	case *gpb.TypedValue_ProtoBytes:
		return appendBytes(b, tvProtoBytes, x.ProtoBytes)
	}
	return b
}

// decimalSize: a nil message member's wire form is protobuf's to decide.
func decimalSize(d *gpb.Decimal64) int {
	if d == nil || unknown(d) {
		return -1
	}
	s := 0
	if d.Digits != 0 {
		s += tagSize(decDigits) + protowire.SizeVarint(uint64(d.Digits))
	}
	if d.Precision != 0 {
		s += tagSize(decPrecision) + protowire.SizeVarint(uint64(d.Precision))
	}
	return s
}

// appendVarint appends field num holding v as a varint.
func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendDecimal(b []byte, d *gpb.Decimal64) []byte {
	if d.Digits != 0 {
		b = appendVarint(b, decDigits, uint64(d.Digits))
	}
	if d.Precision != 0 {
		b = appendVarint(b, decPrecision, uint64(d.Precision))
	}
	return b
}

func arraySize(a *gpb.ScalarArray) int {
	if a == nil || unknown(a) {
		return -1
	}
	s := 0
	for _, e := range a.Element {
		if e == nil {
			return -1
		}
		s = sum(s, nestedSize(arrElement, valueSize(e)))
	}
	return s
}

func appendArray(b []byte, a *gpb.ScalarArray) []byte {
	for _, e := range a.Element {
		at := openNested(&b, arrElement)
		b = closeNested(appendValue(b, e), at)
	}
	return b
}

// stringSize is -1 for a string that is not UTF-8, which protobuf refuses
// to write (proto3): the caller then gets protobuf's error.
func stringSize(num protowire.Number, s string) int {
	if !utf8.ValidString(s) {
		return -1
	}
	return nestedSize(num, len(s))
}

func bytesSize(num protowire.Number, b []byte) int { return nestedSize(num, len(b)) }

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// unknown reports whether m carries fields this package would not write.
func unknown(m proto.Message) bool {
	return len(m.ProtoReflect().GetUnknown()) > 0
}
