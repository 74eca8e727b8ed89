// The web subcommand: the fleet dashboard (package web) over the shared Redis
// alone, without running an agent.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

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
		Long: `Web serves read-only Fleet, Queues and Failed pages built from Redis alone, and
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
			s, err := web.New(rdb, ns)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("web: listen %s: %w", listen, err)
			}
			srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
			fmt.Fprintf(a.stdout, "Dashboard on http://%s/\n", ln.Addr())
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			select {
			case err := <-done:
				return fmt.Errorf("web: serve: %w", err)
			case <-ctx.Done():
			}
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = srv.Shutdown(sctx)
			<-done
			return err
		},
	}
	cmd.Flags().StringVar(&url, "redis", "", "Redis URL")
	cmd.Flags().StringVar(&ns, "namespace", "resque", "Resque namespace")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8383", "address to serve on")
	return cmd
}
