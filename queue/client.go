// This file holds the queue's configuration, the connection to Redis and the
// Client every other part hangs off.

package queue

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fleet-agent/fleet/internal/secretenv"
)

// PasswordEnv is the environment variable Open reads the Redis password
// from when the URL carries none.
const PasswordEnv = "FLEET_REDIS_PASSWORD"

// Config configures a Client. Zero values take the documented defaults.
type Config struct {
	// URL is the Redis URL: redis://, rediss:// or unix://, with user and password
	// optional. A master_name query parameter selects Sentinel (the URL's
	// host is then a sentinel, more via addr=), extra addr= parameters
	// without master_name select Cluster. Used by Open only.
	URL string
	// Credentials, when set, override the URL's user and password. Used by
	// Open only.
	Credentials Credentials
	// Namespace prefixes every key, joined with ":" as Resque does.
	// Default "resque". On Redis Cluster use a hash tag such as "{resque}"
	// so that a queue and a processing list share a slot.
	Namespace string
	// Host is this build host's name in worker ids. Default os.Hostname().
	// It must not contain ':' (Resque splits worker ids on it).
	Host string
	// PID is the process id in worker ids. Default os.Getpid().
	PID int
	// HeartbeatInterval is how often Run renews the host lease and writes
	// workers:heartbeat. Default 10s.
	HeartbeatInterval time.Duration
	// HostLease is how long the host's lease in <ns>:fleet:leases lasts
	// after a heartbeat. Once it has ended, any live host's Recover hands
	// back the jobs of this host's workers. Default 30s; at least three
	// heartbeats.
	HostLease time.Duration
	// HeartbeatExpiry is how old a heartbeat must be before its worker's
	// processing lists count as orphaned. Default 60s; keep it well under
	// Resque's 300 s prune interval.
	HeartbeatExpiry time.Duration
	// RecoverInterval is how often Run looks for orphaned processing lists.
	// Default HostLease/3.
	RecoverInterval time.Duration
	// FetchBlock is no longer used by Fetch (the host fetcher does not
	// block a connection per slot; see FetchPoll). It is kept, rounded to
	// whole seconds with a minimum of 1s, so that existing configurations
	// still build.
	FetchBlock time.Duration
	// FetchPoll is how often the host fetcher looks at the queues while
	// slots wait and no notification came: it bounds how late a job pushed
	// by a plain Resque client (RPUSH, no notification) or a pause/resume
	// is seen. Jobs from Submit wake the fetcher at once. Default 250ms.
	FetchPoll time.Duration
	// MaxAttempts is how many times a job may be started. A recovery that
	// would start it once more moves it to failed as a poison job instead.
	// Default 3.
	MaxAttempts int
	// OnRecovered, if set, is called once for each job this host took
	// back from a dead worker (poisoned: it went to failed instead), for
	// metrics. It must not block.
	OnRecovered func(poisoned bool)
	// LogCap is how many log chunks a job keeps in Redis. Default 10000.
	LogCap int64
	// Retention is how long a finished job's record and log are kept.
	// Default 7 days.
	Retention time.Duration
	// OutboxDir, when set, is the folder where results (and requeues) that
	// could not be written while Redis was unreachable wait until Run
	// delivers them, also across a restart of the agent. Without it such
	// a result is an error for the caller to handle.
	OutboxDir string
}

func (c Config) withDefaults() (Config, error) {
	if c.Namespace == "" {
		c.Namespace = "resque"
	}
	if c.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			return c, fmt.Errorf("hostname: %w", err)
		}
		c.Host = h
	}
	if err := checkName("host", c.Host); err != nil {
		return c, err
	}
	if c.PID == 0 {
		c.PID = os.Getpid()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.HeartbeatInterval, 10*time.Second)
	def(&c.HeartbeatExpiry, 60*time.Second)
	def(&c.HostLease, 30*time.Second)
	if c.HostLease < 3*c.HeartbeatInterval {
		return c, fmt.Errorf("host lease %s spans fewer than 3 heartbeats of %s", c.HostLease, c.HeartbeatInterval)
	}
	def(&c.RecoverInterval, c.HostLease/3)
	// BLMOVE timeouts are whole seconds on the wire (go-redis rounds
	// anything shorter up to 1s), so 1s is also the minimum.
	c.FetchBlock = max(c.FetchBlock.Round(time.Second), time.Second)
	def(&c.FetchPoll, 250*time.Millisecond)
	def(&c.Retention, 7*24*time.Hour)
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.OnRecovered == nil {
		c.OnRecovered = func(bool) {}
	}
	if c.LogCap <= 0 {
		c.LogCap = 10000
	}
	return c, nil
}

// checkName rejects names that would break Resque's colon-separated worker
// ids or our comma-joined queue lists.
func checkName(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s name is empty", what)
	case strings.ContainsAny(name, ":, \t\n"):
		return fmt.Errorf("%s name %q contains ':', ',' or white space", what, name)
	}
	return nil
}

// Client is the agent's handle on the shared queue. It is safe for
// concurrent use by all slots of a host.
type Client struct {
	rdb  redis.UniversalClient
	cfg  Config
	keys keys
	log  *slog.Logger
	reg  registry
	// fences holds the tokens of the attempts this host runs.
	fences fences
	// health follows the connection (health.go).
	health *health
	// outbox holds results waiting for Redis; nil without Config.OutboxDir.
	outbox *outbox
	// fetcher serves every waiting slot of this Client (hostfetch.go).
	fetcher *fetcher
	// cancels shares one cancel subscription among the jobs watched (cancelhub.go).
	cancels cancelHub
}

// New returns a Client over an existing connection. The caller keeps
// ownership of rdb; New adds a hook to it that watches for connection
// errors (health.go).
func New(rdb redis.UniversalClient, cfg Config, log *slog.Logger) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("queue config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{rdb: rdb, cfg: cfg, keys: keys{ns: cfg.Namespace}, log: log, health: &health{log: log}}
	c.fetcher = newFetcher(c)
	c.cancels.c = c
	if cfg.OutboxDir != "" {
		if c.outbox, err = openOutbox(cfg.OutboxDir, log); err != nil {
			return nil, err
		}
	}
	rdb.AddHook(hook{c.health})
	return c, nil
}

// Open connects to cfg.URL and returns a Client that owns the connection;
// Close releases it.
func Open(cfg Config, log *slog.Logger) (*Client, error) {
	rdb, err := DialWith(cfg.URL, cfg.Credentials)
	if err != nil {
		return nil, err
	}
	c, err := New(rdb, cfg, log)
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	return c, nil
}

// Dial turns a Redis URL into a UniversalClient: a single server (also
// unix:///path/redis.sock), Sentinel
// (query parameter master_name) or Cluster (extra addr= parameters). The
// password comes from the URL, else from $FLEET_REDIS_PASSWORD.
func Dial(rawURL string) (redis.UniversalClient, error) { return dial(rawURL, "", "", true) }

// dial is Dial with a user and password (when not empty) that replace the
// URL's; envPassword says whether $FLEET_REDIS_PASSWORD fills a missing one.
func dial(rawURL, user, pw string, envPassword bool) (redis.UniversalClient, error) {
	if rawURL == "" {
		return nil, errors.New("redis url: empty")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, urlError(err)
	}
	switch u.Scheme {
	case "redis", "rediss":
	case "unix":
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", err)
		}
		if o.Password == "" && envPassword {
			o.Password = secretenv.Take(PasswordEnv)
		}
		setAuth(&o.Username, &o.Password, user, pw)
		return redis.NewClient(o), nil
	default:
		return nil, fmt.Errorf("redis url: scheme %q, want redis, rediss or unix", u.Scheme)
	}
	if _, ok := u.User.Password(); !ok && envPassword {
		if pw := secretenv.Take(PasswordEnv); pw != "" {
			name := ""
			if u.User != nil {
				name = u.User.Username()
			}
			u.User = url.UserPassword(name, pw)
		}
	}
	q := u.Query()
	switch {
	case q.Get("master_name") != "":
		o, err := redis.ParseFailoverURL(u.String())
		if err != nil {
			return nil, fmt.Errorf("redis sentinel url: %w", err)
		}
		// In a sentinel URL the user info authenticates against sentinels;
		// the master usually shares the password.
		o.Username, o.Password = o.SentinelUsername, o.SentinelPassword
		setAuth(&o.Username, &o.Password, user, pw)
		setAuth(&o.SentinelUsername, &o.SentinelPassword, user, pw)
		return redis.NewFailoverClient(o), nil
	case len(q["addr"]) > 0:
		o, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, fmt.Errorf("redis cluster url: %w", err)
		}
		setAuth(&o.Username, &o.Password, user, pw)
		return redis.NewClusterClient(o), nil
	default:
		o, err := redis.ParseURL(u.String())
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", err)
		}
		setAuth(&o.Username, &o.Password, user, pw)
		return redis.NewClient(o), nil
	}
}

// Close stops the host fetcher (a Fetch still waiting returns an error)
// and closes the Redis connection.
func (c *Client) Close() error {
	c.fetcher.stop()
	return c.rdb.Close()
}

// Redis returns the underlying connection, for callers that need a raw
// command (tests, `agent status`).
func (c *Client) Redis() redis.UniversalClient { return c.rdb }

// Config returns the effective configuration, defaults filled in.
func (c *Client) Config() Config { return c.cfg }
