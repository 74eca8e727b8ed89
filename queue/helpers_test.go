package queue

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// testEnv is one redis-server and a raw client on it.
type testEnv struct {
	srv *redistest.Server
	rdb *redis.Client
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	srv := redistest.Start(t)
	return &testEnv{srv: srv, rdb: srv.Client(t)}
}

// client returns a queue Client on e with test-friendly defaults; cfg
// fields that are set win.
func (e *testEnv) client(t testing.TB, cfg Config) *Client {
	t.Helper()
	if cfg.Host == "" {
		cfg.Host = "build-01"
	}
	c, err := New(e.rdb, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	return c
}

// slot makes and registers a slot, unregistering it in cleanup.
func (e *testEnv) slot(t testing.TB, c *Client, name string, queues ...string) *Slot {
	t.Helper()
	s, err := c.NewSlot(name, queues)
	if err != nil {
		t.Fatalf("new slot: %v", err)
	}
	if err := s.Register(context.Background()); err != nil {
		t.Fatalf("register: %v", err)
	}
	return s
}

func testArgs(id string) Args {
	return Args{
		ID:         id,
		Repository: Repository{Slug: "svenfuchs/gem-release", URL: "https://github.com/svenfuchs/gem-release.git"},
		Commit:     "8f0daa714530956a44197f1effe924b332241244",
		Branch:     "master",
		Env:        []string{"FOO=bar"},
		Script:     []string{"bundle install", "bundle exec rake"},
	}
}

// rawPush RPUSHes a payload as any Resque client would.
func (e *testEnv) rawPush(t testing.TB, q, payload string) {
	t.Helper()
	ctx := context.Background()
	if err := e.rdb.SAdd(ctx, "resque:queues", q).Err(); err != nil {
		t.Fatal(err)
	}
	if err := e.rdb.RPush(ctx, "resque:queue:"+q, payload).Err(); err != nil {
		t.Fatal(err)
	}
}

func (e *testEnv) submit(t testing.TB, c *Client, q, id string) Args {
	t.Helper()
	a, err := c.Submit(context.Background(), q, testArgs(id))
	if err != nil {
		t.Fatalf("submit %s: %v", id, err)
	}
	return a
}

func fetchCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
