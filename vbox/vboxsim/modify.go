// This file holds the commands that change a machine's settings: modifyvm
// (including --natpfN), setextradata, guestproperty and the NAT rule
// helpers shared with controlvm natpfN.

package vboxsim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// parseRule parses "name,proto,hostip,hostport,guestip,guestport". An empty
// name gets VirtualBox's generated one (host IP + proto + host port).
func parseRule(s string) (Forward, error) {
	f := strings.Split(s, ",")
	if len(f) != 6 {
		return Forward{}, fmt.Errorf("invalid NAT rule %q", s)
	}
	hp, err1 := strconv.Atoi(f[3])
	gp, err2 := strconv.Atoi(f[5])
	if err1 != nil || err2 != nil || hp < 0 || hp > 65535 || gp < 0 || gp > 65535 {
		return Forward{}, fmt.Errorf("invalid port in NAT rule %q", s)
	}
	if f[1] != "tcp" && f[1] != "udp" {
		return Forward{}, fmt.Errorf("invalid protocol in NAT rule %q", s)
	}
	r := Forward{Name: f[0], Proto: f[1], HostIP: f[2], HostPort: hp, GuestIP: f[4], GuestPort: gp}
	if r.Name == "" {
		r.Name = fmt.Sprintf("%s%s%d", r.HostIP, r.Proto, r.HostPort)
	}
	return r, nil
}

// addRule adds r to m or fails as INATEngine::AddRedirect does.
func addRule(m *Machine, r Forward) error {
	for _, f := range m.Forwards {
		if f.Name == r.Name {
			return apiError("A NAT rule of this name already exists", "NS_ERROR_INVALID_ARG", "NATEngineWrap", "INATEngine",
				"AddRedirect(Bstr(strName).raw(), proto, Bstr(strHostIp).raw(), RTStrToUInt16(strHostPort), Bstr(strGuestIp).raw(), RTStrToUInt16(strGuestPort))")
		}
	}
	m.Forwards = append(m.Forwards, r)
	return nil
}

// deleteRule removes the rule name or fails as RemoveRedirect does (no
// extended error info).
func deleteRule(m *Machine, name, context, file string) error {
	for i, f := range m.Forwards {
		if f.Name == name {
			m.Forwards = append(m.Forwards[:i], m.Forwards[i+1:]...)
			return nil
		}
	}
	e := noInfoError("NS_ERROR_INVALID_ARG", "Invalid argument value", context, file)
	return e
}

// setting is one parsed modifyvm option.
type setting struct{ opt, val, extra string }

func (c *cli) modifyVM(args []string) error {
	if len(args) < 1 {
		return syntaxError("modifyvm", "Not enough parameters")
	}
	vm := args[0]
	var sets []setting
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		opt, val, has := strings.Cut(rest[i], "=")
		if !strings.HasPrefix(opt, "--") {
			return syntaxError("modifyvm", "Invalid parameter '%s'", rest[i])
		}
		if !has {
			if i+1 >= len(rest) {
				return syntaxError("modifyvm", "Missing the value for option %s", opt)
			}
			i++
			val = rest[i]
		}
		s := setting{opt: opt, val: val}
		switch {
		case opt == "--name", opt == "--ostype", opt == "--description", opt == "--groups", opt == "--macaddress1":
		case opt == "--memory", opt == "--cpus":
			if n, err := strconv.Atoi(val); err != nil || n < 1 {
				return syntaxError("modifyvm", "Invalid value '%s' for option %s", val, opt)
			}
		case opt == "--nic1":
			if val != "nat" {
				return syntaxError("modifyvm", "The simulator only models NIC 1 as NAT, got '%s'", val)
			}
		case opt == "--cableconnected1", opt == "--ioapic", opt == "--acpi", opt == "--nictype1", opt == "--vram", opt == "--audio", opt == "--usb", opt == "--rtcuseutc":
		case opt == "--natpf1":
			if val == "delete" {
				if i+1 >= len(rest) {
					return syntaxError("modifyvm", "Missing the rule name for --natpf1 delete")
				}
				i++
				s.extra = rest[i]
			} else if _, err := parseRule(val); err != nil {
				return syntaxError("modifyvm", "%v", err)
			}
		case localhostOpt.MatchString(opt):
			if !hasLocalhostSetting() {
				return unknownOption("modifyvm", opt)
			}
			if n := localhostOpt.FindStringSubmatch(opt)[1]; n != "1" {
				return syntaxError("modifyvm", "The simulator only models NIC 1 as NAT, got %s", opt)
			}
			if val != "on" && val != "off" {
				// RTGETOPT_REQ_BOOL_ONOFF fails in RTGetOpt, which also ends in errorGetOpt and
				// exit 1; the message text is UNVERIFIED.
				e := syntaxError("modifyvm", "Invalid boolean value '%s' for option %s", val, opt)
				e.code = 1
				return e
			}
			s.opt = "--nat-localhostreachable1"
		default:
			return unknownOption("modifyvm", opt)
		}
		sets = append(sets, s)
	}
	pre := func(st *State, m *Machine, _ []Fault) error {
		if m.locked(timeNow(), c.pid) {
			return lockedForSession(m.Name, "LockMachine(a->session, LockType_Write)")
		}
		if m.State == StateSaved && len(sets) > 0 {
			return apiError("The machine is not mutable (state is Saved)", "VBOX_E_INVALID_VM_STATE", "SessionMachine", "IMachine",
				"COMSETTER("+strings.TrimPrefix(sets[0].opt, "--")+")(ValueUnion.psz)")
		}
		return nil
	}
	apply := func(st *State, m *Machine) error {
		nm := *m
		nm.Forwards = append([]Forward(nil), m.Forwards...)
		for _, s := range sets {
			switch s.opt {
			case "--name":
				if o := st.Find(s.val); o != nil && o.UUID != m.UUID {
					return apiError(fmt.Sprintf("Could not rename the directory '%s' to '%s' to save the settings file (VERR_ALREADY_EXISTS)", m.Dir, s.val),
						"VBOX_E_FILE_ERROR", "SessionMachine", "IMachine", "SaveSettings()")
				}
				nm.Name = s.val
			case "--ostype":
				nm.OSType = s.val
			case "--description":
				nm.Description = s.val
			case "--memory":
				nm.Memory, _ = strconv.Atoi(s.val)
			case "--cpus":
				nm.CPUs, _ = strconv.Atoi(s.val)
			case "--macaddress1":
				nm.MAC = strings.ToUpper(s.val)
			case "--nat-localhostreachable1":
				nm.LocalhostReachable = s.val == "on"
			case "--natpf1":
				if s.val == "delete" {
					if err := deleteRule(&nm, s.extra, "RemoveRedirect(Bstr(ValueUnion.psz).raw())", "VBoxManageModifyVM.cpp"); err != nil {
						return err
					}
					continue
				}
				r, _ := parseRule(s.val)
				if err := addRule(&nm, r); err != nil {
					return err
				}
			}
		}
		*m = nm
		return nil
	}
	return c.machineOp("modifyvm", vm, findContext, pre, func() { c.sleep("modifyvm") }, apply)
}

func (c *cli) setExtraData(args []string) error {
	if len(args) < 2 || len(args) > 3 {
		return syntaxError("setextradata", "Incorrect number of parameters")
	}
	c.sleep("setextradata")
	return c.store.Update(func(st *State) error {
		m := st.Find(args[0])
		if ferr, _ := c.fault(st, "setextradata", args[0], m); ferr != nil {
			return ferr
		}
		if m == nil {
			return notFound(args[0], findContext)
		}
		if len(args) == 2 || args[2] == "" {
			delete(m.Extra, args[1])
			return nil
		}
		if m.Extra == nil {
			m.Extra = map[string]string{}
		}
		m.Extra[args[1]] = args[2]
		return nil
	})
}

func (c *cli) guestProperty(args []string) error {
	if len(args) < 2 {
		return syntaxError("guestproperty", "Incorrect number of parameters")
	}
	sub, vm := args[0], args[1]
	c.sleep("guestproperty")
	return c.store.Update(func(st *State) error {
		m := st.Find(vm)
		if ferr, _ := c.fault(st, "guestproperty", vm, m); ferr != nil {
			return ferr
		}
		if m == nil {
			return notFound(vm, findContext)
		}
		switch {
		case sub == "get" && len(args) >= 3:
			if v, ok := m.Props[args[2]]; ok {
				fmt.Fprintf(c.out, "Value: %s\n", v)
			} else {
				fmt.Fprintln(c.out, "No value set!")
			}
		case sub == "set" && len(args) >= 3:
			if m.State == StateSaved {
				return apiError("The machine is not mutable (state is Saved)", "VBOX_E_INVALID_VM_STATE", "SessionMachine", "IMachine",
					"SetGuestProperty(Bstr(pszName).raw(), Bstr(pszValue).raw(), Bstr(pszFlags).raw())")
			}
			if m.Props == nil {
				m.Props = map[string]string{}
			}
			if len(args) == 3 {
				delete(m.Props, args[2])
			} else {
				m.Props[args[2]] = args[3]
			}
		case sub == "enumerate":
			keys := make([]string, 0, len(m.Props))
			for k := range m.Props {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(c.out, "Name: %s, value: %s, timestamp: 0, flags: \n", k, m.Props[k])
			}
		default:
			return syntaxError("guestproperty", "Invalid parameter '%s'", sub)
		}
		return nil
	})
}
