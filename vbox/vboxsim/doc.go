// Package vboxsim is a VirtualBox simulator: a program invoked exactly like
// VBoxManage that keeps VMs in a state directory, prints what the real tool
// prints (same argv, stdout/stderr split, exit codes and error blocks as the
// captures in ../shared/vbox-samples), fails as it fails, charges
// configurable latencies, injects faults, and gives every running VM a guest
// that serves SSH on its forwarded port with the VM's disk as its files.
//
// It never imports the driver (package vbox): the two are independent
// readings of the same samples, and only tests put them together.
//
// # State
//
// VBOXSIM_HOME (required) holds state.json (machines in registration order,
// snapshot trees, extradata, forwards, fault counters), guarded by an flock
// on state.lock so concurrent simulator processes are safe, and
// machines/<name>/ with the settings file, disk/ (a directory that is the
// guest's filesystem: home/<user>, tmp, bin, etc), Snapshots/<uuid>/ (disk
// copies) and Logs/VBox.log (the guest's output).
//
// A machine is locked (modifyvm, startvm, unregistervm refuse with the real
// VBOX_E_INVALID_OBJECT_STATE messages) while it is running or paused, while
// another simulator process is in the middle of a delayed operation on it,
// and for lock_linger after a poweroff. A linked clone's parent snapshot
// cannot be deleted ("has more than one child hard disk") and its machine
// cannot be unregistered ("cannot be closed because it has N child media";
// the exact text is from Medium::i_close and UNVERIFIED in captures). A
// running VM whose guest process died is reported aborted.
//
// # Commands
//
// --version, list [-s] [-l] vms|runningvms|systemproperties, showvminfo
// [--machinereadable], createvm, unregistervm [--delete], modifyvm (name,
// memory, cpus, ostype, description, macaddress1, --natpf1 rule|delete,
// --nat-localhostreachable1 on|off from 7.0),
// setextradata, getextradata (key|enumerate), guestproperty get|set|enumerate,
// startvm, controlvm poweroff|savestate|pause|resume|acpipowerbutton|natpf1,
// snapshot take|restore|restorecurrent|delete|list, clonevm (full or
// --options link from --snapshot), import (box.ovf whose disk is a
// directory), export (.ovf only). Extra: make-box --out DIR [--user U]
// [--authorized-key PUBFILE] [--bin FILE]... [--name N] writes a
// Vagrant-format box with a sudo stand-in in the disk's bin/.
//
// # Guest
//
// startvm spawns "vboxsim __guest" detached (own session, stdio to
// Logs/VBox.log). It serves SSH (golang.org/x/crypto/ssh) on 127.0.0.1 at the
// host port of the NAT rule whose guest port is 22, with the host key in the
// disk's etc/, accepting a user whose key is in the disk's
// home/<user>/.ssh/authorized_keys. exec requests run /bin/sh -c in their
// own process group with HOME, cwd, TMPDIR and PATH (bin/ first) inside the
// disk; as root and with the disk outside /tmp they run in a mount namespace
// with the disk's tmp bound on /tmp. env, signal (to the whole process group),
// exit-status, exit-signal and keepalive requests are supported; pty and
// sftp are not. Every guest process carries VBOXSIM_GUEST=<vm uuid> in its
// environment, which is how poweroff, savestate and the abort fault find and
// kill everything the guest started. A cold boot writes a new etc/boot_id;
// startvm from a saved state (savestate, or a restored live snapshot) keeps
// it and waits resume_network instead of boot. controlvm natpf1 on a running
// VM changes the rules but the guest keeps listening where it started.
//
// # Version
//
// VBOXSIM_VERSION is what --version prints (default Version, a 7.0 release). Before 7.0,
// modifyvm refuses --nat-localhostreachableN as an unknown option (exit 1, as the real tool)
// and showvminfo prints no localhostReachable; from 7.0 on it prints one per NAT adapter.
// createvm makes a VM whose host loopback is closed on 7.0 (open before); an imported box
// starts open, as a machine from an older VirtualBox does; clones keep their source's setting.
// See version.go for the sources.
//
// # Latency profiles
//
// VBOXSIM_PROFILE is empty (no delays), "realistic" (profiles/realistic.profile,
// every number next to its source in VBOX-TIMINGS.md) or a file path. Lines
// are "op = duration" ("#" comments; "scale = 0.1" multiplies all). Ops:
// version, list, showvminfo, snapshot_list, modifyvm, setextradata,
// guestproperty, createvm, startvm, boot, startvm_saved, resume_network,
// snapshot_take, snapshot_take_live, snapshot_restore, snapshot_delete,
// clonevm_link, clonevm_full, import, export, savestate, poweroff, pause,
// resume, acpi_shutdown, lock_linger, unregistervm.
//
// # Fault injection
//
// HOME/faults.json is a JSON array of Fault rules (use WriteFaults or
// simtest.Sim.Inject). Each rule names an op (list, showvminfo,
// getextradata, setextradata, guestproperty, createvm, import, export,
// modifyvm, unregistervm, startvm, clonevm, snapshot_list, snapshot_take,
// snapshot_restore, snapshot_delete, controlvm_<sub>), optionally a vm, and
// fires on calls nth..nth+times-1 of that op (counters persist in the state).
// Kinds:
//
//	error (default)  print Block (object-not-ready, locked, not-found,
//	                 server-exec-failure, vm-error) or Stderr, exit Exit (1)
//	no-ssh           (startvm) the guest runs but never serves SSH
//	abort            (startvm) the guest dies After its start: VM aborted
//	clone-dies       (clonevm) the target is registered, half its disk is
//	                 copied and clonevm fails; startvm of it then fails
//	lock-linger      (controlvm_poweroff) the session lock stays for After
//
// Example: [{"op":"showvminfo","nth":2,"times":3,"block":"object-not-ready"}]
package vboxsim
