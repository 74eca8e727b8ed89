// The job log: output is kept in a local file as it arrives and sent to the
// queue's log record in small chunks, flushed at least every FlushInterval.
// The stream also enforces max_log and remembers when the job last printed,
// for the log-silence limit. Write is the hot path: it only copies into a
// buffer and the file and never waits for Redis.

package sandbox

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// logStream is one job's log. Write and note may be called from any
// goroutine; run is the flusher and close ends it.
type logStream struct {
	id    string
	send  func(ctx context.Context, id string, chunk []byte) error
	file  *os.File
	max   int64
	chunk int
	every time.Duration
	log   *slog.Logger
	// tee gets a copy of every byte the file gets (Config.LogOutput); nil for none. Set before
	// the first Write, then only read, under mu.
	tee io.Writer

	full chan struct{} // capacity 1: the buffer holds a whole chunk
	cutc chan struct{} // closed once when the log is cut at max
	stop chan struct{} // closed by close to end run
	done chan struct{} // closed when run returns

	mu      sync.Mutex // guards the fields below
	buf     []byte     // bytes not sent to the queue yet
	kept    int64      // job output bytes accepted, at most max
	cut     bool
	last    time.Time // when the job last printed
	fileErr error     // first failure writing the local file
	sendErr error     // last failure sending to the queue, cleared by a success
}

func newLogStream(id string, file *os.File, send func(context.Context, string, []byte) error,
	max int64, chunk int, every time.Duration, log *slog.Logger) *logStream {
	return &logStream{
		id: id, send: send, file: file, max: max, chunk: chunk, every: every, log: log,
		full: make(chan struct{}, 1), cutc: make(chan struct{}),
		stop: make(chan struct{}), done: make(chan struct{}),
		last: time.Now(),
	}
}

// Write takes job output. It never fails, so the SSH session copying the
// output is never stopped by the log: output past max is dropped.
func (l *logStream) Write(p []byte) (int, error) {
	n := len(p)
	l.mu.Lock()
	if l.cut {
		l.mu.Unlock()
		return n, nil
	}
	l.last = time.Now()
	justCut := false
	if room := l.max - l.kept; int64(len(p)) > room {
		p, justCut = p[:room], true
	}
	l.kept += int64(len(p))
	l.appendLocked(p)
	if justCut {
		l.cut = true
		l.appendLocked(fmt.Appendf(nil, "\n\n[fleet] log cut here: the job printed more than max_log (%d bytes) and was stopped\n", l.max))
	}
	l.mu.Unlock()
	if justCut {
		close(l.cutc)
	}
	return n, nil
}

// note adds the agent's own line to the log. Notes do not count against
// max_log nor as job output for the silence limit, and are kept after a cut.
func (l *logStream) note(format string, args ...any) {
	line := fmt.Appendf([]byte("\n[fleet] "), format, args...)
	line = append(line, '\n')
	l.mu.Lock()
	l.appendLocked(line)
	l.mu.Unlock()
}

// raw adds agent-collected text (the diagnosis) verbatim, like a note.
func (l *logStream) raw(p []byte) {
	l.mu.Lock()
	l.appendLocked(p)
	l.mu.Unlock()
}

func (l *logStream) appendLocked(p []byte) {
	if len(p) == 0 {
		return
	}
	if l.fileErr == nil {
		if _, err := l.file.Write(p); err != nil {
			l.fileErr = err
		}
	}
	if l.tee != nil {
		_, _ = l.tee.Write(p) // a copy for reporting must never stop the log
	}
	l.buf = append(l.buf, p...)
	if len(l.buf) >= l.chunk {
		select {
		case l.full <- struct{}{}:
		default:
		}
	}
}

// silence returns how long the job has printed nothing.
func (l *logStream) silence() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Since(l.last)
}

// cutDone is closed once the log has been cut at max.
func (l *logStream) cutDone() <-chan struct{} { return l.cutc }

// run flushes every interval and whenever a whole chunk is buffered, until
// close. ctx bounds the sends.
func (l *logStream) run(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(l.every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		case <-l.full:
		}
		l.flush(ctx)
	}
}

// flush sends what is buffered in chunks of at most l.chunk bytes. A chunk
// the queue refused stays buffered for the next flush.
func (l *logStream) flush(ctx context.Context) {
	l.mu.Lock()
	pending := l.buf
	l.buf = nil
	l.mu.Unlock()
	for len(pending) > 0 {
		n := min(len(pending), l.chunk)
		if err := l.send(ctx, l.id, pending[:n]); err != nil {
			l.mu.Lock()
			if l.sendErr == nil {
				l.log.Warn("job_log_send_failed", "job_id", l.id, "error", err)
			}
			l.sendErr = err
			l.buf = append(pending, l.buf...)
			l.mu.Unlock()
			return
		}
		pending = pending[n:]
	}
	l.mu.Lock()
	l.sendErr = nil
	l.mu.Unlock()
}

// close stops the flusher, sends what is left and closes the file. It
// returns the first failure to keep the log locally or to send its end.
func (l *logStream) close(ctx context.Context) error {
	close(l.stop)
	<-l.done
	l.flush(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.fileErr
	if cerr := l.file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("job log file: %w", err)
	}
	if l.sendErr != nil {
		return fmt.Errorf("job log: %w", l.sendErr)
	}
	return nil
}
