// Package faultproxy is a reverse proxy on loopback that injects faults into
// a chosen fraction of the requests it forwards: HTTP 500 answers in S3's
// error format, connections reset halfway through a request body, and slow
// answers. Tests put it between zuulstate and an S3 server to prove that
// transient errors are retried and lasting ones fail cleanly.
package faultproxy

import (
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// Kind is one kind of injected fault.
type Kind string

// The kinds of faults.
const (
	Status500 Kind = "500"   // answer 500 InternalError without forwarding
	Reset     Kind = "reset" // read part of the body, then reset the connection
	Slow      Kind = "slow"  // forward after a delay
)

// Config says where to forward and what to break.
type Config struct {
	// Target is the upstream base URL, e.g. https://127.0.0.1:19000.
	Target string
	// TLS is the client TLS configuration for an https Target.
	TLS *tls.Config
	// Rate is the fraction of matching requests that get a fault.
	Rate float64
	// Kinds are chosen from uniformly; default all.
	Kinds []Kind
	// Delay is how long Slow waits; default 500ms.
	Delay time.Duration
	// Match selects the requests that may be faulted; nil means all.
	Match func(*http.Request) bool
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	// Addr is host:port of the plain-HTTP listener on 127.0.0.1.
	Addr string

	srv *http.Server
	rp  *httputil.ReverseProxy

	mu     sync.Mutex
	cfg    Config
	counts map[Kind]int
	total  int
}

// Start listens on a free loopback port and serves until Close.
func Start(cfg Config) (*Proxy, error) {
	target, err := url.Parse(cfg.Target)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: target: %w", err)
	}
	if len(cfg.Kinds) == 0 {
		cfg.Kinds = []Kind{Status500, Reset, Slow}
	}
	if cfg.Delay == 0 {
		cfg.Delay = 500 * time.Millisecond
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Addr: l.Addr().String(), cfg: cfg, counts: map[Kind]int{}}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// S3 signs the Host header: keep the one the client signed.
			pr.Out.Host = pr.In.Host
		},
		Transport: &http.Transport{TLSClientConfig: cfg.TLS, ForceAttemptHTTP2: false},
		// Errors reaching the upstream are answered like an unreachable
		// server's: 502, which clients treat as transient.
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, err.Error(), http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

// Set changes the fault rate, the request filter and, if any are given,
// the kinds of faults of a running proxy.
func (p *Proxy) Set(rate float64, match func(*http.Request) bool, kinds ...Kind) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg.Rate, p.cfg.Match = rate, match
	if len(kinds) > 0 {
		p.cfg.Kinds = kinds
	}
}

// Counts returns how many faults of each kind were injected, and how many
// requests passed through in all.
func (p *Proxy) Counts() (map[Kind]int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[Kind]int, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out, p.total
}

// Close stops the proxy and drops open connections.
func (p *Proxy) Close() error { return p.srv.Close() }

// pick decides the fault for one request, or "" for none.
func (p *Proxy) pick(r *http.Request) Kind {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total++
	if (p.cfg.Match != nil && !p.cfg.Match(r)) || rand.Float64() >= p.cfg.Rate {
		return ""
	}
	k := p.cfg.Kinds[rand.IntN(len(p.cfg.Kinds))]
	p.counts[k]++
	return k
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p.pick(r) {
	case Status500:
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>`+
			`<Message>We encountered an internal error, please try again. (injected by faultproxy)</Message></Error>`)
		return
	case Reset:
		p.reset(w, r)
		return
	case Slow:
		select {
		case <-time.After(p.delay()):
		case <-r.Context().Done():
			return
		}
	}
	p.rp.ServeHTTP(w, r)
}

func (p *Proxy) delay() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg.Delay
}

// reset reads up to half of the declared body (so an upload dies midway)
// and closes the connection with RST.
func (p *Proxy) reset(w http.ResponseWriter, r *http.Request) {
	if n := r.ContentLength / 2; n > 0 {
		_, _ = io.CopyN(io.Discard, r.Body, n)
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
