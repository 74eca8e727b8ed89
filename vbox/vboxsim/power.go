// This file is the power state machine: startvm (cold boot or resume from a
// saved state, spawning the guest) and controlvm (poweroff, savestate,
// pause, resume, acpipowerbutton, natpfN), with VirtualBox's refusals.

package vboxsim

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

func (c *cli) startVM(args []string) error {
	o, err := parseArgs("startvm", args, map[string]string{"--type": "type=", "--putenv": "putenv=", "-E": "putenv="})
	if err != nil {
		return err
	}
	if len(o.pos) == 0 {
		return syntaxError("startvm", "Not enough parameters")
	}
	for _, arg := range o.pos {
		if err := c.startOne(arg); err != nil {
			return err
		}
	}
	return nil
}

func (c *cli) startOne(arg string) error {
	var m Machine
	var fired []Fault
	err := c.store.Update(func(st *State) error {
		mm := st.Find(arg)
		ferr, f := c.fault(st, "startvm", arg, mm)
		if ferr != nil {
			return ferr
		}
		if mm == nil {
			return notFound(arg, findContext)
		}
		if mm.locked(timeNow(), c.pid) {
			return apiError(fmt.Sprintf("The machine '%s' is already locked by a session (or being locked or unlocked)", mm.Name),
				"VBOX_E_INVALID_OBJECT_STATE", "MachineWrap", "IMachine",
				"LaunchVMProcess(a->session, sessionType.raw(), ComSafeArrayAsInParam(aBstrEnv), progress.asOutParam())")
		}
		mm.Session = &Session{PID: c.pid}
		m, fired = *mm, f
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "Waiting for VM \"%s\" to power on...\n", arg)
	release := func() {
		c.store.Update(func(st *State) error {
			if mm := st.Find(m.UUID); mm != nil && mm.Session != nil && mm.Session.PID == c.pid {
				mm.Session = nil
			}
			return nil
		})
	}
	if m.Broken {
		release()
		return apiError(fmt.Sprintf("Could not open the medium '%s'.\nVD: error VERR_FILE_NOT_FOUND opening image file '%s' (VERR_FILE_NOT_FOUND)", m.Disk(), m.Disk()),
			"VBOX_E_FILE_ERROR", "MediumWrap", "IMedium", "LaunchVMProcess(a->session, sessionType.raw(), ComSafeArrayAsInParam(aBstrEnv), progress.asOutParam())")
	}
	resume := m.State == StateSaved
	op, bootOp := "startvm", "boot"
	if resume {
		op, bootOp = "startvm_saved", "resume_network"
	}
	g := guestSpec{VM: m.UUID, Disk: m.Disk(), Port: m.SSHPort(), Boot: c.prof.Delay(bootOp), Resume: resume,
		ACPI: c.prof.Delay("acpi_shutdown"), Linger: c.prof.Delay("lock_linger")}
	for _, f := range fired {
		switch f.Kind {
		case FaultNoSSH:
			g.NoSSH = true
		case FaultAbort:
			g.AbortAfter = time.Duration(f.After)
		}
	}
	c.sleep(op)
	pid, err := spawnGuest(m, g)
	if err != nil {
		release()
		return apiError(fmt.Sprintf("The VM session was aborted: %v", err), "NS_ERROR_FAILURE", "SessionMachine", "IMachine",
			"LaunchVMProcess(a->session, sessionType.raw(), ComSafeArrayAsInParam(aBstrEnv), progress.asOutParam())")
	}
	err = c.store.Update(func(st *State) error {
		mm := st.Find(m.UUID)
		if mm == nil {
			return notFound(arg, findContext)
		}
		mm.Session = nil
		mm.State, mm.StateChange, mm.GuestPID = StateRunning, timeNow(), pid
		return nil
	})
	if err != nil {
		killGuest(pid, m.UUID)
		return err
	}
	os.Remove(m.SavFile())
	fmt.Fprintf(c.out, "VM \"%s\" has been successfully started.\n", arg)
	return nil
}

func (c *cli) controlVM(args []string) error {
	if len(args) < 2 {
		return syntaxError("controlvm", "Not enough parameters")
	}
	arg, sub := args[0], args[1]
	switch sub {
	case "poweroff", "savestate", "pause", "resume", "acpipowerbutton", "natpf1":
	default:
		return syntaxError("controlvm", "Invalid parameter '%s'", sub)
	}
	if sub == "natpf1" && (len(args) < 3 || args[2] == "delete" && len(args) != 4) {
		return syntaxError("controlvm", "Not enough parameters")
	}
	var rule Forward
	if sub == "natpf1" && args[2] != "delete" {
		r, err := parseRule(args[2])
		if err != nil {
			return syntaxError("controlvm", "%v", err)
		}
		rule = r
	}
	var m Machine
	var fired []Fault
	err := c.store.Update(func(st *State) error {
		mm := st.Find(arg)
		ferr, f := c.fault(st, "controlvm_"+sub, arg, mm)
		if ferr != nil {
			return ferr
		}
		if mm == nil {
			return notFound(arg, findContext)
		}
		if mm.State != StateRunning && mm.State != StatePaused {
			return &exitError{stderr: fmt.Sprintf("%sMachine '%s' is not currently running.\n", prefix, arg), code: 1}
		}
		switch {
		case sub == "pause" && mm.State == StatePaused:
			return apiError("Cannot pause the machine as it is not running (machine state: Paused)", "VBOX_E_INVALID_VM_STATE", "ConsoleWrap", "IConsole", "Pause()")
		case sub == "resume" && mm.State == StateRunning:
			return apiError("Cannot resume the machine as it is not paused (machine state: Running)", "VBOX_E_INVALID_VM_STATE", "ConsoleWrap", "IConsole", "Resume()")
		case sub == "natpf1" && args[2] == "delete":
			return deleteRule(mm, args[3], "RemoveRedirect(Bstr(a->argv[3]).raw())", "VBoxManageControlVM.cpp")
		case sub == "natpf1":
			return addRule(mm, rule)
		}
		m, fired = *mm, f
		return nil
	})
	if err != nil || sub == "natpf1" {
		return err
	}
	switch sub {
	case "pause", "resume":
		c.sleep(sub)
		sig := syscall.SIGSTOP
		if sub == "resume" {
			sig = syscall.SIGCONT
		}
		signalGuest(m.GuestPID, m.UUID, sig)
		state := map[string]string{"pause": StatePaused, "resume": StateRunning}[sub]
		return c.setState(m.UUID, state, 0)
	case "acpipowerbutton":
		// The guest shuts itself down after acpi_shutdown and records poweroff.
		return signalPID(m.GuestPID, syscall.SIGUSR1)
	}
	op := sub
	c.progress(op)
	if m.State == StatePaused {
		signalGuest(m.GuestPID, m.UUID, syscall.SIGCONT)
	}
	killGuest(m.GuestPID, m.UUID)
	if sub == "savestate" {
		os.MkdirAll(m.SnapDir(), 0o755)
		if err := os.WriteFile(m.SavFile(), []byte("vboxsim saved state of "+m.UUID+"\n"), 0o644); err != nil {
			return fmt.Errorf("write saved state: %w", err)
		}
		return c.setState(m.UUID, StateSaved, 0)
	}
	linger := c.prof.Delay("lock_linger")
	for _, f := range fired {
		if f.Kind == FaultLockLinger {
			linger = time.Duration(f.After)
		}
	}
	return c.setState(m.UUID, StatePoweroff, linger)
}

// setState records a new machine state; a positive linger keeps the session
// lock for that long, as a VM process does while it winds down.
func (c *cli) setState(uuid, state string, linger time.Duration) error {
	return c.store.Update(func(st *State) error {
		m := st.Find(uuid)
		if m == nil {
			return nil
		}
		m.State, m.StateChange = state, timeNow()
		if state != StateRunning && state != StatePaused {
			m.GuestPID = 0
		}
		if linger > 0 {
			m.Session = &Session{Until: timeNow().Add(linger)}
		}
		return nil
	})
}

// describeState is the capitalised state name VirtualBox puts in messages.
func describeState(s string) string {
	switch s {
	case StatePoweroff:
		return "PoweredOff"
	case StateRunning, StatePaused, StateSaved, StateAborted:
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}
