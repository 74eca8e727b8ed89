package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ev builds an item from "run:kind" with size for logs.
func ev(spec string, size int) *item {
	run, kind, _ := strings.Cut(spec, ":")
	return &item{kind: kind, jobID: run, runID: run, size: size}
}

func render(items []*item) []string {
	var out []string
	for _, it := range items {
		s := it.runID + ":" + it.kind
		if it.dropped > 0 {
			s += fmt.Sprintf("+%d", it.dropped)
		}
		out = append(out, s)
	}
	return out
}

func TestQueueDropPolicy(t *testing.T) {
	tests := []struct {
		name            string
		maxEvents, maxB int
		push            []string
		wantQueue       []string
		wantDropped     int
		wantCarry       map[string]int
	}{
		{
			name: "under the bound nothing drops", maxEvents: 4, maxB: 100,
			push:      []string{"a:received", "a:log", "a:finished"},
			wantQueue: []string{"a:received", "a:log", "a:finished"},
		},
		{
			name: "oldest log batch goes first and its drop rides the next event of its run", maxEvents: 3, maxB: 100,
			push:        []string{"a:received", "a:log", "b:log", "a:finished"},
			wantQueue:   []string{"a:received", "b:log", "a:finished+1"},
			wantDropped: 1,
		},
		{
			name: "a run's earlier lifecycle events coalesce into its queued end", maxEvents: 2, maxB: 100,
			push:        []string{"a:received", "a:started", "a:finished"},
			wantQueue:   []string{"a:started+1", "a:finished"},
			wantDropped: 1,
		},
		{
			name: "then the oldest received or started goes, its drop carried by its run's next event", maxEvents: 2, maxB: 100,
			push:        []string{"a:received", "a:finished", "b:received", "b:started", "b:requeued"},
			wantQueue:   []string{"a:finished+1", "b:requeued+2"},
			wantDropped: 3,
		},
		{
			name: "a flood of ends keeps the newest", maxEvents: 2, maxB: 100,
			push:        []string{"a:finished", "b:finished", "c:requeued"},
			wantQueue:   []string{"b:finished", "c:requeued"},
			wantDropped: 1,
		},
		{
			name: "a dropped end leaves nothing to carry", maxEvents: 1, maxB: 100,
			push:        []string{"a:received", "a:finished", "b:finished"},
			wantQueue:   []string{"b:finished"},
			wantDropped: 2,
		},
		{
			name: "a new log batch is dropped when only lifecycle events are older", maxEvents: 2, maxB: 100,
			push:        []string{"a:received", "a:started", "a:log"},
			wantQueue:   []string{"a:received", "a:started"},
			wantDropped: 1,
			wantCarry:   map[string]int{"a": 1},
		},
		{
			name: "carried drops attach to the run's next event", maxEvents: 2, maxB: 100,
			push:        []string{"a:received", "a:started", "a:log", "a:finished"},
			wantQueue:   []string{"a:started+1", "a:finished+1"},
			wantDropped: 2,
		},
		{
			name: "drops accumulate along a run", maxEvents: 3, maxB: 100,
			push:        []string{"a:log", "a:log", "a:log", "a:log", "a:log", "a:finished"},
			wantQueue:   []string{"a:log+3", "a:log", "a:finished"},
			wantDropped: 3,
		},
		{
			name: "byte bound drops logs", maxEvents: 10, maxB: 25,
			push:        []string{"a:log", "b:log", "a:log"},
			wantQueue:   []string{"b:log+0", "a:log+1"},
			wantDropped: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newEventQueue(tt.maxEvents, tt.maxB)
			dropped := 0
			for _, p := range tt.push {
				dropped += len(q.push(ev(p, 10)))
				if q.len() > tt.maxEvents || q.bytes > tt.maxB {
					t.Fatalf("after %s: %d events, %d bytes: over the bound %d/%d", p, q.len(), q.bytes, tt.maxEvents, tt.maxB)
				}
			}
			want := make([]string, len(tt.wantQueue))
			for i, w := range tt.wantQueue {
				want[i] = strings.TrimSuffix(w, "+0")
			}
			if diff := cmp.Diff(want, render(q.items)); diff != "" {
				t.Errorf("queue (-want +got):\n%s", diff)
			}
			if dropped != tt.wantDropped {
				t.Errorf("dropped %d, want %d", dropped, tt.wantDropped)
			}
			wantCarry := tt.wantCarry
			if wantCarry == nil {
				wantCarry = map[string]int{}
			}
			if diff := cmp.Diff(wantCarry, q.carry); diff != "" {
				t.Errorf("carry (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQueueTakesOneEventPerRunInOrder(t *testing.T) {
	q := newEventQueue(100, 1000)
	for _, p := range []string{"a:received", "a:started", "b:received", "a:log", "b:started"} {
		q.push(ev(p, 0))
	}
	var got []string
	first := q.take()  // a:received
	second := q.take() // b:received: a is busy
	got = append(got, render([]*item{first, second})...)
	if q.take() != nil {
		t.Fatal("took a third event while both runs were busy")
	}
	q.putBack(first) // delivery interrupted: a:received is again a's oldest
	q.done(second)
	for it := q.take(); it != nil; it = q.take() {
		got = append(got, render([]*item{it})...)
		q.done(it)
	}
	want := []string{"a:received", "b:received", "a:received", "a:started", "a:log", "b:started"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("take order (-want +got):\n%s", diff)
	}
}
