package guest

// This file holds remote port forwarding: a listener inside the guest (SSH "tcpip-forward",
// as `ssh -R`) whose every connection the agent dials on the host. It is how a pool's
// network.host_services reach a build without opening the host's loopback to the guest: the
// guest's sshd listens at the guest address, the agent connects to exactly one host address.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Forward is one remote port forward. Close stops it.
type Forward struct {
	ln   net.Listener
	host string
	wg   sync.WaitGroup // the accept loop and every connection's copiers

	mu    sync.Mutex
	conns map[net.Conn]bool // open connections, both ends; guarded by mu
	done  bool              // guarded by mu
}

// forwardDialTimeout bounds the agent's connection to a host service.
const forwardDialTimeout = 10 * time.Second

// Forward listens at guestAddr ("127.0.0.1:3142") inside the guest and connects every
// connection accepted there to hostAddr on the host, until Close or the end of the SSH
// connection. It fails when the guest's SSH server refuses the forward (forwarding disabled,
// port taken, a port below 1024 for a user that is not root).
func (c *Client) Forward(guestAddr, hostAddr string) (*Forward, error) {
	if err := c.lost(); err != nil {
		return nil, err
	}
	ln, err := c.conn.Listen("tcp", guestAddr)
	if err != nil {
		return nil, fmt.Errorf("forward guest %s to host %s: %w", guestAddr, hostAddr, err)
	}
	f := &Forward{ln: ln, host: hostAddr, conns: map[net.Conn]bool{}}
	f.wg.Add(1)
	go f.accept(c)
	return f, nil
}

// accept serves the guest listener until it is closed.
func (f *Forward) accept(c *Client) {
	defer f.wg.Done()
	for {
		in, err := f.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
				c.log.Warn("host service forward stopped", "host", f.host, "error", err)
			}
			return
		}
		if !f.track(in) {
			in.Close()
			return
		}
		f.wg.Add(1)
		go f.serve(c, in)
	}
}

// serve connects one guest connection to the host service and copies both ways.
func (f *Forward) serve(c *Client, in net.Conn) {
	defer f.wg.Done()
	defer f.untrack(in)
	out, err := net.DialTimeout("tcp", f.host, forwardDialTimeout)
	if err != nil {
		c.log.Warn("host service unreachable", "host", f.host, "error", err)
		return
	}
	if !f.track(out) {
		out.Close()
		return
	}
	defer f.untrack(out)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(out, in)
		if tc, ok := out.(*net.TCPConn); ok {
			tc.CloseWrite() // the guest finished sending; the service may still answer
		}
	}()
	io.Copy(in, out)
	in.Close() // ends the other copy too
	wg.Wait()
}

// track records an open connection; false once the forward is closed.
func (f *Forward) track(conn net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return false
	}
	f.conns[conn] = true
	return true
}

// untrack closes and forgets conn.
func (f *Forward) untrack(conn net.Conn) {
	conn.Close()
	f.mu.Lock()
	delete(f.conns, conn)
	f.mu.Unlock()
}

// Close stops listening in the guest, closes every forwarded connection and waits for them.
func (f *Forward) Close() error {
	f.mu.Lock()
	f.done = true
	for conn := range f.conns {
		conn.Close()
	}
	f.mu.Unlock()
	err := f.ln.Close()
	f.wg.Wait()
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// ForwardAll starts one forward per host service, each listening in the guest at 127.0.0.1
// on the service's port. On error the forwards already started are closed.
func (c *Client) ForwardAll(hostServices []string) (func(), error) {
	var fws []*Forward
	closeAll := func() {
		for _, fw := range fws {
			fw.Close()
		}
	}
	for _, hs := range hostServices {
		_, port, err := net.SplitHostPort(hs)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("host service %q: %w", hs, err)
		}
		fw, err := c.Forward(net.JoinHostPort("127.0.0.1", port), hs)
		if err != nil {
			closeAll()
			return nil, err
		}
		fws = append(fws, fw)
	}
	return closeAll, nil
}
