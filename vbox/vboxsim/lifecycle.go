// This file holds the commands that create and remove machines: createvm,
// clonevm (full and linked, with the clone-dies fault), import, export and
// unregistervm (refused while locked or while linked clones depend on it).

package vboxsim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const importContext = "RTEXITCODE handleImportAppliance(HandlerArg*)"

// reserveDir creates a new machine folder; an existing settings file is
// VirtualBox's "already exists" error.
func (c *cli) reserveDir(st *State, name, base string) (string, error) {
	if base == "" {
		base = filepath.Join(c.store.Home, "machines")
	}
	dir := filepath.Join(base, name)
	cfg := filepath.Join(dir, name+".vbox")
	exists := func() error {
		return apiError(fmt.Sprintf("Machine settings file '%s' already exists", cfg), "VBOX_E_FILE_ERROR", "MachineWrap", "IMachine",
			"CreateMachine(bstrSettingsFile.raw(), bstrName.raw(), ComSafeArrayAsInParam(groups), bstrOsTypeId.raw(), createFlags.raw(), machine.asOutParam())")
	}
	if st.Find(name) != nil {
		return "", exists()
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("create machine folder: %w", err)
	}
	if err := os.Mkdir(dir, 0o755); errors.Is(err, os.ErrExist) {
		if _, err := os.Stat(cfg); err == nil {
			return "", exists()
		}
	} else if err != nil {
		return "", fmt.Errorf("create machine folder: %w", err)
	}
	if err := os.WriteFile(cfg, []byte("<?xml version=\"1.0\"?>\n<VirtualBox><Machine name=\""+name+"\"/></VirtualBox>\n"), 0o644); err != nil {
		return "", fmt.Errorf("write settings file: %w", err)
	}
	return dir, nil
}

func (c *cli) createVM(args []string) error {
	o, err := parseArgs("createvm", args, map[string]string{
		"--name": "name=", "--ostype": "ostype=", "--basefolder": "base=", "--register": "register",
		"--uuid": "uuid=", "--default": "default", "--groups": "groups=",
	})
	if err != nil {
		return err
	}
	if o.get("name") == "" || len(o.pos) > 0 {
		return syntaxError("createvm", "Parameter --name is required")
	}
	c.sleep("createvm")
	return c.store.Update(func(st *State) error {
		if ferr, _ := c.fault(st, "createvm", o.get("name"), nil); ferr != nil {
			return ferr
		}
		dir, err := c.reserveDir(st, o.get("name"), o.get("base"))
		if err != nil {
			return err
		}
		m := &Machine{UUID: o.get("uuid"), Name: o.get("name"), OSType: o.get("ostype"), Memory: 128, CPUs: 1,
			MAC: newMAC(), DiskUUID: newUUID(), Dir: dir, State: StatePoweroff, StateChange: timeNow(),
			LocalhostReachable: !hasLocalhostSetting()}
		if m.UUID == "" {
			m.UUID = newUUID()
		}
		if err := os.MkdirAll(m.Disk(), 0o755); err != nil {
			return fmt.Errorf("create disk: %w", err)
		}
		reg := ""
		if o.has("register") {
			st.Machines = append(st.Machines, m)
			reg = " and registered"
		}
		fmt.Fprintf(c.out, "Virtual machine '%s' is created%s.\nUUID: %s\nSettings file: '%s'\n", m.Name, reg, m.UUID, m.CfgFile())
		return nil
	})
}

func (c *cli) unregisterVM(args []string) error {
	o, err := parseArgs("unregistervm", args, map[string]string{"--delete": "delete", "--delete-all": "delete"})
	if err != nil {
		return err
	}
	if len(o.pos) != 1 {
		return syntaxError("unregistervm", "Incorrect number of parameters")
	}
	var dir string
	var gone Machine
	pre := func(st *State, m *Machine, _ []Fault) error {
		if m.locked(timeNow(), c.pid) {
			return apiError(fmt.Sprintf("Cannot unregister the machine '%s' while it is locked", m.Name), "VBOX_E_INVALID_OBJECT_STATE",
				"MachineWrap", "IMachine", "Unregister(CleanupMode_DetachAllReturnHardDisksOnly, ComSafeArrayAsOutParam(aMedia))")
		}
		if clones := st.linkedClones(m.UUID, ""); len(clones) > 0 {
			return apiError(fmt.Sprintf("Medium '%s' cannot be closed because it has %d child media", filepath.Join(m.SnapDir(), "{"+clones[0].LinkedFrom.Snapshot+"}.vmdk"), len(clones)),
				"VBOX_E_OBJECT_IN_USE", "MediumWrap", "IMedium", "Unregister(CleanupMode_DetachAllReturnHardDisksOnly, ComSafeArrayAsOutParam(aMedia))")
		}
		return nil
	}
	apply := func(st *State, m *Machine) error {
		if err := pre(st, m, nil); err != nil {
			return err
		}
		st.Remove(m.UUID)
		dir, gone = m.Dir, *m
		return nil
	}
	sleep := func() {
		if o.has("delete") {
			c.sleep("unregistervm")
		}
	}
	if err := c.machineOp("unregistervm", o.pos[0], findContext, pre, sleep, apply); err != nil {
		return err
	}
	// A startvm killed between spawning the guest and recording it leaves a guest the state
	// does not know (real VirtualBox's VBoxSVC never loses its VM processes): the guest is
	// found by its marker and goes with the machine, so no stray guest holds the VM's port.
	killGuest(gone.GuestPID, gone.UUID)
	if o.has("delete") {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("delete machine files: %w", err)
		}
		fmt.Fprint(c.errw, progressText(100, true))
	}
	return nil
}

func (c *cli) cloneVM(args []string) error {
	o, err := parseArgs("clonevm", args, map[string]string{
		"--snapshot": "snapshot=", "--options": "options=", "--mode": "mode=", "--name": "name=",
		"--basefolder": "base=", "--register": "register", "--uuid": "uuid=", "--groups": "groups=",
	})
	if err != nil {
		return err
	}
	if len(o.pos) != 1 {
		return syntaxError("clonevm", "Incorrect number of parameters")
	}
	link, keepMAC := false, false
	for _, opt := range strings.Split(strings.ToLower(o.get("options")), ",") {
		switch {
		case opt == "":
		case strings.HasPrefix("link", opt), opt == "linked":
			link = true
		case strings.HasPrefix("keepallmacs", opt), strings.HasPrefix("keepnatmacs", opt):
			keepMAC = true
		case strings.HasPrefix("keepdisknames", opt), strings.HasPrefix("keephwuuids", opt):
		default:
			return syntaxError("clonevm", "Invalid clone options '%s'", o.get("options"))
		}
	}
	var src Machine
	var from, target string
	var dies *Fault
	err = c.store.Update(func(st *State) error {
		m := st.Find(o.pos[0])
		ferr, fired := c.fault(st, "clonevm", o.pos[0], m)
		if ferr != nil {
			return ferr
		}
		if m == nil {
			return notFound(o.pos[0], findContext)
		}
		for i := range fired {
			if fired[i].Kind == FaultCloneDies {
				dies = &fired[i]
			}
		}
		from = m.Disk()
		if o.has("snapshot") {
			s, _ := m.FindSnapshot(o.get("snapshot"))
			if s == nil {
				return snapshotNotFound(o.get("snapshot"))
			}
			from = filepath.Join(m.SnapDir(), s.UUID)
			target = s.UUID
		} else if link {
			return apiError("Linked clone can only be created from a snapshot", "NS_ERROR_INVALID_ARG", "MachineWrap", "IMachine",
				"CloneTo(trgMachine, enmMode, ComSafeArrayAsInParam(options), progress.asOutParam())")
		}
		if m.Broken {
			return apiError(fmt.Sprintf("Could not open the medium '%s'.", m.Disk()), "VBOX_E_FILE_ERROR", "MediumWrap", "IMedium",
				"CloneTo(trgMachine, enmMode, ComSafeArrayAsInParam(options), progress.asOutParam())")
		}
		src = *m
		return nil
	})
	if err != nil {
		return err
	}
	name := o.get("name")
	if name == "" {
		name = src.Name + " Clone"
	}
	var nm *Machine
	err = c.store.Update(func(st *State) error {
		dir, err := c.reserveDir(st, name, o.get("base"))
		if err != nil {
			return err
		}
		nm = &Machine{UUID: o.get("uuid"), Name: name, OSType: src.OSType, Description: src.Description, Memory: src.Memory,
			CPUs: src.CPUs, MAC: newMAC(), DiskUUID: newUUID(), Dir: dir, State: StatePoweroff, StateChange: timeNow(),
			Forwards: append([]Forward(nil), src.Forwards...), Extra: copyMap(src.Extra), LocalhostReachable: src.LocalhostReachable}
		if nm.UUID == "" {
			nm.UUID = newUUID()
		}
		if keepMAC {
			nm.MAC = src.MAC
		}
		if link {
			nm.LinkedFrom = &Link{VM: src.UUID, Snapshot: target}
		}
		if dies != nil {
			// A clone that dies half way is registered with a broken disk.
			nm.Broken = true
			if o.has("register") {
				st.Machines = append(st.Machines, nm)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if dies != nil {
		copyDir(from, nm.Disk(), countFiles(from)/2)
		return progressFailure(50, "VBOX_E_IPRT_ERROR", "Clone VM failed",
			fmt.Sprintf("Could not create the clone medium '%s' (VERR_DISK_FULL)", nm.Disk()),
			"MediumWrap", "IMedium", "RTEXITCODE handleCloneVM(HandlerArg*)")
	}
	op := "clonevm_full"
	if link {
		op = "clonevm_link"
	}
	c.progress(op)
	if err := copyDir(from, nm.Disk(), -1); err != nil {
		return err
	}
	if o.has("register") {
		err = c.store.Update(func(st *State) error {
			st.Machines = append(st.Machines, nm)
			return nil
		})
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(c.out, "Machine has been successfully cloned as \"%s\"\n", name)
	return nil
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
