package vbox

import (
	"errors"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	locked := "VBoxManage: error: The machine 'w1' is already locked for a session (or being unlocked)\n" +
		"VBoxManage: error: Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007), component MachineWrap, interface IMachine, callee nsISupports\n"
	tests := []struct {
		name      string
		exit      int
		stderr    string
		wantNil   bool
		wantClass error
		wantMsg   string
	}{
		{name: "exit 0 with progress only is success", exit: 0, stderr: "0%...10%...100%\n", wantNil: true},
		{name: "exit 0 with warning only is success", exit: 0, stderr: "VBoxManage: warning: something odd\n", wantNil: true},
		{name: "exit 0 with an error block is a failure", exit: 0,
			stderr: "VBoxManage.exe: error: VT-x is not available. (VERR_VMX_NO_VMX)\n", wantMsg: "VT-x is not available. (VERR_VMX_NO_VMX)"},
		{name: "lock error is retryable", exit: 1, stderr: locked, wantClass: ErrLocked,
			wantMsg: "The machine 'w1' is already locked for a session (or being unlocked)"},
		{name: "lock error with CRLF", exit: 1, stderr: strings.ReplaceAll(locked, "\n", "\r\n"), wantClass: ErrLocked,
			wantMsg: "The machine 'w1' is already locked for a session (or being unlocked)"},
		{name: "unregister while locked, text only", exit: 1,
			stderr: "VBoxManage: error: Cannot unregister the machine 'w1' while it is locked\n", wantClass: ErrLocked},
		{name: "hex code without English text", exit: 1,
			stderr:    "VBoxManage: error: Ce nom n'existe pas\nVBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), component VirtualBoxWrap\n",
			wantClass: ErrNotFound},
		{name: "server exec failure is transient", exit: 1,
			stderr:    "VBoxManage: error: Failed to create the VirtualBox object!\nVBoxManage: error: Code CO_E_SERVER_EXEC_FAILURE (0x80080005) - Server execution failed (extended info not available)\n",
			wantClass: ErrTransient},
		{name: "snapshot not found", exit: 1,
			stderr:    "VBoxManage: error: Could not find a snapshot named 'ready'\nVBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001), component SnapshotWrap\n",
			wantClass: ErrNotFound},
		{name: "restore while running", exit: 1,
			stderr: "VBoxManage: error: Cannot delete the current state of the running machine (machine state: Running)\n", wantClass: ErrInvalidState},
		{name: "savestate on a powered-off console", exit: 1,
			stderr: "VBoxManage: error: Machine in invalid state 1 -- powered off\n", wantClass: ErrInvalidState},
		{name: "unknown option is a usage error", exit: 2, stderr: "VBoxManage: error: Unknown option: --bogus\n", wantClass: ErrUsage},
		{name: "modifyvm unknown option after 6.1 usage exits 1 and is a usage error", exit: 1,
			stderr: "Usage:\n\nVBoxManage modifyvm <uuid|vmname>\n\nVBoxManage: error: Unknown option: --nat-localhostreachable1\n", wantClass: ErrUsage},
		{name: "shell cannot find the program", exit: 127, stderr: "", wantClass: ErrNotInstalled},
		{name: "unknown failure is unclassified", exit: 1, stderr: "Segmentation fault\n", wantMsg: "Segmentation fault"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"modifyvm", "w1", "--memory", "1024"}
			err := Classify(args, tt.exit, []byte(tt.stderr))
			if tt.wantNil {
				if err != nil {
					t.Fatalf("Classify = %v, want nil", err)
				}
				return
			}
			var ce *CmdError
			if !errors.As(err, &ce) {
				t.Fatalf("Classify = %v, want a *CmdError", err)
			}
			if tt.wantClass != nil && !errors.Is(err, tt.wantClass) {
				t.Errorf("Classify = %v, want it to match %v", err, tt.wantClass)
			}
			if tt.wantClass == nil && ce.Class != nil {
				t.Errorf("Classify class = %v, want none", ce.Class)
			}
			if ce.ExitCode != tt.exit {
				t.Errorf("ExitCode = %d, want %d", ce.ExitCode, tt.exit)
			}
			if tt.wantMsg != "" && ce.Message != tt.wantMsg {
				t.Errorf("Message = %q, want %q", ce.Message, tt.wantMsg)
			}
			if msg := err.Error(); !strings.Contains(msg, "modifyvm w1 --memory 1024") || !strings.Contains(msg, "exit ") {
				t.Errorf("Error() = %q, want the command and the exit code", msg)
			}
			if Retryable(err) != (errors.Is(err, ErrLocked) || errors.Is(err, ErrTransient)) {
				t.Errorf("Retryable(%v) disagrees with the class", err)
			}
		})
	}
}

func TestCmdErrorQuotesArgsWithSpaces(t *testing.T) {
	err := Classify([]string{"showvminfo", "my vm"}, 1, []byte("VBoxManage: error: Could not find a registered machine named 'my vm'\n"))
	want := `vboxmanage showvminfo "my vm": exit 1: Could not find a registered machine named 'my vm'`
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}
