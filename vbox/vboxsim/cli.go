// This file is the simulator's entry point: it dispatches VBoxManage argv to
// the command handlers and holds the helpers they share (option parsing,
// latency, fault checks, the per-operation session lock).

package vboxsim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Version is what `vboxsim --version` prints (a real 7.0 release) unless VBOXSIM_VERSION
// names another (version.go).
const Version = "7.0.14r161095"

// cli is one invocation of the simulator.
type cli struct {
	store  *Store
	out    io.Writer
	errw   io.Writer
	prof   Profile
	faults []Fault
	pid    int
}

// Main runs the simulator with VBoxManage's argv (without the program name)
// and returns the process exit code. Environment: VBOXSIM_HOME (required
// for every command but --version and make-box) and VBOXSIM_PROFILE.
func Main(args []string, stdout, stderr io.Writer) int {
	c := &cli{out: stdout, errw: stderr, pid: os.Getpid()}
	err := c.run(args)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		io.WriteString(stderr, ee.stderr)
		return ee.code
	}
	fmt.Fprintf(stderr, "%s%v\n", prefix, err)
	return 1
}

func (c *cli) run(args []string) error {
	for len(args) > 0 && (args[0] == "-q" || args[0] == "--nologo") {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintf(c.out, "Oracle VM VirtualBox Command Line Management Interface Version %s\n\nUsage: VBoxManage <command> ...\n", shortVersion())
		return nil
	}
	switch args[0] {
	case "--version", "-v", "-V", "-version":
		c.prof, _ = LoadProfile(os.Getenv("VBOXSIM_PROFILE"))
		c.sleep("version")
		fmt.Fprintln(c.out, simVersion())
		return nil
	case "make-box":
		return c.makeBox(args[1:])
	case "__exec":
		return execMain(args[1:])
	}
	home := os.Getenv("VBOXSIM_HOME")
	if home == "" {
		return errors.New("VBOXSIM_HOME is not set: the simulator keeps its VirtualBox state in that directory")
	}
	if err := os.MkdirAll(home, 0o755); err != nil {
		return fmt.Errorf("create VBOXSIM_HOME: %w", err)
	}
	c.store = &Store{Home: home}
	prof, err := LoadProfile(os.Getenv("VBOXSIM_PROFILE"))
	if err != nil {
		return err
	}
	c.prof = prof
	if c.faults, err = loadFaults(home); err != nil {
		return err
	}
	handlers := map[string]func([]string) error{
		"list":          c.list,
		"showvminfo":    c.showVMInfo,
		"createvm":      c.createVM,
		"unregistervm":  c.unregisterVM,
		"modifyvm":      c.modifyVM,
		"setextradata":  c.setExtraData,
		"getextradata":  c.getExtraData,
		"guestproperty": c.guestProperty,
		"startvm":       c.startVM,
		"controlvm":     c.controlVM,
		"snapshot":      c.snapshot,
		"clonevm":       c.cloneVM,
		"import":        c.importBox,
		"export":        c.export,
		"__guest":       c.guestMain,
	}
	h, ok := handlers[args[0]]
	if !ok {
		return &exitError{stderr: fmt.Sprintf("%sInvalid command '%s'\n", prefix, args[0]), code: 2}
	}
	return h(args[1:])
}

// opts is a parsed command line: positional arguments and option values in
// order (an option may repeat).
type opts struct {
	pos  []string
	vals map[string][]string
}

func (o opts) has(k string) bool { return len(o.vals[k]) > 0 }

func (o opts) get(k string) string {
	v := o.vals[k]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// parseArgs parses "--opt value", "--opt=value" and flags. spec maps each
// accepted option (and alias) to its canonical name; a canonical name
// ending in "=" takes a value.
func parseArgs(cmd string, args []string, spec map[string]string) (opts, error) {
	o := opts{vals: map[string][]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			o.pos = append(o.pos, a)
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		canon, ok := spec[name]
		if !ok {
			return o, syntaxError(cmd, "Unknown option: %s", name)
		}
		if strings.HasSuffix(canon, "=") {
			canon = strings.TrimSuffix(canon, "=")
			if !hasVal {
				if i+1 >= len(args) {
					return o, syntaxError(cmd, "Missing the value for option %s", name)
				}
				i++
				val = args[i]
			}
		} else if hasVal {
			return o, syntaxError(cmd, "Invalid parameter '%s'", a)
		}
		o.vals[canon] = append(o.vals[canon], val)
	}
	return o, nil
}

// sleep charges the profile delay of op.
func (c *cli) sleep(op string) {
	if d := c.prof.Delay(op); d > 0 {
		time.Sleep(d)
	}
}

// progress charges the delay of op while printing VBoxManage's progress
// line on stderr, as real long operations do.
func (c *cli) progress(op string) {
	d := c.prof.Delay(op)
	for p := 0; p < 100; p += 10 {
		fmt.Fprintf(c.errw, "%d%%...", p)
		if d > 0 {
			time.Sleep(d / 10)
		}
	}
	fmt.Fprint(c.errw, "100%\n")
}

// fault counts a call of op and returns the error of a firing error rule,
// plus any firing rules of other kinds.
func (c *cli) fault(st *State, op, arg string, m *Machine) (*exitError, []Fault) {
	var other []Fault
	for _, f := range hit(st, c.faults, op, arg, m) {
		if f.Kind == "" || f.Kind == FaultError {
			name := arg
			if m != nil {
				name = m.Name
			}
			return errorFor(f, name), nil
		}
		other = append(other, f)
	}
	return nil, other
}

// machineOp runs a mutating operation on one machine. pre runs under the
// state lock and refuses (wrong state, locked). If the operation has a
// delay, the machine is marked as held by this process while it sleeps, so a
// concurrent caller meets a session lock, then apply runs under the lock
// again. With no delay both run in one locked step.
func (c *cli) machineOp(op, arg, context string, pre func(st *State, m *Machine, fired []Fault) error,
	sleep func(), apply func(st *State, m *Machine) error) error {
	var uuid string
	delayed := c.prof.Delay(op) > 0
	err := c.store.Update(func(st *State) error {
		m := st.Find(arg)
		if ferr, fired := c.fault(st, op, arg, m); ferr != nil {
			return ferr
		} else if m == nil {
			return notFound(arg, context)
		} else if err := pre(st, m, fired); err != nil {
			return err
		}
		uuid = m.UUID
		if !delayed {
			return apply(st, m)
		}
		m.Session = &Session{PID: c.pid}
		return nil
	})
	if err != nil || !delayed {
		return err
	}
	sleep()
	return c.store.Update(func(st *State) error {
		m := st.Find(uuid)
		if m == nil {
			return notFound(arg, context)
		}
		if m.Session != nil && m.Session.PID == c.pid {
			m.Session = nil
		}
		return apply(st, m) // refusals are *exitError, so the cleared session is saved
	})
}

// view runs fn on a read-only snapshot of the state (still under the lock,
// since liveness refresh may write).
func (c *cli) view(fn func(st *State) error) error {
	return c.store.Update(fn)
}
