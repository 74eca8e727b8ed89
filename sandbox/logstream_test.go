package sandbox

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// sink records the chunks a log stream sends; it can be told to fail.
type sink struct {
	mu     sync.Mutex
	chunks [][]byte
	fail   bool
}

func (s *sink) send(_ context.Context, _ string, chunk []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errBoom
	}
	s.chunks = append(s.chunks, bytes.Clone(chunk))
	return nil
}

func (s *sink) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(bytes.Join(s.chunks, nil))
}

func (s *sink) setFail(v bool) {
	s.mu.Lock()
	s.fail = v
	s.mu.Unlock()
}

func startStream(t *testing.T, snk *sink, max int64, chunk int, every time.Duration) (*logStream, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "job.log")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	ls := newLogStream("j", f, snk.send, max, chunk, every, slog.New(slog.DiscardHandler))
	done := make(chan struct{})
	go func() {
		defer close(done)
		ls.run(context.Background())
	}()
	t.Cleanup(func() {
		select {
		case <-ls.stop:
		default:
			_ = ls.close(context.Background())
		}
		<-done
	})
	return ls, p
}

func TestLogStreamFlushesWithoutMoreOutput(t *testing.T) {
	snk := &sink{}
	ls, _ := startStream(t, snk, 1<<20, 1024, 50*time.Millisecond)
	ls.Write([]byte("first line\n"))
	// Nothing else is written and the stream stays open: the ticker alone
	// must send the line.
	waitFor(t, "the flush", 10*time.Second, func() bool { return snk.text() == "first line\n" })
}

func TestLogStreamChunksAndKeepsEverything(t *testing.T) {
	snk := &sink{}
	ls, path := startStream(t, snk, 1<<20, 100, time.Hour)
	var want strings.Builder
	for i := range 50 {
		line := strings.Repeat(string(rune('a'+i%26)), 37) + "\n"
		want.WriteString(line)
		ls.Write([]byte(line))
	}
	if err := ls.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := snk.text(); got != want.String() {
		t.Errorf("queue log differs from the output: %d bytes, want %d", len(got), want.Len())
	}
	for i, c := range snk.chunks {
		if len(c) > 100 {
			t.Errorf("chunk %d is %d bytes, want at most 100", i, len(c))
		}
	}
	local, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(local) != want.String() {
		t.Errorf("local log differs from the output")
	}
}

func TestLogStreamCutsAtMax(t *testing.T) {
	snk := &sink{}
	ls, path := startStream(t, snk, 25, 1024, time.Hour)
	ls.Write([]byte("0123456789"))
	select {
	case <-ls.cutDone():
		t.Fatal("cut before max was reached")
	default:
	}
	n, err := ls.Write([]byte("0123456789abcdefghij")) // 30 bytes in all: 5 over
	if n != 20 || err != nil {
		t.Errorf("Write = %d, %v; want the whole write taken", n, err)
	}
	ls.Write([]byte("after the cut"))
	ls.note("result: errored")
	select {
	case <-ls.cutDone():
	default:
		t.Fatal("cutDone not closed after max was passed")
	}
	if err := ls.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "0123456789" + "0123456789abcde" +
		"\n\n[fleet] log cut here: the job printed more than max_log (25 bytes) and was stopped\n" +
		"\n[fleet] result: errored\n"
	if got := snk.text(); got != want {
		t.Errorf("log = %q, want %q", got, want)
	}
	if local, _ := os.ReadFile(path); string(local) != want {
		t.Errorf("local log = %q, want %q", local, want)
	}
}

func TestLogStreamKeepsChunksTheQueueRefused(t *testing.T) {
	snk := &sink{fail: true}
	ls, _ := startStream(t, snk, 1<<20, 1024, time.Hour)
	ls.Write([]byte("kept"))
	ls.flush(context.Background())
	snk.setFail(false)
	ls.Write([]byte(" and sent"))
	if err := ls.close(context.Background()); err != nil {
		t.Fatalf("close after the queue recovered: %v", err)
	}
	if got := snk.text(); got != "kept and sent" {
		t.Errorf("log = %q, want both writes in order", got)
	}
}

func TestLogStreamReportsALogItCouldNotSend(t *testing.T) {
	snk := &sink{fail: true}
	ls, _ := startStream(t, snk, 1<<20, 1024, time.Hour)
	ls.Write([]byte("lost"))
	if err := ls.close(context.Background()); !errors.Is(err, errBoom) {
		t.Errorf("close = %v, want the send failure", err)
	}
}

func TestLogStreamSilence(t *testing.T) {
	ls, _ := startStream(t, &sink{}, 1<<20, 1024, time.Hour)
	ls.last = time.Now().Add(-time.Minute)
	if ls.silence() < time.Minute {
		t.Fatalf("silence = %s, want at least a minute", ls.silence())
	}
	ls.note("a note is not output")
	if ls.silence() < time.Minute {
		t.Errorf("a note reset the silence clock")
	}
	ls.Write([]byte("x"))
	if ls.silence() >= time.Minute {
		t.Errorf("output did not reset the silence clock")
	}
}
