// This file holds import and export of OVF appliances whose disk is a
// directory (the format make-box writes).

package vboxsim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func (c *cli) importBox(args []string) error {
	o, err := parseArgs("import", args, map[string]string{
		"-n": "dry", "--dry-run": "dry", "--vsys": "vsys=", "--vmname": "vmname=", "--ostype": "ostype=",
		"--memory": "memory=", "--cpus": "cpus=", "--unit": "unit=", "--ignore": "ignore", "--disk": "disk=",
		"--options": "options=", "--eula": "eula=", "--basefolder": "base=", "--group": "group=",
		"--settingsfile": "settingsfile=", "--description": "description=",
	})
	if err != nil {
		return err
	}
	if len(o.pos) != 1 {
		if len(o.pos) > 1 {
			return syntaxError("import", "Invalid parameter '%s'", o.pos[1])
		}
		return syntaxError("import", "Not enough arguments for \"import\" command.")
	}
	for _, v := range o.vals["vsys"] {
		if v != "0" {
			return syntaxError("import", "Invalid argument to '--vsys': virtual system %s does not exist", v)
		}
	}
	ovfPath, _ := filepath.Abs(o.pos[0])
	b, err := os.ReadFile(ovfPath)
	if err != nil {
		fmt.Fprint(c.errw, progressText(0, false))
		return &exitError{code: 1, stderr: errorBlock(fmt.Sprintf("Appliance read failed\nCould not read OVF file '%s' (VERR_FILE_NOT_FOUND)", ovfPath),
			"VBOX_E_FILE_ERROR", "ApplianceWrap", "IAppliance", importContext)}
	}
	info, perr := parseOVF(string(b))
	fmt.Fprintf(c.errw, "%sInterpreting %s...\n", progressText(100, true), ovfPath)
	if perr != nil {
		return apiError(fmt.Sprintf("Error reading \"%s\": %v", ovfPath, perr), "VBOX_E_FILE_ERROR", "ApplianceWrap", "IAppliance", importContext)
	}
	fmt.Fprintln(c.errw, "OK.")
	name := info.Name
	if v := o.get("vmname"); v != "" {
		name = v
	}
	if v, err := strconv.Atoi(o.get("memory")); err == nil {
		info.Memory = v
	}
	if v, err := strconv.Atoi(o.get("cpus")); err == nil {
		info.CPUs = v
	}
	if v := o.get("ostype"); v != "" {
		info.OSType = v
	}
	base := o.get("base")
	if base == "" {
		base = filepath.Join(c.store.Home, "machines")
	}
	src := filepath.Join(filepath.Dir(ovfPath), info.Disk)
	fmt.Fprintf(c.out, "Disks:\n  vmdisk1\t10737418240\t-1\thttp://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized\t%s\t-1\t-1\n\n", info.Disk)
	fmt.Fprintf(c.out, "Virtual system 0:\n 0: Suggested OS type: \"%s\"\n    (change with \"--vsys 0 --ostype <type>\"; use \"list ostypes\" to list all possible values)\n", info.OSType)
	if o.has("vmname") {
		fmt.Fprintf(c.out, " 1: VM name specified with --vmname: \"%s\"\n", name)
	} else {
		fmt.Fprintf(c.out, " 1: Suggested VM name \"%s\"\n    (change with \"--vsys 0 --vmname <name>\")\n", name)
	}
	fmt.Fprintf(c.out, " 2: Suggested VM group \"/\"\n    (change with \"--vsys 0 --group <group>\")\n")
	fmt.Fprintf(c.out, " 3: Suggested VM settings file name \"%s\"\n    (change with \"--vsys 0 --settingsfile <filename>\")\n", filepath.Join(base, name, name+".vbox"))
	fmt.Fprintf(c.out, " 4: Suggested VM base folder \"%s\"\n    (change with \"--vsys 0 --basefolder <path>\")\n", base)
	fmt.Fprintf(c.out, " 5: Number of CPUs: %d\n    (change with \"--vsys 0 --cpus <n>\")\n", info.CPUs)
	fmt.Fprintf(c.out, " 6: Guest memory: %d MB\n    (change with \"--vsys 0 --memory <MB>\")\n", info.Memory)
	fmt.Fprintf(c.out, " 7: Network adapter: orig NAT, config 3, extra slot=0;type=NAT\n")
	fmt.Fprintf(c.out, " 8: SATA controller, type AHCI\n    (disable with \"--vsys 0 --unit 8 --ignore\")\n")
	fmt.Fprintf(c.out, " 9: Hard disk image: source image=%s, target path=%s, controller=8;channel=0\n    (change target path with \"--vsys 0 --unit 9 --disk path\";\n    disable with \"--vsys 0 --unit 9 --ignore\")\n",
		info.Disk, filepath.Join(base, name, info.Disk))
	if o.has("dry") {
		return nil
	}
	if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
		return progressFailure(0, "VBOX_E_FILE_ERROR", "Appliance import failed",
			fmt.Sprintf("Could not find a storage medium for '%s' (VERR_FILE_NOT_FOUND)", src), "ApplianceWrap", "IAppliance", importContext)
	}
	var m *Machine
	err = c.store.Update(func(st *State) error {
		if ferr, _ := c.fault(st, "import", name, nil); ferr != nil {
			return ferr
		}
		dir, err := c.reserveDir(st, name, o.get("base"))
		var ee *exitError
		if errors.As(err, &ee) {
			// The import reports the settings-file clash through its progress.
			msg, _, _ := strings.Cut(strings.TrimPrefix(ee.stderr, prefix), "\n")
			return progressFailure(90, "VBOX_E_FILE_ERROR", "Appliance import failed", msg, "MachineWrap", "IMachine", importContext)
		} else if err != nil {
			return err
		}
		m = &Machine{UUID: newUUID(), Name: name, OSType: info.OSType, Memory: info.Memory, CPUs: info.CPUs,
			MAC: newMAC(), DiskUUID: newUUID(), Dir: dir, State: StatePoweroff, StateChange: timeNow(),
			Session: &Session{PID: c.pid}, LocalhostReachable: true} // a box predates 7.0's default (version.go)
		st.Machines = append(st.Machines, m)
		return nil
	})
	if err != nil {
		return err
	}
	c.progress("import")
	cerr := copyDir(src, m.Disk(), -1)
	err = c.store.Update(func(st *State) error {
		if mm := st.Find(m.UUID); mm != nil {
			mm.Session = nil
			mm.Broken = cerr != nil
		}
		return nil
	})
	if cerr != nil {
		return cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(c.out, "Successfully imported the appliance.")
	return nil
}

func (c *cli) export(args []string) error {
	o, err := parseArgs("export", args, map[string]string{
		"--output": "output=", "-o": "output=", "--ovf10": "fmt", "--ovf20": "fmt", "--ovf09": "fmt", "--legacy09": "fmt",
		"--vsys": "vsys=", "--vmname": "vmname=", "--options": "options=", "--manifest": "manifest",
	})
	if err != nil {
		return err
	}
	if len(o.pos) != 1 || o.get("output") == "" {
		return syntaxError("export", "Incorrect number of parameters")
	}
	out, _ := filepath.Abs(o.get("output"))
	if !strings.HasSuffix(strings.ToLower(out), ".ovf") {
		return &exitError{code: 1, stderr: prefix + "Appliance file must have .ovf extension (the simulator writes no .ova)\n"}
	}
	var m Machine
	err = c.store.Update(func(st *State) error {
		mm := st.Find(o.pos[0])
		if ferr, _ := c.fault(st, "export", o.pos[0], mm); ferr != nil {
			return ferr
		}
		if mm == nil {
			return notFound(o.pos[0], findContext)
		}
		m = *mm
		return nil
	})
	if err != nil {
		return err
	}
	name := m.Name
	if v := o.get("vmname"); v != "" {
		name = v
	}
	href := strings.TrimSuffix(filepath.Base(out), filepath.Ext(out)) + "-disk001.vmdk"
	disk := filepath.Join(filepath.Dir(out), href)
	if _, err := os.Stat(out); err == nil {
		return progressFailure(0, "VBOX_E_FILE_ERROR", "Appliance write failed",
			fmt.Sprintf("Could not create OVF file '%s' (VERR_ALREADY_EXISTS)", out), "ApplianceWrap", "IAppliance", "RTEXITCODE handleExportAppliance(HandlerArg*)")
	}
	c.progress("export")
	if err := copyDir(m.Disk(), disk, -1); err != nil {
		return err
	}
	ovf := renderOVF(ovfInfo{Name: name, OSType: m.OSType, Memory: m.Memory, CPUs: m.CPUs, Disk: href})
	if err := os.WriteFile(out, []byte(ovf), 0o644); err != nil {
		return fmt.Errorf("write appliance: %w", err)
	}
	fmt.Fprintln(c.out, "Successfully exported 1 machine(s).")
	return nil
}
