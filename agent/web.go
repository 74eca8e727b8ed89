// The web subcommand: the fleet dashboard (package web) over the shared Redis
// alone, without running an agent.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/fleet-agent/fleet/agent/internal/web"
)

func init() { commands = append(commands, newWebCmd) }

func newWebCmd(a *app) *cobra.Command {
	var url, ns, listen string
	cmd := &cobra.Command{
		Use:   "web --redis URL [--namespace resque] [--listen 127.0.0.1:8383]",
		Short: "Serve the fleet dashboard from the shared Redis",
		Long: `Web serves read-only Fleet, Queues, Failed and Job pages (with a job's live log) built from Redis alone, and
resque-web compatible Retry/Remove on failed jobs. Mutating forms carry a per-process CSRF
token; there is no login, so listen on loopback (the default) or behind an authenticating proxy.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				return usageError{errors.New("--redis URL is required")}
			}
			opt, err := redis.ParseURL(url)
			if err != nil {
				return usageError{errors.New("--redis: not a redis:// URL")} // the URL may hold a password
			}
			rdb := redis.NewClient(opt)
			defer rdb.Close()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			done, addr, err := serveWeb(ctx, rdb, ns, listen)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Dashboard on http://%s/\n", addr)
			return <-done
		},
	}
	cmd.Flags().StringVar(&url, "redis", "", "Redis URL")
	cmd.Flags().StringVar(&ns, "namespace", "resque", "Resque namespace")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8383", "address to serve on")
	return cmd
}

// serveWeb serves the dashboard for namespace ns on listen until ctx ends;
// done yields nil after a clean shutdown, or the error that stopped it.
// `agent web` and `agent run` (fleet.hcl's web block) both use it.
func serveWeb(ctx context.Context, rdb redis.UniversalClient, ns, listen string) (done <-chan error, addr net.Addr, err error) {
	s, err := web.New(rdb, ns)
	if err != nil {
		return nil, nil, err
	}
	return serveHTTP(ctx, "web", listen, s.Handler())
}
