// The watchdog of a running job: hard timeout, log silence and max log. A
// time limit first takes a short diagnosis from the guest into the log, then
// kills the job; the kill itself is the guest client's (signal request, then
// a kill of the remote process group).

package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"
)

// diagnoseCommand collects what an operator needs to see why a job hung:
// processes, load and disk. Fixed text, no payload in it.
const diagnoseCommand = `echo '--- processes'; (ps -eo pid,ppid,stat,etime,rss,args 2>/dev/null || ps) | head -n 40; ` +
	`echo '--- load'; cat /proc/loadavg 2>/dev/null || uptime; ` +
	`echo '--- disk'; df -h "$HOME" "${TMPDIR:-/tmp}" 2>/dev/null; true`

// maxDiagnosis bounds the diagnosis kept in the log.
const maxDiagnosis = 16 << 10

// runner is the part of the guest client the watchdog uses.
type runner interface {
	Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error
}

// watch stops the job (cancel with a *LimitError) when it hits a limit,
// until done is closed or ctx ends.
func (s *Sandbox) watch(ctx context.Context, cancel context.CancelCauseFunc, c runner, ls *logStream, lim Limits, done <-chan struct{}) {
	hard := time.NewTimer(lim.Timeout)
	defer hard.Stop()
	tick := time.NewTicker(silenceTick(lim.LogSilence))
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-ls.cutDone():
			cancel(&LimitError{Kind: ErrLogLimit, Limit: fmt.Sprintf("%d bytes", lim.MaxLog)})
			return
		case <-hard.C:
			ls.note("the job ran longer than its timeout (%s); diagnosis before it is stopped:", lim.Timeout)
			s.diagnose(ctx, c, ls)
			cancel(&LimitError{Kind: ErrTimeout, Limit: lim.Timeout.String()})
			return
		case <-tick.C:
			if ls.silence() < lim.LogSilence {
				continue
			}
			ls.note("the job printed nothing for %s (log_silence); diagnosis before it is stopped:", lim.LogSilence)
			s.diagnose(ctx, c, ls)
			cancel(&LimitError{Kind: ErrLogSilence, Limit: lim.LogSilence.String()})
			return
		}
	}
}

// silenceTick is how often the silence limit is checked: often enough to
// stop a silent job within a few percent of its limit, at most once a second.
func silenceTick(limit time.Duration) time.Duration {
	return min(max(limit/20, 10*time.Millisecond), time.Second)
}

// diagnose runs diagnoseCommand in a session of its own while the job still
// runs and adds its output to the log.
func (s *Sandbox) diagnose(ctx context.Context, c runner, ls *logStream) {
	dctx, cancel := context.WithTimeout(ctx, s.cfg.DiagnoseTimeout)
	defer cancel()
	var out bytes.Buffer
	w := &capped{w: &out, n: maxDiagnosis}
	if err := c.Run(dctx, diagnoseCommand, w, w); err != nil {
		ls.raw(out.Bytes())
		ls.note("diagnosis failed: %v", err)
		return
	}
	ls.raw(out.Bytes())
}

// capped writes at most n bytes to w and drops the rest.
type capped struct {
	w io.Writer
	n int
}

func (c *capped) Write(p []byte) (int, error) {
	if c.n <= 0 {
		return len(p), nil
	}
	q := p[:min(len(p), c.n)]
	c.n -= len(q)
	if _, err := c.w.Write(q); err != nil {
		return 0, err
	}
	return len(p), nil
}
