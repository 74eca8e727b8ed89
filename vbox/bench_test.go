package vbox

import "testing"

// Benchmarks of the parsers on the largest real captures. Repeat with:
// go test ./vbox -run '^$' -bench . -benchmem
func BenchmarkParseVMInfo(b *testing.B) {
	out := readSample(b, "showvminfo-5.2-saved.txt")
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		if _, err := ParseVMInfo(out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseList(b *testing.B) {
	out := readSample(b, "list-vms-10.txt")
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		if _, err := ParseList(out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseSnapshots(b *testing.B) {
	out := readSample(b, "snapshot-list-nested.txt")
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		if _, err := ParseSnapshots(out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClassify(b *testing.B) {
	stderr := readSample(b, "import-error-settings-file-exists-4.3.txt")
	args := []string{"import", "box.ovf"}
	for b.Loop() {
		if Classify(args, 1, stderr) == nil {
			b.Fatal("no error")
		}
	}
}
