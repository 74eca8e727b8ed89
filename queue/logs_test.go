package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFollowLogReplaysThenFollowsUntilTheJobEnds(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, Config{})
	s := e.slot(t, c, "0", "builds")
	e.submit(t, c, "builds", "logged")
	ctx := fetchCtx(t)
	j, err := s.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := range 3 {
		line := fmt.Sprintf("before %d\n", i)
		want.WriteString(line)
		if err := c.AppendLog(ctx, j.ID, []byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	var out syncBuffer
	type res struct {
		state State
		err   error
	}
	done := make(chan res, 1)
	go func() {
		st, err := c.FollowLog(ctx, j.ID, &out, true)
		done <- res{st, err}
	}()
	waitFor(t, func() bool { return out.String() == want.String() })
	for i := range 50 {
		line := fmt.Sprintf("live %d\n", i)
		want.WriteString(line)
		if err := c.AppendLog(ctx, j.ID, []byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Finish(ctx, j, Result{State: StateFailed, ExitCode: 1}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.state != StateFailed {
		t.Fatalf("follow = %s, %v; want failed", r.state, r.err)
	}
	if out.String() != want.String() {
		t.Errorf("followed log:\n%q\nwant\n%q", out.String(), want.String())
	}
	// A later reader replays everything and returns at once.
	var again bytes.Buffer
	st, err := c.FollowLog(ctx, j.ID, &again, true)
	if err != nil || st != StateFailed || again.String() != want.String() {
		t.Errorf("replay after end = %s, %v, %d bytes; want failed and the whole log", st, err, again.Len())
	}
}

func TestLogIsCappedAndUnknownJobsAreReported(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, Config{LogCap: 3})
	ctx := context.Background()
	for i := range 5 {
		if err := c.AppendLog(ctx, "capped", []byte{byte('a' + i)}); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if _, err := c.FollowLog(ctx, "capped", &out, false); err != nil {
		t.Fatal(err)
	}
	if out.String() != "cde" {
		t.Errorf("capped log = %q, want the last 3 chunks", out.String())
	}
	if _, err := c.FollowLog(ctx, "nobody", &out, true); !errors.Is(err, ErrJobNotFound) {
		t.Errorf("follow unknown job: %v, want ErrJobNotFound", err)
	}
	if _, err := c.JobStatus(ctx, "nobody"); !errors.Is(err, ErrJobNotFound) {
		t.Errorf("status of unknown job: %v, want ErrJobNotFound", err)
	}
}

func TestWatchCancelSeesCancelFromAnotherHost(t *testing.T) {
	tests := []struct {
		name   string
		before bool // cancel before the watch starts
	}{
		{"cancel while running", false},
		{"cancel before start", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			worker := e.client(t, Config{Host: "build-01"})
			other := e.client(t, Config{Host: "build-02"})
			ctx := context.Background()
			if tt.before {
				if err := other.Cancel(ctx, "victim"); err != nil {
					t.Fatal(err)
				}
			}
			wctx, stop := worker.WatchCancel(ctx, "victim")
			defer stop()
			// Another job's cancel must not touch this one.
			if err := other.Cancel(ctx, "bystander"); err != nil {
				t.Fatal(err)
			}
			if !tt.before {
				if err := other.Cancel(ctx, "victim"); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case <-wctx.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("cancel not seen")
			}
			if !errors.Is(context.Cause(wctx), ErrCanceled) {
				t.Errorf("cause = %v, want ErrCanceled", context.Cause(wctx))
			}
		})
	}
}

func TestWatchCancelStopEndsTheWatch(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, Config{})
	wctx, stop := c.WatchCancel(context.Background(), "quiet")
	stop()
	if !errors.Is(context.Cause(wctx), context.Canceled) || errors.Is(context.Cause(wctx), ErrCanceled) {
		t.Errorf("cause after stop = %v, want context.Canceled", context.Cause(wctx))
	}
}

func TestSubmitRejectsDuplicateAndInvalidJobs(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, Config{})
	ctx := context.Background()
	a, err := c.Submit(ctx, "builds", testArgs(""))
	if err != nil {
		t.Fatal(err)
	}
	if !idRe.MatchString(a.ID) {
		t.Errorf("generated id %q is not a valid id", a.ID)
	}
	if _, err := c.Submit(ctx, "builds", a); !errors.Is(err, ErrJobExists) {
		t.Errorf("duplicate submit: %v, want ErrJobExists", err)
	}
	bad := testArgs("bad")
	bad.Script = nil
	var perr *PayloadError
	if _, err := c.Submit(ctx, "builds", bad); !errors.As(err, &perr) {
		t.Errorf("invalid submit: %v, want *PayloadError", err)
	}
	if st, _ := c.JobStatus(ctx, a.ID); st.State != StateQueued || st.Queue != "builds" {
		t.Errorf("submitted status = %+v", st)
	}
	if ok, _ := e.rdb.SIsMember(ctx, "resque:queues", "builds").Result(); !ok {
		t.Error("queue not added to resque:queues")
	}
}

func TestDialChoosesClientKindFromURL(t *testing.T) {
	tests := []struct {
		name, url, kind string
		env             string
		wantErr         bool
	}{
		{"single", "redis://127.0.0.1:6379/2", "*redis.Client", "", false},
		{"tls", "rediss://u:p@127.0.0.1:6380/0", "*redis.Client", "", false},
		{"sentinel", "redis://127.0.0.1:26379?master_name=mymaster", "*redis.Client", "", false},
		{"cluster", "redis://127.0.0.1:7000?addr=127.0.0.1:7001", "*redis.ClusterClient", "", false},
		{"password from env", "redis://127.0.0.1:6379", "*redis.Client", "s3cret", false},
		{"unix socket", "unix:///run/redis/redis.sock?db=1", "*redis.Client", "", false},
		{"bad scheme", "http://127.0.0.1", "", "", true},
		{"empty", "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(PasswordEnv, tt.env)
			c, err := Dial(tt.url)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer c.Close()
			if got := fmt.Sprintf("%T", c); got != tt.kind {
				t.Errorf("kind = %s, want %s", got, tt.kind)
			}
			if tt.env != "" {
				if pw := c.(*redis.Client).Options().Password; pw != tt.env {
					t.Errorf("password = %q, want it from $%s", pw, PasswordEnv)
				}
			}
		})
	}
}
