package web

import (
	"bufio"
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/fleet-agent/fleet/queue"
	"github.com/redis/go-redis/v9"
)

// seedJob writes a job record in the queue package's format and appends
// its log chunks through the queue client, as a worker does.
func seedJob(t *testing.T, rdb *redis.Client, id string, state queue.State, chunks ...string) *queue.Client {
	t.Helper()
	ctx := context.Background()
	q, err := queue.New(rdb, queue.Config{Namespace: "resque", Host: "build-a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rdb.HSet(ctx, "resque:fleet:job:"+id, "id", id, "state", string(state), "queue", "builds",
		"worker", "build-a:7:builds", "host", "build-a", "attempt", "1",
		"started_at", "2027-01-15T08:00:00Z", "exit_code", "2", "error", "")
	for _, c := range chunks {
		if err := q.AppendLog(ctx, id, []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	return q
}

const secretPayload = `{"class":"Fleet::Build","args":[{"id":"j1","repository":{"slug":"o/r","url":"https://bot:hunter2@git.example/o/r.git"},"commit":"abcdef1","env":["TOKEN=hunter2","CI=1"],"script":["make"]}]}`

func TestJobPageRendersAFinishedLogAtOnceWithColoursAndRedactsThePayload(t *testing.T) {
	_, rdb, hs := newTest(t)
	ctx := context.Background()
	seedJob(t, rdb, "j1", queue.StateFailed, "\x1b[1;3", "1mFAIL\x1b[0m <script>x</script>\n", strings.Repeat("line of output\n", 70000))
	rdb.RPush(ctx, "resque:failed", `{"failed_at":"2027/01/15 08:01:00 UTC","payload":`+secretPayload+`,"exception":"Fleet::Failed","error":"exit 2","worker":"build-a:7:builds","queue":"builds"}`)
	body := get(t, hs.URL+"/jobs/j1")
	for _, want := range []string{
		`<span class="a31 ab">FAIL</span> &lt;script&gt;x&lt;/script&gt;`,
		"TOKEN=[redacted]", "CI=[redacted]", "bot:[redacted]@git.example",
		"build-a (build-a:7:builds)", "exit 2", `id="state">failed`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("job page lacks %q", want)
		}
	}
	if strings.Contains(body, "hunter2") {
		t.Error("job page shows a secret")
	}
	if strings.Contains(body, "job.js") || strings.Contains(body, "data-events") {
		t.Error("a finished job's page should not stream")
	}
	if n := strings.Count(body, "line of output\n"); n != 70000 {
		t.Errorf("finished log has %d of 70000 lines", n)
	}
	if resp, _ := http.Get(hs.URL + "/jobs/nope"); resp == nil || resp.StatusCode != 404 {
		t.Errorf("unknown job: want 404, got %v", resp)
	}
}

func TestJobEventsReplayTheLogThenFollowItToTheEnd(t *testing.T) {
	_, rdb, hs := newTest(t)
	ctx := context.Background()
	q := seedJob(t, rdb, "j2", queue.StateStarted, "\x1b[32mstep 1 ok\x1b[0m\n")
	page := get(t, hs.URL+"/jobs/j2")
	if !strings.Contains(page, `data-events="/jobs/j2/events"`) || !strings.Contains(page, "step 1 ok") {
		t.Fatalf("a running job's page should show the log so far and stream the rest:\n%s", page)
	}
	resp, err := http.Get(hs.URL + "/jobs/j2/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan [2]string)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		ev, data := "", []string(nil)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				events <- [2]string{ev, strings.Join(data, "\n")}
				ev, data = "", nil
			case strings.HasPrefix(line, "event: "):
				ev = line[7:]
			case strings.HasPrefix(line, "data: "):
				data = append(data, line[6:])
			}
		}
	}()
	next := func() [2]string {
		e, ok := <-events
		if !ok {
			t.Fatal("stream ended early")
		}
		return e
	}
	if e := next(); e[0] != "reset" {
		t.Fatalf("first event %v, want reset", e)
	}
	if e := next(); e != [2]string{"", `<span class="a32">step 1 ok</span>` + "\n"} {
		t.Fatalf("replayed %q", e)
	}
	if err := q.AppendLog(ctx, "j2", []byte("\x1b[31mstep 2 <failed>\n")); err != nil {
		t.Fatal(err)
	}
	if e := next(); e != [2]string{"", `<span class="a31">step 2 &lt;failed&gt;` + "\n</span>"} {
		t.Fatalf("followed %q", e)
	}
	rdb.HSet(ctx, "resque:fleet:job:j2", "state", "failed")
	rdb.Publish(ctx, "resque:fleet:job:j2:events", "end failed")
	if e := next(); e != [2]string{"end", "failed"} {
		t.Fatalf("end event %q", e)
	}
}

func TestANSIToHTML(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain text is escaped", "a<b>&", "a&lt;b&gt;&amp;"},
		{"colour then reset", "\x1b[31mred\x1b[0m ok", `<span class="a31">red</span> ok`},
		{"bold and bright background", "\x1b[1;102mx", `<span class="a102 ab">x</span>`},
		{"default foreground ends colour", "\x1b[34mb\x1b[39mc", `<span class="a34">b</span>c`},
		{"non-colour escapes are dropped", "\x1b[2K\x1b[1Gprogress\x1b]0;t\x07", "progress"},
		{"empty SGR resets", "\x1b[33my\x1b[mz", `<span class="a33">y</span>z`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (&ansiHTML{}).convert([]byte(tc.in)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

var tags = regexp.MustCompile(`<[^>]*>`)

// FuzzANSIHTMLSplit checks that cutting terminal output between two log
// chunks anywhere shows the same text as one chunk, and never lets markup
// through.
func FuzzANSIHTMLSplit(f *testing.F) {
	f.Add([]byte("\x1b[31mred\x1b[0m <x>"), 4)
	f.Add([]byte("\x1b[1;32;44mok\x1b["), 2)
	f.Fuzz(func(t *testing.T, in []byte, cut int) {
		if cut < 0 || cut > len(in) {
			cut = len(in) / 2
		}
		whole := (&ansiHTML{}).convert(in)
		a := &ansiHTML{}
		split := a.convert(in[:cut]) + a.convert(in[cut:])
		text := func(h string) string { return html.UnescapeString(tags.ReplaceAllString(h, "")) }
		if text(whole) != text(split) {
			t.Fatalf("split at %d: %q vs %q", cut, split, whole)
		}
		for _, m := range tags.FindAllString(whole, -1) {
			if !strings.HasPrefix(m, "<span class=\"") && m != "</span>" {
				t.Fatalf("markup %q in %q", m, whole)
			}
		}
	})
}

// BenchmarkJobPageFinishedMegabyteLog measures rendering a finished job's
// 4 MB coloured log (4096 chunks of 1 KiB) in one response.
func BenchmarkJobPageFinishedMegabyteLog(b *testing.B) {
	rs := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	ctx := context.Background()
	q, err := queue.New(rdb, queue.Config{Namespace: "resque", Host: "build-a", LogCap: 10000}, nil)
	if err != nil {
		b.Fatal(err)
	}
	rdb.HSet(ctx, "resque:fleet:job:big", "id", "big", "state", "passed", "queue", "builds")
	line := "\x1b[32mok\x1b[0m " + strings.Repeat("x", 1024-len("\x1b[32mok\x1b[0m \n")) + "\n"
	for range 4096 {
		if err := q.AppendLog(ctx, "big", []byte(line)); err != nil {
			b.Fatal(err)
		}
	}
	s, _ := New(rdb, "resque", Options{})
	h := s.Handler()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/jobs/big", nil))
		if w.Code != 200 || strings.Count(w.Body.String(), `<span class="a32">ok</span>`) != 4096 {
			b.Fatalf("status %d, incomplete log", w.Code)
		}
	}
}
