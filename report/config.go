// This file holds a reporter's configuration: the receiver, its credentials,
// the limits with their defaults, and the redaction that keeps credentials
// out of logs, errors and status output.

package report

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Defaults for the zero values of Config's limits.
const (
	DefaultQueueEvents    = 1024
	DefaultQueueBytes     = 16 << 20
	DefaultBatchBytes     = 64 << 10
	DefaultBatchInterval  = time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultMinBackoff     = 500 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultSenders        = 4
)

// ErrConfig is wrapped by every error New returns for an unusable Config.
var ErrConfig = errors.New("invalid reporter config")

// Config describes one HTTP receiver (one `report "http"` block of
// fleet.hcl). Its String and LogValue never show a credential.
type Config struct {
	// Name labels the reporter in logs; default "http".
	Name string
	// URL is the http or https endpoint every event is POSTed to. A
	// user:password in it is sent as basic auth when Token is empty.
	URL string
	// Token is sent as "Authorization: Bearer <token>" when not empty.
	Token string
	// Secret is the HMAC-SHA256 key that signs each body. Default: Token,
	// else the URL's password. With no key at all bodies are not signed.
	Secret string

	// QueueEvents bounds the events waiting for delivery; default 1024.
	QueueEvents int
	// QueueBytes bounds the bytes of log data waiting; default 16 MiB.
	QueueBytes int
	// BatchBytes is the most log data in one log event; default 64 KiB.
	BatchBytes int
	// BatchInterval is how long log output waits for more before it is
	// sent, so a job makes at most one log request per interval unless
	// BatchBytes fills first; default 1s.
	BatchInterval time.Duration
	// RequestTimeout bounds one delivery attempt; default 10s.
	RequestTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts to deliver
	// one event; the wait doubles from MinBackoff up to MaxBackoff, and a
	// random half of it is jitter. Defaults 500ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// Senders is how many job runs are delivered concurrently; default 4.
	Senders int
	// Client sends the requests. Default: a client that does not follow
	// redirects (a redirect is not a delivery).
	Client *http.Client
	// OnDrop, when set, is called with the kind of every event dropped
	// because the queue was full (the agent counts them in its metrics). It
	// runs under the reporter's lock and must not block. Live.Update does not
	// compare it: a reporter whose other settings are unchanged is kept.
	OnDrop func(kind string)
}

// withDefaults returns c with every zero limit replaced by its default.
func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = "http"
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.QueueEvents, DefaultQueueEvents)
	def(&c.QueueBytes, DefaultQueueBytes)
	def(&c.BatchBytes, DefaultBatchBytes)
	def(&c.Senders, DefaultSenders)
	defDur(&c.BatchInterval, DefaultBatchInterval)
	defDur(&c.RequestTimeout, DefaultRequestTimeout)
	defDur(&c.MinBackoff, DefaultMinBackoff)
	defDur(&c.MaxBackoff, DefaultMaxBackoff)
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = c.MinBackoff
	}
	if c.Client == nil {
		c.Client = &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return c
}

// parseURL checks c.URL. Its errors never quote the URL, which may hold a
// password.
func (c Config) parseURL() (*url.URL, error) {
	if c.URL == "" {
		return nil, fmt.Errorf("report %s: url: required: %w", c.Name, ErrConfig)
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the whole URL
		}
		return nil, fmt.Errorf("report %s: url: %v: %w", c.Name, err, ErrConfig)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("report %s: url: scheme %q, want http or https: %w", c.Name, u.Scheme, ErrConfig)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("report %s: url: no host: %w", c.Name, ErrConfig)
	}
	return u, nil
}

// signingKey is Secret, else Token, else the URL's password.
func (c Config) signingKey(u *url.URL) []byte {
	switch {
	case c.Secret != "":
		return []byte(c.Secret)
	case c.Token != "":
		return []byte(c.Token)
	}
	if u != nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			return []byte(p)
		}
	}
	return nil
}

// RedactedURL returns c.URL without user information and with any query
// replaced by "redacted", fit for logs and status output.
func (c Config) RedactedURL() string {
	return redactURL(c.URL)
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "[invalid url]"
	}
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	if u.RawQuery != "" || u.ForceQuery {
		r.RawQuery = "redacted"
	}
	return r.String()
}

func redacted(s string) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// String describes c without credentials.
func (c Config) String() string {
	return fmt.Sprintf("report %q url=%s token=%s secret=%s",
		c.Name, c.RedactedURL(), redacted(c.Token), redacted(c.Secret))
}

// LogValue implements slog.LogValuer so that a logged Config shows no
// credentials.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", c.Name),
		slog.String("url", c.RedactedURL()),
		slog.String("token", redacted(c.Token)),
		slog.String("secret", redacted(c.Secret)),
	)
}

// GoString keeps %#v from printing the credentials field by field.
func (c Config) GoString() string {
	return "report.Config{" + c.String() + "}"
}
