// This file holds the read-only commands: list, showvminfo (machine-readable
// in the 6.x/7.0 layout of the samples, and a short human form),
// getextradata and guestproperty get.

package vboxsim

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

const findContext = "FindMachine(Bstr(VMNameOrUuid).raw(), machine.asOutParam())"

func (c *cli) list(args []string) error {
	o, err := parseArgs("list", args, map[string]string{"-s": "sorted", "--sorted": "sorted", "-l": "long", "--long": "long"})
	if err != nil {
		return err
	}
	if len(o.pos) != 1 {
		return syntaxError("list", "Missing subcommand for \"list\" command")
	}
	c.sleep("list")
	return c.view(func(st *State) error {
		if ferr, _ := c.fault(st, "list", "", nil); ferr != nil {
			return ferr
		}
		ms := append([]*Machine(nil), st.Machines...)
		if o.has("sorted") {
			sort.SliceStable(ms, func(i, j int) bool { return strings.ToLower(ms[i].Name) < strings.ToLower(ms[j].Name) })
		}
		switch o.pos[0] {
		case "vms":
		case "runningvms":
			run := ms[:0]
			for _, m := range ms {
				if m.State == StateRunning || m.State == StatePaused {
					run = append(run, m)
				}
			}
			ms = run
		case "systemproperties":
			fmt.Fprintf(c.out, "API version:                     %s\nDefault machine folder:          %s/machines\n", apiVersion(), c.store.Home)
			return nil
		default:
			return syntaxError("list", "Unknown subcommand \"%s\" for \"list\" command", o.pos[0])
		}
		for _, m := range ms {
			if o.has("long") {
				writeHuman(c.out, m)
				continue
			}
			fmt.Fprintf(c.out, "\"%s\" {%s}\n", m.Name, m.UUID)
		}
		return nil
	})
}

func (c *cli) showVMInfo(args []string) error {
	o, err := parseArgs("showvminfo", args, map[string]string{"--machinereadable": "mr", "--details": "details", "--log": "log="})
	if err != nil {
		return err
	}
	if len(o.pos) != 1 {
		return syntaxError("showvminfo", "Incorrect number of parameters")
	}
	c.sleep("showvminfo")
	return c.view(func(st *State) error {
		m := st.Find(o.pos[0])
		if ferr, _ := c.fault(st, "showvminfo", o.pos[0], m); ferr != nil {
			return ferr
		}
		if m == nil {
			return notFound(o.pos[0], findContext)
		}
		if o.has("mr") {
			writeMachineReadable(c.out, m)
		} else {
			writeHuman(c.out, m)
		}
		return nil
	})
}

// esc applies 7.x outputMachineReadableString escaping.
func esc(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// writeMachineReadable prints showvminfo --machinereadable. Key order and
// quoting follow the 6.0 sample; names and paths are escaped as in 7.x,
// snapshot names and forwards raw.
func writeMachineReadable(w io.Writer, m *Machine) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p(`name="%s"`, esc(m.Name))
	p(`groups="/"`)
	p(`ostype="%s"`, esc(osDescription(m.OSType)))
	p(`UUID="%s"`, m.UUID)
	p(`CfgFile="%s"`, esc(m.CfgFile()))
	p(`SnapFldr="%s"`, esc(m.SnapDir()))
	p(`LogFldr="%s"`, esc(m.Dir+"/Logs"))
	p(`hardwareuuid="%s"`, m.UUID)
	p(`memory=%d`, m.Memory)
	p(`pagefusion="off"`)
	p(`vram=16`)
	p(`cpuexecutioncap=100`)
	p(`hpet="off"`)
	p(`chipset="piix3"`)
	p(`firmware="BIOS"`)
	p(`cpus=%d`, m.CPUs)
	p(`pae="on"`)
	p(`longmode="on"`)
	p(`bootmenu="messageandmenu"`)
	p(`boot1="disk"`)
	p(`boot2="none"`)
	p(`boot3="none"`)
	p(`boot4="none"`)
	p(`acpi="on"`)
	p(`ioapic="on"`)
	p(`rtcuseutc="on"`)
	p(`hwvirtex="on"`)
	p(`nestedpaging="on"`)
	p(`paravirtprovider="default"`)
	p(`effparavirtprovider="kvm"`)
	p(`VMState="%s"`, m.State)
	p(`VMStateChangeTime="%s"`, m.StateChange.UTC().Format("2006-01-02T15:04:05.000000000"))
	if m.State == StateSaved {
		p(`VMStateFile="%s"`, m.SavFile())
	}
	p(`monitorcount=1`)
	p(`accelerate3d="off"`)
	p(`teleporterenabled="off"`)
	p(`teleporterport=0`)
	p(`autostart-enabled="off"`)
	p(`autostart-delay=0`)
	p(`defaultfrontend=""`)
	p(`storagecontrollername0="SATA Controller"`)
	p(`storagecontrollertype0="IntelAhci"`)
	p(`storagecontrollerinstance0="0"`)
	p(`storagecontrollermaxportcount0="30"`)
	p(`storagecontrollerportcount0="1"`)
	p(`storagecontrollerbootable0="on"`)
	p(`"SATA Controller-0-0"="%s"`, esc(m.Disk()))
	p(`"SATA Controller-ImageUUID-0-0"="%s"`, m.DiskUUID)
	p(`natnet1="nat"`)
	p(`macaddress1="%s"`, m.MAC)
	p(`cableconnected1="on"`)
	p(`nic1="nat"`)
	p(`nictype1="82540EM"`)
	p(`nicspeed1="0"`)
	p(`mtu="0"`)
	p(`sockSnd="64"`)
	p(`sockRcv="64"`)
	p(`tcpWndSnd="64"`)
	p(`tcpWndRcv="64"`)
	if hasLocalhostSetting() {
		p(`localhostReachable="%d"`, b2i(m.LocalhostReachable))
	}
	for i, f := range m.Forwards {
		p(`Forwarding(%d)="%s,%s,%s,%d,%s,%d"`, i, f.Name, f.Proto, f.HostIP, f.HostPort, f.GuestIP, f.GuestPort)
	}
	for n := 2; n <= 8; n++ {
		p(`nic%d="none"`, n)
	}
	p(`hidpointing="ps2mouse"`)
	p(`hidkeyboard="ps2kbd"`)
	p(`uart1="off"`)
	p(`uart2="off"`)
	p(`audio="none"`)
	p(`clipboard="disabled"`)
	p(`draganddrop="disabled"`)
	if m.State == StateRunning || m.State == StatePaused {
		p(`SessionName="headless"`)
		p(`VideoMode="720,400,0"@0,0 1`)
	}
	p(`vrde="off"`)
	p(`usb="off"`)
	p(`ehci="off"`)
	p(`xhci="off"`)
	if m.Description != "" {
		p(`description="%s"`, esc(m.Description))
	}
	p(`GuestMemoryBalloon=0`)
	writeSnapshotsMR(w, m)
}

// writeSnapshotsMR prints the snapshot tree in pre-order with the Current*
// lines right after the current node, as VBoxManage does.
func writeSnapshotsMR(w io.Writer, m *Machine) {
	m.walk(func(s *Snapshot, suffix string, _ *Snapshot) {
		fmt.Fprintf(w, "SnapshotName%s=\"%s\"\n", suffix, s.Name)
		fmt.Fprintf(w, "SnapshotUUID%s=\"%s\"\n", suffix, s.UUID)
		if s.Description != "" {
			fmt.Fprintf(w, "SnapshotDescription%s=\"%s\"\n", suffix, s.Description)
		}
		if s.UUID == m.Current {
			fmt.Fprintf(w, "CurrentSnapshotName=\"%s\"\nCurrentSnapshotUUID=\"%s\"\nCurrentSnapshotNode=\"SnapshotName%s\"\n", s.Name, s.UUID, suffix)
		}
	})
}

var longStates = map[string]string{
	StatePoweroff: "powered off", StateRunning: "running", StatePaused: "paused",
	StateSaved: "saved", StateAborted: "aborted",
}

// writeHuman prints the subset of the human showvminfo block the agent may
// read (6.1+ layout, labels padded to 28 columns).
func writeHuman(w io.Writer, m *Machine) {
	p := func(label, value string) { fmt.Fprintf(w, "%-28s%s\n", label+":", value) }
	p("Name", m.Name)
	p("Guest OS", osDescription(m.OSType))
	p("UUID", m.UUID)
	p("Config file", m.CfgFile())
	p("Memory size", fmt.Sprintf("%dMB", m.Memory))
	p("Number of CPUs", fmt.Sprint(m.CPUs))
	p("State", fmt.Sprintf("%s (since %s)", longStates[m.State], m.StateChange.UTC().Format("2006-01-02T15:04:05.000000000")))
	p("NIC 1", fmt.Sprintf("MAC: %s, Attachment: NAT, Cable connected: on", m.MAC))
	for i, f := range m.Forwards {
		fmt.Fprintf(w, "%-28sname = %s, protocol = %s, host ip = %s, host port = %d, guest ip = %s, guest port = %d\n",
			fmt.Sprintf("NIC 1 Rule(%d):", i), f.Name, f.Proto, f.HostIP, f.HostPort, f.GuestIP, f.GuestPort)
	}
	fmt.Fprint(w, "\n\n")
}

// osDescription maps an OS type ID to the description showvminfo prints.
func osDescription(id string) string {
	switch id {
	case "Ubuntu_64":
		return "Ubuntu (64-bit)"
	case "Ubuntu":
		return "Ubuntu (32-bit)"
	case "Linux26_64":
		return "Linux 2.6 / 3.x / 4.x / 5.x (64-bit)"
	case "", "Other":
		return "Other/Unknown"
	}
	return id
}

func (c *cli) getExtraData(args []string) error {
	if len(args) != 2 {
		return syntaxError("getextradata", "Incorrect number of parameters")
	}
	c.sleep("setextradata")
	return c.view(func(st *State) error {
		m := st.Find(args[0])
		if ferr, _ := c.fault(st, "getextradata", args[0], m); ferr != nil {
			return ferr
		}
		if m == nil {
			return notFound(args[0], findContext)
		}
		if args[1] == "enumerate" {
			keys := make([]string, 0, len(m.Extra))
			for k := range m.Extra {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(c.out, "Key: %s, Value: %s\n", k, m.Extra[k])
			}
			return nil
		}
		if v, ok := m.Extra[args[1]]; ok {
			fmt.Fprintf(c.out, "Value: %s\n", v)
		} else {
			fmt.Fprintln(c.out, "No value set!")
		}
		return nil
	})
}
