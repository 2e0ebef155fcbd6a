package bgp

import (
	"context"
	"log/slog"
	"sync"
)

// drops counts, per neighbor address, the routes dropped rather than
// learnt (status dropped-routes).
type drops struct {
	mu     sync.Mutex
	byPeer map[string]uint64
}

func (d *drops) add(peer string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.byPeer == nil {
		d.byPeer = map[string]uint64{}
	}
	d.byPeer[peer]++
}

func (d *drops) of(peer string) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.byPeer[peer]
}

// rfc7606 are the messages GoBGP logs, on the logger it gives each peer
// (attribute "Key": the neighbor's address), when it handles a malformed
// UPDATE without resetting the session (RFC 7606): its routes are
// treated as withdrawn, or the bad attribute is discarded. GoBGP counts
// neither, so the speaker counts them from its log; the version is
// pinned in go.mod and TestMalformedUpdatesCounted holds the texts.
var rfc7606 = map[string]bool{
	"the received Update message was treated as withdraw": true,
	"Some attributes were discarded":                      true,
}

// countingHandler passes GoBGP's log on and counts the RFC 7606 drops
// per peer.
type countingHandler struct {
	slog.Handler
	drops *drops
	peer  string // the "Key" attribute of the logger, if any
}

func (h *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if rfc7606[r.Message] && h.peer != "" {
		h.drops.add(h.peer)
	}
	return h.Handler.Handle(ctx, r)
}

func (h *countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := &countingHandler{Handler: h.Handler.WithAttrs(as), drops: h.drops, peer: h.peer}
	for _, a := range as {
		if a.Key == "Key" {
			c.peer = a.Value.String()
		}
	}
	return c
}

func (h *countingHandler) WithGroup(name string) slog.Handler {
	return &countingHandler{Handler: h.Handler.WithGroup(name), drops: h.drops, peer: h.peer}
}

// Enabled lets the warnings the counter needs through whatever the
// level of the log it wraps.
func (h *countingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.Handler.Enabled(ctx, l)
}
