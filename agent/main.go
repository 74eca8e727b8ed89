// Command agent is the fleet agent: it turns a build host into a pool of clean, sandboxed CI build
// VMs described by fleet.hcl. This file wires the CLI; each subcommand lives in a file of its own.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fleet-agent/fleet/internal/secretenv"
	"github.com/fleet-agent/fleet/queue"
)

// Exit codes shared by every subcommand. They are part of the CLI's contract and documented in the README.
const (
	exitOK      = 0 // success; for `plan --detailed-exitcode`, no changes
	exitError   = 1 // an error, or an invalid fleet.hcl
	exitChanges = 2 // `plan --detailed-exitcode`: the plan has changes
	exitUsage   = 64
)

// exitCodeError asks main to exit with code after printing nothing more: the command has already said
// what went wrong.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI with args and returns the process exit code. Tests call it directly.
func run(args []string, stdout, stderr io.Writer) int {
	// Before anything starts a child process: the queue's password in the environment stays
	// in memory only, so VBoxManage, qemu-system, passt and the rest never inherit it (a
	// queue { password_env } variable is taken the same way when fleet.hcl is loaded).
	secretenv.Take(queue.PasswordEnv)
	a := &app{stdout: stdout, stderr: stderr}
	root := a.rootCmd()
	root.SetArgs(terraformFlags(args))
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ec exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		fmt.Fprintf(stderr, "agent: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "agent: %v\n", err)
	return exitError
}

// usageError marks a wrong invocation (bad flag, missing argument) so it exits with exitUsage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// app holds what every subcommand shares: the output streams, global flags and the logger built
// from them. Fields are set by cobra's flag parsing before any RunE runs.
type app struct {
	stdout, stderr io.Writer

	configPath string // -c/--config; empty means the default search (see configFile)
	logLevel   string // --log-level
	logFormat  string // --log-format
	diagsJSON  bool   // plan --json: fleet.hcl diagnostics go to stdout as JSON (validate_json.go)
}

// commands lists the subcommand constructors. Each subcommand file adds itself here in an init
// function, so files can be added without touching this one.
var commands []func(*app) *cobra.Command

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "agent",
		Short: "The fleet agent: a declarative host agent for sandboxed CI build VMs",
		Long: `The fleet agent reads fleet.hcl, makes VirtualBox on this host match it (boxes, a golden image
per pool provisioned once with chef-solo, workers as linked clones), and runs CI jobs from a
Resque-compatible Redis queue, each in a clean VM that is rolled back afterwards.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nRun '%s --help' for usage.", err, c.CommandPath())}
	})
	pf := root.PersistentFlags()
	pf.StringVarP(&a.configPath, "config", "c", "", "fleet.hcl file or folder of *.hcl files (default ./fleet.hcl, then /etc/fleet/fleet.hcl)")
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	pf.StringVar(&a.logFormat, "log-format", "auto", "log format: auto (text on a terminal, JSON otherwise), text, json")
	for _, mk := range commands {
		root.AddCommand(mk(a))
	}
	return root
}

// defaultConfigPaths are tried in order when -c is not given.
var defaultConfigPaths = []string{"fleet.hcl", "/etc/fleet/fleet.hcl"}

// configFile returns the fleet.hcl path to load: -c if given, else the first default that exists.
func (a *app) configFile() (string, error) {
	if a.configPath != "" {
		return a.configPath, nil
	}
	for _, p := range defaultConfigPaths {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no fleet.hcl found (tried %v); pass -c FILE", defaultConfigPaths)
}

// terraformFlags accepts Terraform's single-dash spelling of -replace (`agent plan
// -replace=ruby-3`), which pflag would read as a run of shorthand flags.
func terraformFlags(args []string) []string {
	out := make([]string, len(args))
	for i, arg := range args {
		if arg == "-replace" || strings.HasPrefix(arg, "-replace=") {
			arg = "-" + arg
		}
		out[i] = arg
	}
	return out
}
