// The limits one job runs under, and the errors that say which one it hit.

package sandbox

import (
	"errors"
	"fmt"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/spec"
)

// Defaults for a pool whose job block leaves a limit unset (spec's defaults).
const (
	DefaultTimeout    = 50 * time.Minute
	DefaultLogSilence = 10 * time.Minute
	DefaultMaxLog     = 4 << 20
)

// Limits are what one job may use.
type Limits struct {
	// Timeout is the hard limit on the script's run time.
	Timeout time.Duration
	// LogSilence ends a job that printed nothing for this long.
	LogSilence time.Duration
	// MaxLog is how many bytes of output are kept; the log is cut there and
	// the job is stopped.
	MaxLog int64
}

// LimitsFor returns the limits of a job of a pool: the pool's job block,
// with its zero values defaulted, overridden by the payload's own timeout and
// log_silence where it sets them (docs/JOBS.md). max_log is the pool's alone.
func LimitsFor(pool spec.Job, a queue.Args) Limits {
	l := Limits{Timeout: pool.Timeout, LogSilence: pool.LogSilence, MaxLog: pool.MaxLog}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.LogSilence <= 0 {
		l.LogSilence = DefaultLogSilence
	}
	if l.MaxLog <= 0 {
		l.MaxLog = DefaultMaxLog
	}
	if d := time.Duration(a.Timeout); d > 0 {
		l.Timeout = d
	}
	if d := time.Duration(a.LogSilence); d > 0 {
		l.LogSilence = d
	}
	return l
}

// Sentinels matched (errors.Is) by the error of a job that hit a limit.
var (
	ErrTimeout    = errors.New("job timeout")
	ErrLogSilence = errors.New("log silence timeout")
	ErrLogLimit   = errors.New("log size limit")
)

// LimitError is why a job was stopped by one of its limits. It is the Err of
// the errored result, so it names the exception of the Resque failure.
type LimitError struct {
	// Kind is ErrTimeout, ErrLogSilence or ErrLogLimit.
	Kind error
	// Limit is the limit as configured ("5m0s", "4194304 bytes").
	Limit string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%v: limit %s exceeded", e.Kind, e.Limit)
}

// Unwrap returns Kind.
func (e *LimitError) Unwrap() error { return e.Kind }

// Exception is the class name written to Resque's failed list.
func (e *LimitError) Exception() string { return "Fleet::LimitExceeded" }

// InfraError is why a job was cut short by the infrastructure rather than by
// its own doing: the job is handed back to the queue.
type InfraError struct {
	// Step is what the sandbox was doing ("connect", "upload script", "run").
	Step string
	Err  error
}

func (e *InfraError) Error() string { return e.Step + ": " + e.Err.Error() }

// Unwrap returns Err.
func (e *InfraError) Unwrap() error { return e.Err }

// Exception is the class name written to Resque's failed list.
func (e *InfraError) Exception() string { return "Fleet::InfrastructureError" }
