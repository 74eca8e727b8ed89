// This file is how the queue lives through Redis going away (a restart, a
// failover): a go-redis hook watches every command for connection errors,
// logs one line when Redis becomes unreachable and one when it is back, and
// remembers when the last such error happened; loops that talk to Redis wait
// with a bounded, jittered exponential backoff instead of spinning; and the
// reaper holds back for one host lease after an outage, so the leases that
// ran out while nobody could renew them are renewed before anyone judges
// them.

package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Backoff bounds for loops that retry after a connection error.
const (
	retryMin = 100 * time.Millisecond
	retryMax = 5 * time.Second
)

// transientPrefixes are Redis error replies that mean "not now, try again":
// a server loading its dataset after a restart, a replica that was primary
// before a failover, a Sentinel setup without a master, a cluster resharding.
var transientPrefixes = []string{"LOADING ", "READONLY ", "MASTERDOWN ", "TRYAGAIN ", "CLUSTERDOWN "}

// Transient reports whether err means that Redis is unreachable or not
// serving right now (connection refused or reset, a timeout, a server
// loading or failing over), as opposed to a bad command or a canceled
// context: the same command may succeed later.
func Transient(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var nerr net.Error
	if errors.As(err, &nerr) {
		return true
	}
	var re redis.Error
	if errors.As(err, &re) {
		for _, p := range transientPrefixes {
			if strings.HasPrefix(re.Error(), p) {
				return true
			}
		}
	}
	msg := err.Error()
	// go-redis's pool has no exported error for these.
	return strings.Contains(msg, "connection pool timeout") || strings.Contains(msg, "use of closed network connection")
}

// isReply reports whether err is an answer from Redis (so Redis is there).
func isReply(err error) bool {
	var re redis.Error
	return errors.As(err, &re)
}

// health is what the Client knows about its connection.
type health struct {
	log *slog.Logger

	mu       sync.Mutex
	down     bool      // guarded by mu; the last command failed with a transient error
	downAt   time.Time // guarded by mu; when down began
	lastFail time.Time // guarded by mu; the last transient error
}

// observe records the outcome of one command (or pipeline).
func (h *health) observe(err error) {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case Transient(err):
		h.lastFail = now
		if !h.down {
			h.down, h.downAt = true, now
			h.log.Warn("redis_unreachable", "err", err,
				"note", "running jobs go on; results wait in the outbox; fetching resumes once Redis is back")
		}
	case err == nil || isReply(err):
		if h.down {
			h.down = false
			h.log.Info("redis_reconnected", "down_for", now.Sub(h.downAt).Round(time.Millisecond))
		}
	}
}

// sinceFailure is how long ago the last transient error was; a very long
// time when there was none.
func (h *health) sinceFailure() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lastFail.IsZero() {
		return time.Duration(1<<63 - 1)
	}
	return time.Since(h.lastFail)
}

// hook feeds every command's outcome into h.
type hook struct{ h *health }

func (hk hook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (hk hook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if ctx.Err() == nil {
			hk.h.observe(err)
		}
		return err
	}
}

func (hk hook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if ctx.Err() == nil {
			hk.h.observe(err)
		}
		return err
	}
}

// libraryLog takes go-redis's own log lines (a failed dial every few hundred
// milliseconds while Redis is away, Sentinel's master changes), which would
// otherwise go to stderr beside the agent's structured log.
type libraryLog struct{ log *slog.Logger }

func (l libraryLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis_client", "msg", fmt.Sprintf(format, v...))
}

// RouteLibraryLog sends go-redis's own log lines to log at debug level. It
// sets go-redis's process-wide logger: call it once, from main.
func RouteLibraryLog(log *slog.Logger) { redis.SetLogger(libraryLog{log}) }

// retryDelay is the wait before retry number n (0-based): doubling from
// retryMin up to retryMax, each drawn at random from its upper half so that
// many agents coming back at once do not hit Redis in step.
func retryDelay(n int) time.Duration {
	d := retryMin
	for i := 0; i < n && d < retryMax; i++ {
		d *= 2
	}
	d = min(d, retryMax)
	return d/2 + rand.N(d/2+1)
}

// waitRetry sleeps retryDelay(*n) and counts the retry; it returns ctx's
// error if ctx ends first.
func waitRetry(ctx context.Context, n *int) error {
	d := retryDelay(*n)
	*n++
	return sleep(ctx, d)
}

// sleep waits d, or returns ctx's error if ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
