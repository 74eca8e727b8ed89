package vbox

// Every real capture in testdata/samples is a test case: each file is run through the parsers
// and the classifier its kind calls for, with LF and with CRLF line endings, and the result is
// compared with testdata/samples/golden/<file>.json. Run `go test ./vbox -run TestSamples
// -update` to rewrite the golden files after a deliberate change, and read the diff.

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// sampleKinds says what each sample is: which parsers apply and, for command outputs, the
// exit code the capture's header records.
var sampleKinds = map[string]struct {
	kinds []string
	exit  int
}{
	"clonehd-success-5.0.txt":                              {[]string{"cmd"}, 0},
	"clonevm-success.txt":                                  {[]string{"cmd"}, 0},
	"controlvm-error-invalid-state-poweredoff-windows.txt": {[]string{"cmd"}, 1},
	"controlvm-error-not-running-5.0.txt":                  {[]string{"cmd"}, 1},
	"controlvm-natpf-delete-missing-windows.txt":           {[]string{"cmd"}, 1},
	"controlvm-natpf-rule-exists-windows.txt":              {[]string{"cmd"}, 1},
	"controlvm-savestate-progress.txt":                     {[]string{"cmd"}, 0},
	"createvm-4.0.txt":                                     {[]string{"cmd"}, 0},
	"error-createhd-progress-failure-5.1.txt":              {[]string{"cmd"}, 1},
	"error-createvm-settings-file-exists-windows.txt":      {[]string{"cmd"}, 1},
	"error-guestcontrol-logon-windows.txt":                 {[]string{"cmd"}, 1},
	"error-hard-disk-already-exists-clonehd.txt":           {[]string{"cmd"}, 1},
	"error-not-found-4.0.txt":                              {[]string{"cmd"}, 1},
	"error-not-found-showvminfo-5.x.txt":                   {[]string{"cmd"}, 1},
	"error-object-not-ready-truncated.txt":                 {[]string{"cmd"}, 1},
	"error-saved-state-invalid-truncated.txt":              {[]string{"cmd"}, 1},
	"error-snapshot-take-while-stopping-4.2.txt":           {[]string{"cmd"}, 1},
	"error-syntax-import-7.0-windows.txt":                  {[]string{"cmd"}, 2},
	"export-success-5.0.txt":                               {[]string{"cmd"}, 0},
	"guestproperty-get-unset.txt":                          {[]string{"value"}, 0},
	"guestproperty-get-value.txt":                          {[]string{"value"}, 0},
	"guestproperty-set-error-not-mutable-saved.txt":        {[]string{"cmd"}, 1},
	"import-dry-run-5.0-vagrant-fixture.txt":               {[]string{"cmd"}, 0},
	"import-dry-run-6.0-vagrant-fixture.txt":               {[]string{"cmd"}, 0},
	"import-error-hard-disk-uuid-exists-4.2.txt":           {[]string{"cmd"}, 1},
	"import-error-ovf-medium-6.1.txt":                      {[]string{"cmd"}, 1},
	"import-error-settings-file-exists-4.3.txt":            {[]string{"cmd"}, 1},
	"list-bridgedifs-7.0-macos.txt":                        {[]string{"blocks"}, 0},
	"list-dhcpservers-5.x.txt":                             {[]string{"blocks"}, 0},
	"list-dhcpservers-6.1.txt":                             {[]string{"blocks"}, 0},
	"list-hostonlyifs-5.2-one-down.txt":                    {[]string{"blocks"}, 0},
	"list-hostonlyifs-5.x.txt":                             {[]string{"blocks"}, 0},
	"list-hostonlyifs-6.x.txt":                             {[]string{"blocks"}, 0},
	"list-hostonlyifs-windows.txt":                         {[]string{"blocks"}, 0},
	"list-hostonlynets-7.0-macos.txt":                      {[]string{"blocks"}, 0},
	"list-long-vms-4.3-excerpt.txt":                        {[]string{"blocks", "list"}, 0},
	"list-natnets-5.2.txt":                                 {[]string{"blocks"}, 0},
	"list-ostypes-6.1-excerpt.txt":                         {[]string{"blocks"}, 0},
	"list-runningvms-6.1.txt":                              {[]string{"list"}, 0},
	"list-runningvms-long-6.1.txt":                         {[]string{"blocks"}, 0},
	"list-systemproperties-7.0.txt":                        {[]string{"blocks"}, 0},
	"list-vms-10.txt":                                      {[]string{"list"}, 0},
	"list-vms-6.1.txt":                                     {[]string{"list"}, 0},
	"list-vms-inaccessible.txt":                            {[]string{"list"}, 0},
	"list-vms-name-with-newline.txt":                       {[]string{"list"}, 0},
	"list-vms.txt":                                         {[]string{"list"}, 0},
	"modifyvm-error-lock-efail-windows.txt":                {[]string{"cmd"}, 1},
	"modifyvm-error-locked-4.2.txt":                        {[]string{"cmd"}, 1},
	"modifyvm-error-not-mutable-saved.txt":                 {[]string{"cmd"}, 1},
	"modifyvm-natpf-delete-missing-5.0.txt":                {[]string{"cmd"}, 1},
	"modifyvm-natpf-delete-missing-windows-5.0.txt":        {[]string{"cmd"}, 1},
	"modifyvm-natpf-rule-exists-windows-5.2.txt":           {[]string{"cmd"}, 1},
	"progress-failure.txt":                                 {[]string{"cmd"}, 1},
	"progress-success.txt":                                 {[]string{"cmd"}, 0},
	"showvminfo-4.1-poweroff.txt":                          {[]string{"info"}, 0},
	"showvminfo-5.0-running-3-forwards.txt":                {[]string{"info"}, 0},
	"showvminfo-5.2-saved.txt":                             {[]string{"info"}, 0},
	"showvminfo-6.0-poweroff-with-snapshot-keys.txt":       {[]string{"info", "snapshots"}, 0},
	"showvminfo-7.0-head-with-encryption-quirk.txt":        {[]string{"info"}, 0},
	"showvminfo-7.0-hostonlynet-fragment.txt":              {[]string{"info", "fragment"}, 0},
	"showvminfo-7.0-poweroff-quirks.txt":                   {[]string{"info"}, 0},
	"showvminfo-human-6.0-windows-running.txt":             {[]string{"info", "blocks"}, 0},
	"snapshot-delete-failure-efail-windows.txt":            {[]string{"cmd"}, 1},
	"snapshot-list-human-nested.txt":                       {[]string{"snapshots"}, 0},
	"snapshot-list-human-with-description.txt":             {[]string{"snapshots"}, 0},
	"snapshot-list-nested.txt":                             {[]string{"snapshots"}, 0},
	"snapshot-list-none.txt":                               {[]string{"snapshots", "cmd"}, 1},
	"snapshot-restore-5.1.txt":                             {[]string{"cmd"}, 0},
	"snapshot-take.txt":                                    {[]string{"cmd", "taken"}, 0},
	"startvm-error-already-locked-linux.txt":               {[]string{"cmd"}, 1},
	"startvm-error-medium-uuid-mismatch-windows.txt":       {[]string{"cmd"}, 1},
	"startvm-error-vtx-windows.txt":                        {[]string{"cmd"}, 0},
	"startvm-headless-success.txt":                         {[]string{"cmd"}, 0},
	"unregistervm-delete-progress-failure-4.3-windows.txt": {[]string{"cmd"}, 1},
	"unregistervm-delete-success.txt":                      {[]string{"cmd"}, 0},
	"version-4.1.2-ubuntu-with-warning.txt":                {[]string{"version"}, 0},
	"version-5.2.4.txt":                                    {[]string{"version"}, 0},
	"version-7.0.14.txt":                                   {[]string{"version"}, 0},
}

// readSample returns a sample without its "# SOURCE:" line.
func readSample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "samples", name))
	if err != nil {
		tb.Fatal(err)
	}
	first, rest, ok := bytes.Cut(b, []byte("\n"))
	if !ok || !bytes.HasPrefix(first, []byte("# SOURCE:")) {
		tb.Fatalf("%s: first line is not a # SOURCE: line", name)
	}
	return rest
}

func crlf(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }

// className names the sentinel err matches, for golden files.
func className(err error) string {
	for _, c := range []struct {
		err  error
		name string
	}{
		{ErrNotFound, "ErrNotFound"}, {ErrLocked, "ErrLocked"}, {ErrTransient, "ErrTransient"},
		{ErrInvalidState, "ErrInvalidState"}, {ErrAlreadyExists, "ErrAlreadyExists"},
		{ErrUsage, "ErrUsage"}, {ErrNotInstalled, "ErrNotInstalled"},
		{ErrUnexpectedOutput, "ErrUnexpectedOutput"},
	} {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	if err != nil {
		return "unclassified"
	}
	return ""
}

// sampleResult is what a sample parses to; each kind fills its own field.
type sampleResult struct {
	Version   *Version          `json:"version,omitempty"`
	List      []VMRef           `json:"list,omitempty"`
	Info      *VMInfo           `json:"info,omitempty"`
	InfoRaw   int               `json:"info_raw_entries,omitempty"`
	Fragment  *VMInfo           `json:"fragment,omitempty"`
	Snapshots *SnapshotTree     `json:"snapshots,omitempty"`
	Blocks    []Block           `json:"blocks,omitempty"`
	Cmd       *cmdOutcome       `json:"cmd,omitempty"`
	Value     *valueOutcome     `json:"value,omitempty"`
	Taken     string            `json:"taken,omitempty"`
	Errors    map[string]string `json:"errors,omitempty"` // kind -> error class
}

type cmdOutcome struct {
	Class    string   `json:"class"`
	Code     string   `json:"code,omitempty"`
	Hex      string   `json:"hex,omitempty"`
	Message  string   `json:"message,omitempty"`
	Progress Progress `json:"progress"`
}

type valueOutcome struct {
	Value string `json:"value"`
	Set   bool   `json:"set"`
}

func parseSample(out []byte, kinds []string, exit int) sampleResult {
	var r sampleResult
	fail := func(kind string, err error) {
		if r.Errors == nil {
			r.Errors = map[string]string{}
		}
		r.Errors[kind] = className(err)
	}
	for _, k := range kinds {
		switch k {
		case "version":
			v, err := ParseVersion(out)
			if err != nil {
				fail(k, err)
				continue
			}
			r.Version = &v
		case "list":
			refs, err := ParseList(out)
			if err != nil {
				fail(k, err)
				continue
			}
			r.List = refs
		case "info":
			info, err := ParseVMInfo(out)
			if err != nil {
				fail(k, err)
				continue
			}
			r.InfoRaw, info.Raw = len(info.Raw), nil
			r.Info = info
		case "fragment":
			// A capture of the NIC section alone: parse it after a synthetic identity line.
			info, err := ParseVMInfo(append([]byte("name=\"fragment\"\n"), out...))
			if err != nil {
				fail(k, err)
				continue
			}
			r.Fragment = &VMInfo{NICs: info.NICs, Forwards: info.Forwards}
		case "snapshots":
			tree, err := ParseSnapshots(out)
			if err != nil {
				fail(k, err)
				continue
			}
			r.Snapshots = tree
		case "blocks":
			r.Blocks = ParseBlocks(out)
		case "value":
			v, ok, err := parseValue(out)
			if err != nil {
				fail(k, err)
				continue
			}
			r.Value = &valueOutcome{Value: v, Set: ok}
		case "taken":
			uuid, err := parseSnapshotTaken(out)
			if err != nil {
				fail(k, err)
				continue
			}
			r.Taken = uuid
		case "cmd":
			// Captures merge stdout and stderr; the classifier only reads error lines, so
			// stdout lines in the mix must not change the outcome.
			c := &cmdOutcome{Progress: ParseProgress(out)}
			err := Classify([]string{"cmd"}, exit, out)
			c.Class = className(err)
			var ce *CmdError
			if errors.As(err, &ce) {
				c.Code, c.Hex, c.Message = ce.Code, ce.Hex, ce.Message
			}
			r.Cmd = c
		}
	}
	return r
}

func TestSamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "samples", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		seen[name] = true
		kind, ok := sampleKinds[name]
		if !ok {
			t.Errorf("%s: no entry in sampleKinds: say what the sample is", name)
			continue
		}
		t.Run(strings.TrimSuffix(name, ".txt"), func(t *testing.T) {
			lf := readSample(t, name)
			got := parseSample(lf, kind.kinds, kind.exit)
			gotCRLF := parseSample(crlf(lf), kind.kinds, kind.exit)
			if diff := cmp.Diff(got, gotCRLF); diff != "" {
				t.Errorf("CRLF parse differs from LF (-lf +crlf):\n%s", diff)
			}
			js, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			js = append(js, '\n')
			golden := filepath.Join("testdata", "samples", "golden", strings.TrimSuffix(name, ".txt")+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, js, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(js)); diff != "" {
				t.Errorf("parse result differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
	var missing []string
	for name := range sampleKinds {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("sampleKinds lists files missing from testdata/samples: %v", missing)
	}
}
