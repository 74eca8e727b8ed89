package reconcile

import (
	"testing"
)

func TestParseWorkerName(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantPool string
		wantN    int
		wantOK   bool
	}{
		{"simple", "ruby-3", "ruby", 3, true},
		{"pool with dash", "windows-later-12", "windows-later", 12, true},
		{"no index", "ruby", "", 0, false},
		{"empty index", "ruby-", "", 0, false},
		{"leading zero", "ruby-03", "", 0, false},
		{"zero", "ruby-0", "", 0, false},
		{"letters", "ruby-x", "", 0, false},
		{"no pool", "-3", "", 0, false},
		{"golden name", "fleet-golden-ruby-0123456789ab", "", 0, false},
		{"too large", "ruby-12345678", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool, n, ok := ParseWorkerName(tt.in)
			if pool != tt.wantPool || n != tt.wantN || ok != tt.wantOK {
				t.Errorf("ParseWorkerName(%q) = %q, %d, %v; want %q, %d, %v", tt.in, pool, n, ok, tt.wantPool, tt.wantN, tt.wantOK)
			}
		})
	}
}

// FuzzParseWorkerName checks that every accepted name round-trips through WorkerName.
func FuzzParseWorkerName(f *testing.F) {
	for _, s := range []string{"ruby-1", "a-b-22", "x-0", "-", "ruby-999999", "é-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pool, n, ok := ParseWorkerName(s)
		if !ok {
			return
		}
		if n < 1 || pool == "" {
			t.Fatalf("accepted %q as pool %q index %d", s, pool, n)
		}
		if got := WorkerName(pool, n); got != s {
			t.Fatalf("WorkerName(ParseWorkerName(%q)) = %q", s, got)
		}
	})
}

// FuzzParseTime checks ParseTime never panics and that what it accepts formats back to a time
// that parses to the same instant.
func FuzzParseTime(f *testing.F) {
	f.Add("2025-03-04T10:00:00Z")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		tm := ParseTime(s)
		if tm.IsZero() {
			return
		}
		if back := ParseTime(tm.Format("2006-01-02T15:04:05.999999999Z07:00")); !back.Equal(tm) {
			t.Fatalf("ParseTime(%q) = %v, round trip %v", s, tm, back)
		}
	})
}
