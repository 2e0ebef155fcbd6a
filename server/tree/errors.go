package tree

import "errors"

// Kind is what is wrong with data, in the core's own terms. The core knows
// no protocol: the gNMI edge (server/gnmiserver) maps each kind to its
// gRPC code once.
type Kind uint8

// Kinds of data errors.
const (
	// KindUnset lets a caller fill in the kind (validation rules report
	// plain errors and are Conflict by default).
	KindUnset Kind = iota
	// KindInvalid: a malformed path or value (gNMI: InvalidArgument).
	KindInvalid
	// KindNotFound: not in the schema, or no data there (NotFound).
	KindNotFound
	// KindConflict: well-formed data that breaks a constraint
	// (FailedPrecondition).
	KindConflict
	// KindDenied: the caller may not make this change (PermissionDenied).
	KindDenied
	// KindAborted: the network could not realize the transaction; it was
	// undone (Aborted).
	KindAborted
	// KindUnavailable: the server cannot take the transaction now and a
	// retry may succeed: the store write failed, this replica does not
	// lead, or a backend it needs rests after a timeout (Unavailable).
	KindUnavailable
	// KindExhausted: a bound on the work one request may cause was hit
	// (ResourceExhausted).
	KindExhausted
	// KindCorrupt: stored data that cannot be read back (DataLoss).
	KindCorrupt
	// KindOutOfRange: a request past what is kept, such as history
	// older than the commit log (OutOfRange).
	KindOutOfRange
	// KindUnimplemented: a request for something this server does not do
	// (Unimplemented).
	KindUnimplemented
	// KindInternal: a server bug (Internal).
	KindInternal
)

var kindNames = [...]string{"unset", "invalid", "not found", "conflict", "denied", "aborted", "unavailable", "exhausted", "corrupt", "out of range", "unimplemented", "internal"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Error is a data error: its kind, the data path it concerns and what is
// wrong, so the gNMI layer can answer with the right code and the path.
// Err, if set, is the underlying cause (errors.Is/As see it).
type Error struct {
	Kind Kind
	Path string
	Msg  string
	Err  error
}

// Error is the path and the message, each clipped to MaxText: they may
// quote a request's keys and values, which can be megabytes long.
func (e *Error) Error() string {
	msg := e.Msg
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	msg = Clip(msg, MaxText)
	if e.Path == "" {
		return msg
	}
	return Clip(e.Path, MaxText) + ": " + msg
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of the first *Error in err's chain, KindUnset
// when there is none.
func KindOf(err error) Kind {
	var te *Error
	if errors.As(err, &te) {
		return te.Kind
	}
	return KindUnset
}
