package sandbox

import (
	"errors"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/spec"
	"github.com/google/go-cmp/cmp"
)

func TestLimitsFor(t *testing.T) {
	pool := spec.Job{Timeout: 50 * time.Minute, LogSilence: 10 * time.Minute, MaxLog: 4 << 20}
	tests := []struct {
		name string
		pool spec.Job
		args queue.Args
		want Limits
	}{
		{"pool limits", pool, queue.Args{}, Limits{50 * time.Minute, 10 * time.Minute, 4 << 20}},
		{"unset pool limits take the defaults", spec.Job{}, queue.Args{},
			Limits{DefaultTimeout, DefaultLogSilence, DefaultMaxLog}},
		{"payload timeout overrides", pool, queue.Args{Timeout: queue.Duration(5 * time.Second)},
			Limits{5 * time.Second, 10 * time.Minute, 4 << 20}},
		{"payload log_silence overrides", pool, queue.Args{LogSilence: queue.Duration(time.Second)},
			Limits{50 * time.Minute, time.Second, 4 << 20}},
		{"payload may also raise the timeout", pool, queue.Args{Timeout: queue.Duration(2 * time.Hour)},
			Limits{2 * time.Hour, 10 * time.Minute, 4 << 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, LimitsFor(tt.pool, tt.args)); diff != "" {
				t.Errorf("LimitsFor (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorsMatchTheirClass(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		target    error
		exception string
	}{
		{"timeout", &LimitError{Kind: ErrTimeout, Limit: "1s"}, ErrTimeout, "Fleet::LimitExceeded"},
		{"log silence", &LimitError{Kind: ErrLogSilence, Limit: "1s"}, ErrLogSilence, "Fleet::LimitExceeded"},
		{"max log", &LimitError{Kind: ErrLogLimit, Limit: "1 bytes"}, ErrLogLimit, "Fleet::LimitExceeded"},
		{"infrastructure", &InfraError{Step: "connect", Err: errBoom}, errBoom, "Fleet::InfrastructureError"},
		{"broken vm", &BrokenError{VM: "w", Step: "restore snapshot", Err: errBoom}, ErrBroken, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.target) {
				t.Errorf("errors.Is(%v, %v) = false", tt.err, tt.target)
			}
			var ex interface{ Exception() string }
			if tt.exception != "" && (!errors.As(tt.err, &ex) || ex.Exception() != tt.exception) {
				t.Errorf("exception of %v, want %s", tt.err, tt.exception)
			}
		})
	}
}

var errBoom = errors.New("boom")
