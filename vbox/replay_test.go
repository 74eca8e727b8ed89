package vbox

// Transcript replay: every transcript (record.go) in -transcripts DIR (default
// testdata/transcripts, the corpus made from testdata/samples and a deep-doctor recording) is
// parsed, each recorded call is run through the classifier, and the same argv is replayed in
// order against a fresh vboxsim. A call disagrees when the simulator's outcome (success or the
// error class) differs from the recorded VBoxManage's, or when the driver's parsers read
// different facts from the two outputs (replay_facts_test.go); each disagreement names the
// call and shows a diff. Any disagreement fails the test, except in the committed samples
// corpus (fragments from many hosts, whose VMs do not exist here), which is logged only;
// -replay-lenient logs instead of failing for every file. Run an operator's transcripts:
//
//	go test ./vbox -run TestReplayTranscripts -v -args -transcripts DIR
//
// `go test ./vbox -run TestTranscriptCorpus -update` rewrites the committed corpus.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/fleet-agent/fleet/vbox/vboxsim"
	"github.com/fleet-agent/fleet/vbox/vboxsim/simtest"
	"github.com/google/go-cmp/cmp"
)

var (
	transcriptsDir = flag.String("transcripts", "testdata/transcripts", "directory of VBoxManage transcripts to replay")
	replayStrict   = flag.Bool("replay-strict", false, "fail on disagreements in the samples corpus too")
	replayLenient  = flag.Bool("replay-lenient", false, "log disagreements instead of failing")
)

// lenientCorpus are the committed transcripts whose disagreements are logged, not failed: the
// samples are single calls captured on other hosts, against VMs the simulator never had.
var lenientCorpus = map[string]bool{"samples.jsonl": true}

// strictFor reports whether disagreements in file fail the test.
func strictFor(file string) bool {
	switch {
	case *replayLenient:
		return false
	case *replayStrict:
		return true
	}
	return !(*transcriptsDir == "testdata/transcripts" && lenientCorpus[filepath.Base(file)])
}

// classOfResult names the class Classify gives a call's outcome ("ok" for success).
func classOfResult(args []string, exit int, stderr string) string {
	err := Classify(args, exit, []byte(stderr))
	if err == nil {
		return "ok"
	}
	for _, c := range []error{ErrNotFound, ErrLocked, ErrTransient, ErrInvalidState, ErrAlreadyExists, ErrUsage, ErrNotInstalled, ErrUnexpectedOutput} {
		if errors.Is(err, c) {
			return c.Error()
		}
	}
	return "other"
}

func TestReplayTranscripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(*transcriptsDir, "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no transcripts (*.jsonl) in %s", *transcriptsDir)
	}
	calls, disagree := 0, 0
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			entries, err := ParseTranscript(f)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			for _, d := range replay(t, simtest.New(t), entries) {
				disagree++
				if strictFor(file) {
					t.Errorf("%s %s", filepath.Base(file), d)
				} else {
					t.Logf("%s %s", filepath.Base(file), d)
				}
			}
			calls += len(entries)
		})
	}
	t.Logf("replayed %d calls from %d transcripts; vboxsim disagreed on %d", calls, len(files), disagree)
}

// replay runs entries in order against sim and returns one line per call where the
// simulator's outcome class differs from the recorded one. UUIDs differ between the recording
// host and the simulator: each UUID a recorded output shows is paired with the one the
// simulator printed in the same place, and later arguments naming it are rewritten. An import
// of a box that no longer exists (the recording host's path) imports a box made in sim instead.
func replay(t *testing.T, sim *simtest.Sim, entries []Entry) []string {
	t.Helper()
	var out []string
	uuids := map[string]string{}  // recorded -> simulator's
	labels := map[string]string{} // recorded -> uuid#N, for fact diffs
	for i, e := range entries {
		args := make([]string, len(e.Args))
		for j, a := range e.Args {
			args[j] = uuidRe.ReplaceAllStringFunc(a, func(u string) string {
				if m, ok := uuids[strings.ToLower(u)]; ok {
					return m
				}
				return u
			})
		}
		if len(args) > 1 && args[0] == "import" && (strings.HasSuffix(args[1], ".ovf") || strings.HasSuffix(args[1], ".ova")) {
			if _, err := os.Stat(args[1]); err != nil {
				args[1] = sim.MakeBox(t, recordedBox(e.Stdout))
			}
		}
		real := classOfResult(e.Args, e.Exit, e.Stderr)
		sout, serr, code := sim.Run(t, args...)
		rec, got := uuidRe.FindAllString(e.Stdout, -1), uuidRe.FindAllString(sout, -1)
		for j := 0; j < len(rec) && j < len(got); j++ {
			if _, ok := uuids[strings.ToLower(rec[j])]; !ok {
				uuids[strings.ToLower(rec[j])] = got[j]
			}
		}
		if got := classOfResult(e.Args, code, serr); got != real {
			out = append(out, fmt.Sprintf("call %d %q: real VBoxManage %s (exit %d), vboxsim %s (exit %d): %s",
				i+1, e.Args, real, e.Exit, got, code, firstLine(serr)))
			continue
		}
		if d := compareFacts(e, sout, code, uuids, labels); d != "" {
			out = append(out, fmt.Sprintf("call %d %q: %s", i+1, e.Args, d))
		}
	}
	return out
}

// compareFacts parses the recorded output and the simulator's with the driver's parsers and
// describes how the facts differ ("" when they agree or the call's output is not parsed).
// Recorded UUIDs are named by order of first appearance; the simulator's through the pairing.
func compareFacts(e Entry, simOut string, simExit int, pairs, labels map[string]string) string {
	label := func(u string) string {
		if u == "" {
			return ""
		}
		u = strings.ToLower(u)
		if l, ok := labels[u]; ok {
			return l
		}
		labels[u] = fmt.Sprintf("uuid#%d", len(labels)+1)
		return labels[u]
	}
	back := map[string]string{}
	for rec, sim := range pairs {
		back[strings.ToLower(sim)] = rec
	}
	simLabel := func(u string) string {
		if u == "" {
			return ""
		}
		if rec, ok := back[strings.ToLower(u)]; ok {
			return label(rec)
		}
		return "unpaired:" + strings.ToLower(u)
	}
	real, ok, err := callFacts(e.Args, e.Exit, e.Stdout, label)
	if !ok {
		return ""
	}
	if err != nil {
		return fmt.Sprintf("the driver cannot parse the recorded output: %v", err)
	}
	sim, _, err := callFacts(e.Args, simExit, simOut, simLabel)
	if err != nil {
		return fmt.Sprintf("the driver cannot parse vboxsim's output: %v", err)
	}
	if d := cmp.Diff(real, sim); d != "" {
		return "the driver reads different facts (-real VBoxManage +vboxsim):\n" + d
	}
	return ""
}

// recordedBox is a box like the one a recorded import read: the CPUs and memory its output
// lists (" 5: Number of CPUs: 1", " 6: Guest memory: 64 MB"), so the imported VM's facts can
// agree with the recording.
func recordedBox(importOut string) vboxsim.BoxOptions {
	var o vboxsim.BoxOptions
	if m := importCPUs.FindStringSubmatch(importOut); m != nil {
		o.CPUs, _ = strconv.Atoi(m[1])
	}
	if m := importMemory.FindStringSubmatch(importOut); m != nil {
		o.Memory, _ = strconv.Atoi(m[1])
	}
	return o
}

var (
	importCPUs   = regexp.MustCompile(`(?m)^\s*\d+: Number of CPUs: (\d+)`)
	importMemory = regexp.MustCompile(`(?m)^\s*\d+: Guest memory: (\d+) MB`)
)

var uuidRe = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// TestReplayOfASimulatorRecordingAgrees: a transcript recorded from vboxsim replays against a
// fresh vboxsim with no disagreement, so every disagreement the harness reports for a real
// transcript is a difference between the simulator and VirtualBox.
func TestReplayOfASimulatorRecordingAgrees(t *testing.T) {
	src := simtest.New(t)
	rec := t.TempDir()
	d := New(Config{Manage: src.Bin, Env: src.Env(), Record: rec, LockDir: t.TempDir(), Retries: -1,
		PortRange: [2]int{42300, 42399}}, nil)
	ctx := context.Background()
	ovf := src.MakeBox(t, vboxsim.BoxOptions{Memory: 256, CPUs: 1})
	if _, err := d.Version(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Import(ctx, ovf, "replay-vm", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.State(ctx, "replay-vm"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.State(ctx, "no-such-vm"); err == nil {
		t.Fatal("State of a missing VM succeeded")
	}
	files, _ := filepath.Glob(filepath.Join(rec, "*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("transcripts = %v, want 1", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	entries, err := ParseTranscript(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 4 {
		t.Fatalf("recorded %d calls, want at least 4:\n%s", len(entries), b)
	}
	for _, d := range replay(t, simtest.New(t), entries) {
		t.Error(d)
	}
}

// splitCommand splits a sample header's shell-like command, honouring double quotes.
func splitCommand(s string) []string {
	var out []string
	var cur strings.Builder
	in, any := false, false
	for _, r := range s {
		switch {
		case r == '"':
			in, any = !in, true
		case r == ' ' && !in:
			if any {
				out = append(out, cur.String())
			}
			cur.Reset()
			any = false
		default:
			cur.WriteRune(r)
			any = true
		}
	}
	if any {
		out = append(out, cur.String())
	}
	if len(out) > 0 {
		switch strings.ToLower(strings.TrimSuffix(strings.ToLower(out[0]), ".exe")) {
		case "vboxmanage", "vbm":
			out = out[1:]
		}
	}
	return out
}

// corpusEntry turns one sample capture into a transcript entry: the argv from the header's
// backticked command, the body as stdout (exit 0) or stderr (otherwise).
func corpusEntry(name string, raw []byte, exit int) (Entry, string) {
	lines := strings.Split(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n")
	header := ""
	var body []string
	for _, l := range lines {
		if strings.HasPrefix(l, "#") {
			if header == "" {
				header = l
			}
			continue
		}
		body = append(body, l)
	}
	args := []string{"unknown"}
	if _, rest, ok := strings.Cut(header, "`"); ok {
		if cmdline, _, ok := strings.Cut(rest, "`"); ok {
			if a := splitCommand(cmdline); len(a) > 0 {
				args = a
			}
		}
	}
	text := strings.Join(body, "\n")
	e := Entry{Format: TranscriptFormat, Args: args, Exit: exit, HostOS: "unknown", Duration: "0s"}
	if exit == 0 {
		e.Stdout = text
	} else {
		e.Stderr = text
	}
	return e, "# sample " + name + ": " + strings.TrimPrefix(header, "# ")
}

// TestTranscriptCorpus keeps testdata/transcripts/samples.jsonl equal to what the samples
// make, so the corpus cannot drift from them.
func TestTranscriptCorpus(t *testing.T) {
	var buf bytes.Buffer
	buf.WriteString("# Transcript corpus made from testdata/samples by TestTranscriptCorpus (-update rewrites it).\n")
	buf.WriteString("# Sample captures record no duration, version or host OS; progress and output are not separated.\n")
	names := make([]string, 0, len(sampleKinds))
	for n := range sampleKinds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		k := sampleKinds[n]
		isCmd := false
		for _, kind := range k.kinds {
			isCmd = isCmd || kind == "cmd"
		}
		if !isCmd {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("testdata", "samples", n))
		if err != nil {
			t.Fatal(err)
		}
		e, comment := corpusEntry(n, raw, k.exit)
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString(comment + "\n")
		buf.Write(append(b, '\n'))
	}
	path := filepath.Join("testdata", "transcripts", "samples.jsonl")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to make the corpus)", err)
	}
	if diff := cmp.Diff(buf.String(), string(got)); diff != "" {
		t.Errorf("%s is stale (-want +got), run with -update:\n%s", path, diff)
	}
	if _, err := ParseTranscript(bytes.NewReader(got)); err != nil {
		t.Errorf("corpus does not parse: %v", err)
	}
}

// TestReplayOfADeepDoctorRecording: the committed transcript of an `agent doctor --deep` run on
// vboxsim (import, linked clone, snapshots, start, power off, restore, unregister) replays
// against a fresh vboxsim with no disagreement; with one recorded outcome edited, replay
// reports exactly that call.
func TestReplayOfADeepDoctorRecording(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "transcripts", "doctor-deep-vboxsim.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, err := ParseTranscript(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("as recorded", func(t *testing.T) {
		for _, d := range replay(t, simtest.New(t), entries) {
			t.Error(d)
		}
	})
	t.Run("one output edited", func(t *testing.T) {
		tampered := append([]Entry(nil), entries...)
		n := -1
		for i, e := range tampered {
			if e.Args[0] == "clonevm" {
				n = i
			}
		}
		if n < 0 {
			t.Fatal("no clonevm call in the transcript")
		}
		tampered[n].Exit, tampered[n].Stdout = 1, ""
		tampered[n].Stderr = "VBoxManage: error: Could not find a registered machine named 'x'\n"
		got := replay(t, simtest.New(t), tampered)
		want := fmt.Sprintf("call %d %q: real VBoxManage %s", n+1, tampered[n].Args, ErrNotFound.Error())
		if len(got) != 1 || !strings.HasPrefix(got[0], want) {
			t.Errorf("disagreements = %q, want one starting %q", got, want)
		}
	})
}

// TestReplayOfAnEditedRecordingFailsNamingTheCall: the same simulator recording with one
// output edited (the VM's state or memory as real VBoxManage never printed it) or one exit
// code changed disagrees, on exactly that call, with a diff of what the driver reads.
func TestReplayOfAnEditedRecordingFailsNamingTheCall(t *testing.T) {
	src := simtest.New(t)
	rec := t.TempDir()
	d := New(Config{Manage: src.Bin, Env: src.Env(), Record: rec, LockDir: t.TempDir(), Retries: -1,
		PortRange: [2]int{42400, 42499}}, nil)
	ctx := context.Background()
	if _, err := d.Import(ctx, src.MakeBox(t, vboxsim.BoxOptions{Memory: 256, CPUs: 1}), "edit-vm", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Info(ctx, "edit-vm"); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(rec, "*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("transcripts = %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	clean, err := ParseTranscript(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	info := -1
	for i, e := range clean {
		if len(e.Args) > 0 && e.Args[0] == "showvminfo" && strings.Contains(e.Stdout, "memory=256") {
			info = i
		}
	}
	if info < 0 {
		t.Fatalf("no showvminfo call with memory=256 recorded:\n%s", b)
	}
	if ds := replay(t, simtest.New(t), clean); len(ds) != 0 {
		t.Fatalf("the unedited recording disagrees: %q", ds)
	}
	for _, tc := range []struct {
		name string
		edit func(e *Entry)
		want string
	}{
		{"memory edited", func(e *Entry) { e.Stdout = strings.Replace(e.Stdout, "memory=256", "memory=1024", 1) },
			`"memory=1024"`},
		{"state edited", func(e *Entry) {
			e.Stdout = strings.Replace(e.Stdout, `VMState="poweroff"`, `VMState="running"`, 1)
		}, `"state=running"`},
		{"exit code edited", func(e *Entry) {
			e.Exit = 1
			e.Stderr = "VBoxManage: error: Could not find a registered machine named 'edit-vm'\n"
		},
			"real VBoxManage vbox: not found (exit 1), vboxsim ok (exit 0)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edited := append([]Entry(nil), clean...)
			tc.edit(&edited[info])
			ds := replay(t, simtest.New(t), edited)
			if len(ds) != 1 {
				t.Fatalf("disagreements = %q, want exactly the edited call", ds)
			}
			prefix := fmt.Sprintf("call %d %q", info+1, clean[info].Args)
			if !strings.HasPrefix(ds[0], prefix) || !strings.Contains(ds[0], tc.want) {
				t.Errorf("disagreement\n%s\nwant it to start %q and show %q", ds[0], prefix, tc.want)
			}
		})
	}
}
