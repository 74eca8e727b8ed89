// The submit subcommand: enqueue one build job in the docs/JOBS.md format, for operators and the
// demo. It also holds openQueue, which submit and logs share.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/spec"
)

func init() { commands = append(commands, newSubmitCmd) }

// queueFlags select the Redis queue without a fleet.hcl: --redis wins over the file.
type queueFlags struct {
	redis, namespace string
}

func (f *queueFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.redis, "redis", "", "Redis URL (default: the queue block of fleet.hcl)")
	cmd.Flags().StringVar(&f.namespace, "namespace", "", `Resque namespace (default: fleet.hcl's, else "resque")`)
}

// openQueue connects to the queue named by --redis, else by fleet.hcl's queue block.
func (a *app) openQueue(f queueFlags) (*queue.Client, error) {
	cfg := queue.Config{URL: f.redis, Namespace: f.namespace}
	if cfg.URL == "" {
		path, err := a.configFile()
		if err != nil {
			return nil, usageError{fmt.Errorf("%w, or pass --redis URL", err)}
		}
		fleet, diags := spec.Load(path)
		if diags.HasErrors() {
			return nil, fmt.Errorf("%s is invalid (run 'agent validate'): %s", path, diags.Error())
		}
		cfg.URL = fleet.Queue.Redis
		cfg.Credentials = queueCredentials(fleet.Queue.Credentials)
		if cfg.Namespace == "" {
			cfg.Namespace = fleet.Queue.Namespace
		}
		cfg.Host = fleet.Host.Name
	}
	log, err := newLogger(a.stderr, a.logLevel, a.logFormat)
	if err != nil {
		return nil, err
	}
	return queue.Open(cfg, log)
}

func newSubmitCmd(a *app) *cobra.Command {
	var (
		qf         queueFlags
		q          string
		args       queue.Args
		timeout    time.Duration
		logSilence time.Duration
		follow     bool
	)
	cmd := &cobra.Command{
		Use:   "submit --repo OWNER/NAME --url CLONE_URL --commit SHA -s STEP [-s STEP...]",
		Short: "Enqueue a build job and print its id",
		Long: `Submit validates a build job, records it as queued and pushes it to a Resque queue exactly as
any Resque client would (docs/JOBS.md describes the payload). It prints the job id; with
--follow it then streams the job's log until it ends and exits 0 only if it passed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if args.ID == "" {
				args.ID = queue.NewJobID(time.Now())
			}
			args.Timeout = queue.Duration(timeout)
			args.LogSilence = queue.Duration(logSilence)
			if err := args.Validate(); err != nil {
				return usageError{err}
			}
			c, err := a.openQueue(qf)
			if err != nil {
				return err
			}
			defer c.Close()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			got, err := c.Submit(ctx, q, args)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, got.ID)
			if !follow {
				return nil
			}
			return followJob(ctx, a, c, got.ID, true)
		},
	}
	qf.add(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&q, "queue", "q", "builds", "queue to push the job to")
	fl.StringVar(&args.ID, "id", "", "job id (default: a new time-based id)")
	fl.StringVar(&args.Repository.Slug, "repo", "", "repository slug, owner/name")
	fl.StringVar(&args.Repository.URL, "url", "", "clone URL")
	fl.StringVar(&args.Commit, "commit", "", "commit to check out (hex)")
	fl.StringVar(&args.Branch, "branch", "", "branch the commit is on")
	fl.StringArrayVarP(&args.Env, "env", "e", nil, "NAME=value for every step (repeatable)")
	fl.StringArrayVarP(&args.Script, "script", "s", nil, "shell step (repeatable, run in order)")
	fl.DurationVar(&timeout, "timeout", 0, "hard job timeout (default: the pool's)")
	fl.DurationVar(&logSilence, "log-silence", 0, "log-silence timeout (default: the pool's)")
	fl.BoolVarP(&follow, "follow", "f", false, "stream the job's log until it ends")
	return cmd
}
