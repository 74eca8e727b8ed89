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
	"github.com/fleet-agent/fleet/internal/secretfile"
)

func init() { commands = append(commands, newWebCmd) }

func newWebCmd(a *app) *cobra.Command {
	var url, ns, listen, authFile string
	var readOnly bool
	cmd := &cobra.Command{
		Use:   "web --redis URL [--namespace resque] [--listen 127.0.0.1:8383] [--auth-file FILE] [--read-only]",
		Short: "Serve the fleet dashboard from the shared Redis",
		Long: `Web serves the Fleet, Queues, Failed and Job pages (with a job's live log) built from Redis alone.
Reading needs no login, so listen on loopback (the default) or behind an authenticating proxy.

Changing anything (resque-web compatible Retry and Remove on failed jobs) needs the token held
in --auth-file (one line; give it as the basic-auth password, any user name, or as a bearer
token) and a POST carrying the page's CSRF token. Without --auth-file, or with --read-only,
the dashboard changes nothing.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				return usageError{errors.New("--redis URL is required")}
			}
			opt, err := redis.ParseURL(url)
			if err != nil {
				return usageError{errors.New("--redis: not a redis:// URL")} // the URL may hold a password
			}
			opts := web.Options{ReadOnly: readOnly}
			if authFile != "" {
				if opts.Token, err = secretfile.Read(authFile); err != nil {
					return usageError{fmt.Errorf("--auth-file: %w", err)}
				}
			}
			rdb := redis.NewClient(opt)
			defer rdb.Close()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			done, addr, err := serveWeb(ctx, rdb, ns, listen, opts)
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
	cmd.Flags().StringVar(&authFile, "auth-file", "", "file holding the token that enables Retry and Remove")
	cmd.Flags().BoolVar(&readOnly, "read-only", false, "refuse every change, even with the token")
	return cmd
}

// serveWeb serves the dashboard for namespace ns on listen until ctx ends;
// done yields nil after a clean shutdown, or the error that stopped it.
// `agent web` and `agent run` (fleet.hcl's web block) both use it.
func serveWeb(ctx context.Context, rdb redis.UniversalClient, ns, listen string, opts web.Options) (done <-chan error, addr net.Addr, err error) {
	s, err := web.New(rdb, ns, opts)
	if err != nil {
		return nil, nil, err
	}
	return serveHTTP(ctx, "web", listen, s.Handler())
}
