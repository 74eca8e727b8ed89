package portstest

import "testing"

func TestRangesAreDisjointWhileHeld(t *testing.T) {
	seen := map[int]bool{}
	for range 10 {
		r := Range(t)
		if r[1]-r[0] != blockSize-1 || r[0] < first || r[1] >= 32768 {
			t.Fatalf("Range = %v: want a 100-port block below the ephemeral range", r)
		}
		if seen[r[0]] {
			t.Fatalf("block %v handed out twice while held", r)
		}
		seen[r[0]] = true
	}
}
