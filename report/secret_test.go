package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/queue"
)

const (
	secretToken    = "tok-S3CR3T-9f1d"
	secretPassword = "pw-S3CR3T-77aa"
	secretQuery    = "q-S3CR3T-c0de"
	secretHMAC     = "hmac-S3CR3T-5eed"
)

var secrets = []string{secretToken, secretPassword, secretQuery, secretHMAC}

// syncBuffer is a bytes.Buffer safe for a logger shared by goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestSecretsNeverLogged runs reporters with credentials in every place a
// config may hold them through retries, refusals, an unreachable receiver
// and a failed Close, capturing every log line at debug level, every error
// and every printed form of the config, and scans all of it.
func TestSecretsNeverLogged(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	jsonLog := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var texts []string

	// A TLS receiver: 500 twice, a 400, then fine.
	var n int
	var nmu sync.Mutex
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nmu.Lock()
		n++
		k := n
		nmu.Unlock()
		switch {
		case k <= 2:
			w.WriteHeader(http.StatusInternalServerError)
		case k == 3:
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	t.Cleanup(tls.Close)
	host := strings.TrimPrefix(tls.URL, "https://")
	cfg := fastConfig(fmt.Sprintf("https://user:%s@%s/hook?key=%s", secretPassword, host, secretQuery))
	cfg.Token = secretToken
	cfg.Secret = secretHMAC
	cfg.Client = tls.Client()

	log.Info("config", "report", cfg)
	jsonLog.Info("config", "report", cfg)
	texts = append(texts, fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg))

	r, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	texts = append(texts, r.String())
	runReporter(t, r)
	runJob(r, "job-1", 4)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Unreachable receiver with credentials in the URL only, no Token.
	down := Config{Name: "down", URL: fmt.Sprintf("http://user:%s@127.0.0.1:1/hook?token=%s", secretPassword, secretQuery),
		MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
	d, err := New(down, jsonLog)
	if err != nil {
		t.Fatal(err)
	}
	d.Received(testJob("job-2"))
	d.Finished("job-2", Finish{Result: queue.StatePassed})
	dctx, dcancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer dcancel()
	err = d.Close(dctx)
	if err == nil {
		t.Fatal("Close of an unreachable receiver = nil, want an error")
	}
	texts = append(texts, err.Error())
	log.Error("close failed", "err", err)

	// Invalid URLs that carry a password: New's errors must not quote them.
	for _, bad := range []string{
		"https://user:" + secretPassword + "@host:port99/x",
		"ftp://user:" + secretPassword + "@host/x",
		"https://user:" + secretPassword + "@ho st/\x7f",
	} {
		_, err := New(Config{URL: bad, Token: secretToken}, log)
		if !errors.Is(err, ErrConfig) {
			t.Errorf("New(invalid url) = %v, want ErrConfig", err)
			continue
		}
		texts = append(texts, err.Error())
	}

	all := logs.String() + strings.Join(texts, "\n")
	for _, want := range []string{"report_delivery_failed", "report_event_rejected", "report_undelivered", "[redacted]"} {
		if !strings.Contains(all, want) {
			t.Errorf("captured output lacks %q: the scan did not see the paths it must check", want)
		}
	}
	for _, s := range secrets {
		for i, line := range strings.Split(all, "\n") {
			if strings.Contains(line, s) {
				t.Errorf("line %d leaks %q: %s", i+1, s, line)
			}
		}
	}
}

func TestRedactedURL(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"plain", "https://ci.example.org/hooks/fleet", "https://ci.example.org/hooks/fleet"},
		{"user and password", "https://u:p@ci.example.org/h", "https://ci.example.org/h"},
		{"token in query", "http://ci.example.org:8080/h?token=x&a=b", "http://ci.example.org:8080/h?redacted"},
		{"unparsable", "https://u:p@ci example/%zz", "[invalid url]"},
		{"no host", "p@ss", "[invalid url]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Config{URL: tt.url}).RedactedURL(); got != tt.want {
				t.Errorf("RedactedURL(%q) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}
}
