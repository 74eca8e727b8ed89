// The control socket's client, used by `agent drain`, `agent resume` and `agent status`.
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
)

// ErrNotRunning is returned by Call when no agent serves the socket.
var ErrNotRunning = errors.New("control: no agent is running")

// ErrRefused is returned by Call when the agent refuses the request (wrong user, bad request,
// or the operation failed); the error's text is the agent's.
var ErrRefused = errors.New("control: refused")

// Call sends req to the agent at path and returns the final response. Each intermediate
// response (progress of `drain --wait`) is passed to progress, which may be nil. Call returns
// when the final response arrives or ctx ends.
func Call(ctx context.Context, path string, req Request, progress func(Response)) (Response, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return Response{}, fmt.Errorf("connect %s: %w", path, ErrNotRunning)
		}
		return Response{}, fmt.Errorf("connect %s: %w", path, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	// A refused peer is answered and hung up on before its request is read, so a failed write
	// is reported only when no answer can be read either.
	werr := json.NewEncoder(c).Encode(req)
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var r Response
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return Response{}, fmt.Errorf("read %s response: %w", req.Op, err)
		}
		if r.Error != "" {
			return r, fmt.Errorf("%s: %w: %s", req.Op, ErrRefused, r.Error)
		}
		if r.Done {
			return r, nil
		}
		if progress != nil {
			progress(r)
		}
	}
	if ctx.Err() != nil {
		return Response{}, ctx.Err()
	}
	if werr != nil {
		return Response{}, fmt.Errorf("send %s request: %w", req.Op, werr)
	}
	if err := sc.Err(); err != nil {
		return Response{}, fmt.Errorf("read %s response: %w", req.Op, err)
	}
	return Response{}, fmt.Errorf("read %s response: connection closed by the agent", req.Op)
}
