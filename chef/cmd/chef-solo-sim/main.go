// Command chef-solo-sim is the VirtualBox simulator's stand-in for chef-solo, put into simulator
// boxes with `vboxsim make-box --bin`. It runs no real Chef. It reads the same files chef-solo
// reads (-c solo.rb, -j node.json), checks that every run-list recipe exists in the cookbook
// folders solo.rb names, follows unconditional literal `include_recipe` lines, and "converges"
// a tiny subset of Chef: `log "text"`, `execute "shell command"` (run with sh) and `raise
// "message"` (a compile error). Failures are printed the way Chef 11 prints them, and it exits
// 1. Every run is recorded as a JSON line (see package chefsim) so that tests can check what a
// golden image was provisioned with.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/fleet-agent/fleet/chef/chefsim"
)

const banner = "Starting Chef Client, version 11.8.2 (chef-solo-sim: the fleet VirtualBox simulator's stand-in, no real Chef runs)"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// chefFailure is a failure printed as Chef prints it: a boxed title, the exception class and
// message, then a FATAL log line.
type chefFailure struct {
	title, class, message, detail, logLine string
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chef-solo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var config, jsonPath, logLevel, format string
	var version, noColor, forceFormatter, legacy, local bool
	for _, n := range []string{"c", "config"} {
		fs.StringVar(&config, n, "/etc/chef/solo.rb", "the solo.rb to read")
	}
	for _, n := range []string{"j", "json-attributes"} {
		fs.StringVar(&jsonPath, n, "", "the node JSON to read")
	}
	for _, n := range []string{"l", "log_level"} {
		fs.StringVar(&logLevel, n, "info", "ignored")
	}
	for _, n := range []string{"F", "format"} {
		fs.StringVar(&format, n, "", "ignored")
	}
	for _, n := range []string{"v", "version"} {
		fs.BoolVar(&version, n, false, "print the version")
	}
	fs.BoolVar(&noColor, "no-color", false, "ignored")
	fs.BoolVar(&forceFormatter, "force-formatter", false, "ignored")
	fs.BoolVar(&legacy, "legacy-mode", false, "ignored")
	fs.BoolVar(&local, "local-mode", false, "ignored")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if version {
		fmt.Fprintln(stdout, "Chef: 11.8.2 (chef-solo-sim)")
		return 0
	}
	fmt.Fprintln(stdout, banner)

	rec := chefsim.Run{Config: config, JSON: jsonPath, User: firstNonEmpty(os.Getenv("SUDO_USER"), os.Getenv("USER"))}
	fail := converge(&rec, config, jsonPath, stdout)
	if fail == nil {
		rec.OK = true
	} else {
		rec.Error = fail.class + ": " + fail.message
		printFailure(stdout, fail)
	}
	if err := record(rec); err != nil {
		fmt.Fprintf(stderr, "chef-solo-sim: record run: %v\n", err)
		return 1
	}
	if fail != nil {
		return 1
	}
	return 0
}

func converge(rec *chefsim.Run, config, jsonPath string, out io.Writer) *chefFailure {
	paths, err := cookbookPath(config)
	if err != nil {
		return &chefFailure{title: "Configuration Error", class: "Chef::Exceptions::ConfigurationError", message: err.Error()}
	}
	rec.CookbookPath = paths
	node, err := readNode(jsonPath)
	if err != nil {
		return &chefFailure{title: "Configuration Error", class: "Chef::Exceptions::JSON::ParseError", message: err.Error()}
	}
	rec.RunList, rec.Attributes = node.runList, node.attrs
	logf(out, "INFO", "Run List is [%s]", strings.Join(node.runList, ", "))
	fmt.Fprintln(out, "Compiling Cookbooks...")

	c := compiler{paths: paths, seen: map[string]bool{}}
	for _, item := range node.runList {
		name, ok := strings.CutPrefix(item, "recipe[")
		if ok {
			name = strings.TrimSuffix(name, "]")
		} else if strings.HasPrefix(item, "role[") {
			return &chefFailure{title: "Run List Error", class: "Chef::Exceptions::RoleNotFound", message: "chef-solo-sim does not expand roles: " + item}
		}
		if f := c.load(name); f != nil {
			return f
		}
	}
	rec.Applied = c.order
	fmt.Fprintf(out, "Converging %d recipes\n", len(c.order))
	for _, r := range c.order {
		if f := c.apply(r, out); f != nil {
			return f
		}
	}
	fmt.Fprintln(out, "Chef Client finished (chef-solo-sim)")
	return nil
}

// cookbookPath reads cookbook_path from solo.rb: string literals, and `File.join(root, "x")`
// where root is the folder solo.rb is in (how fleet writes it).
func cookbookPath(config string) ([]string, error) {
	src, err := os.ReadFile(config)
	if err != nil {
		return nil, fmt.Errorf("cannot read config %s: %v", config, err)
	}
	root, _ := filepath.Abs(filepath.Dir(config))
	item := regexp.MustCompile(`File\.join\(\s*root\s*,\s*["']([^"']+)["']\s*\)|["']([^"']+)["']`)
	for _, line := range strings.Split(string(src), "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cookbook_path")
		if !ok {
			continue
		}
		var paths []string
		for _, m := range item.FindAllStringSubmatch(rest, -1) {
			if m[1] != "" {
				paths = append(paths, filepath.Join(root, m[1]))
			} else {
				paths = append(paths, m[2])
			}
		}
		return paths, nil
	}
	return nil, fmt.Errorf("%s sets no cookbook_path", config)
}

type node struct {
	runList []string
	attrs   map[string]any
}

func readNode(path string) (node, error) {
	if path == "" {
		return node{}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return node{}, err
	}
	var attrs map[string]any
	if err := json.Unmarshal(b, &attrs); err != nil {
		return node{}, fmt.Errorf("%s: %v", path, err)
	}
	var n node
	if rl, ok := attrs["run_list"].([]any); ok {
		for _, v := range rl {
			s, ok := v.(string)
			if !ok {
				return node{}, fmt.Errorf("%s: run_list holds %v, not a string", path, v)
			}
			n.runList = append(n.runList, s)
		}
	}
	delete(attrs, "run_list")
	n.attrs = attrs
	return n, nil
}

// compiler expands the run list into recipes in converge order, as Chef's compile phase does.
type compiler struct {
	paths []string
	seen  map[string]bool
	order []string
	files map[string]string // cookbook::recipe -> file
}

var includeLine = regexp.MustCompile(`^\s*include_recipe\s*\(?\s*["']([^"'#]+)["']\s*\)?\s*$`)

func (c *compiler) load(name string) *chefFailure {
	cb, rec, found := strings.Cut(name, "::")
	if !found {
		rec = "default"
	}
	key := cb + "::" + rec
	if c.seen[key] {
		return nil
	}
	c.seen[key] = true
	dir := ""
	for _, p := range c.paths {
		if st, err := os.Stat(filepath.Join(p, cb)); err == nil && st.IsDir() {
			dir = filepath.Join(p, cb)
			break
		}
	}
	if dir == "" {
		msg := fmt.Sprintf("Cookbook %s not found. If you're loading %s from another cookbook, make sure you configure the dependency in your metadata", cb, cb)
		return &chefFailure{title: "Recipe Compile Error", class: "Chef::Exceptions::CookbookNotFound", message: msg}
	}
	file := filepath.Join(dir, "recipes", rec+".rb")
	src, err := os.ReadFile(file)
	if err != nil {
		msg := fmt.Sprintf("could not find recipe %s for cookbook %s", rec, cb)
		return &chefFailure{title: "Recipe Compile Error", class: "Chef::Exceptions::RecipeNotFound", message: msg}
	}
	if c.files == nil {
		c.files = map[string]string{}
	}
	c.files[key] = file
	for i, line := range strings.Split(string(src), "\n") {
		if m := raiseLine.FindStringSubmatch(line); m != nil {
			return &chefFailure{
				title: "Recipe Compile Error in " + file, class: "RuntimeError", message: m[1],
				detail: fmt.Sprintf("Cookbook Trace:\n---------------\n  %s:%d:in `from_file'", file, i+1),
			}
		}
		if m := includeLine.FindStringSubmatch(line); m != nil {
			if f := c.load(m[1]); f != nil {
				return f
			}
		}
	}
	c.order = append(c.order, key)
	return nil
}

var (
	raiseLine   = regexp.MustCompile(`^\s*raise\s+["']([^"']*)["']\s*$`)
	logLine     = regexp.MustCompile(`^\s*log\s+["']([^"']*)["']\s*$`)
	executeLine = regexp.MustCompile(`^\s*execute\s+"((?:[^"\\]|\\.)*)"\s*$`)
)

// apply converges one recipe's log and execute resources, in order.
func (c *compiler) apply(key string, out io.Writer) *chefFailure {
	file := c.files[key]
	fmt.Fprintf(out, "Recipe: %s\n", key)
	src, err := os.ReadFile(file)
	if err != nil {
		return &chefFailure{title: "Recipe Compile Error", class: "Errno::ENOENT", message: err.Error()}
	}
	for i, line := range strings.Split(string(src), "\n") {
		if m := logLine.FindStringSubmatch(line); m != nil {
			fmt.Fprintf(out, "  * log[%s] action write\n", m[1])
			logf(out, "INFO", "%s", m[1])
			continue
		}
		m := executeLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		command := strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(m[1])
		fmt.Fprintf(out, "  * execute[%s] action run\n", command)
		cmd := exec.Command("sh", "-c", command)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Run(); err != nil {
			code := -1
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			msg := fmt.Sprintf("Expected process to exit with [0], but received '%d'", code)
			return &chefFailure{
				title:   fmt.Sprintf("Error executing action `run` on resource 'execute[%s]'", command),
				class:   "Mixlib::ShellOut::ShellCommandFailed",
				message: msg,
				detail:  fmt.Sprintf("Resource Declaration:\n---------------------\n# In %s\n\n %d: %s", file, i+1, strings.TrimSpace(line)),
				logLine: fmt.Sprintf("execute[%s] (%s line %d) had an error: Mixlib::ShellOut::ShellCommandFailed: %s", command, key, i+1, msg),
			}
		}
		fmt.Fprintf(out, "    - execute %s\n", command)
	}
	return nil
}

func printFailure(out io.Writer, f *chefFailure) {
	rule := strings.Repeat("=", 80)
	fmt.Fprintf(out, "\n%s\n%s\n%s\n\n%s\n%s\n%s\n", rule, f.title, rule, f.class, strings.Repeat("-", len(f.class)), f.message)
	if f.detail != "" {
		fmt.Fprintf(out, "\n%s\n", f.detail)
	}
	fmt.Fprintln(out)
	if f.logLine != "" {
		logf(out, "ERROR", "%s", f.logLine)
	}
	logf(out, "FATAL", "Stacktrace dumped to /var/chef/cache/chef-stacktrace.out (chef-solo-sim writes none)")
	logf(out, "FATAL", "%s: %s", f.class, f.message)
}

func logf(out io.Writer, level, format string, args ...any) {
	fmt.Fprintf(out, "[%s] %s: %s\n", time.Now().UTC().Format(time.RFC3339), level, fmt.Sprintf(format, args...))
}

// record appends the run to the record file (see chefsim.RecordRel).
func record(r chefsim.Run) error {
	path := os.Getenv("CHEF_SOLO_SIM_RECORD")
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		path = chefsim.RecordPath(filepath.Dir(filepath.Dir(exe)))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	w.Write(append(b, '\n'))
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
