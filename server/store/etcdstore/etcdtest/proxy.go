package etcdtest

import (
	"io"
	"net"
	"sync"
)

// proxy forwards a member's client connections over TCP, so that a kill
// can end every connection at once, as the death of the member's process
// would: an embedded member stopped in the test process drains its
// client connections gracefully for its request timeout (9 s here)
// instead, which no crash does.
type proxy struct {
	lis     net.Listener
	backend string // the member's own client address

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
}

// newProxy listens on addr and forwards to backend until close.
func newProxy(addr, backend string) (*proxy, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &proxy{lis: lis, backend: backend, conns: map[net.Conn]struct{}{}}
	go p.serve()
	return p, nil
}

// close stops listening and ends every connection.
func (p *proxy) close() {
	p.lis.Close()
	p.cut(true)
}

func (p *proxy) serve() {
	for {
		c, err := p.lis.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

// forward pipes c to the backend both ways; while the member is down it
// closes c at once.
func (p *proxy) forward(c net.Conn) {
	b, err := p.dial()
	if err != nil {
		c.Close()
		return
	}
	var wg sync.WaitGroup
	for _, pair := range [][2]net.Conn{{b, c}, {c, b}} {
		wg.Go(func() {
			_, _ = io.Copy(pair[0], pair[1])
			pair[0].Close()
			pair[1].Close()
		})
	}
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, b)
	p.mu.Unlock()
}

// dial connects to the backend and tracks both ends, unless down.
func (p *proxy) dial() (net.Conn, error) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		return nil, net.ErrClosed
	}
	b, err := net.Dial("tcp", p.backend)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		b.Close()
		return nil, net.ErrClosed
	}
	p.conns[b] = struct{}{}
	return b, nil
}

// cut closes every connection (closing the backend's end ends both)
// and, if down, refuses new ones until cut(false).
func (p *proxy) cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	for c := range p.conns {
		c.Close()
	}
}
