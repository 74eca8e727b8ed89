// `agent status --fleet`, the durability part (issue 18): every host's lease in
// <ns>:fleet:leases judged by Redis server time, workers of a host whose lease
// ended shown dead, and the jobs recently taken back from dead hosts
// (<ns>:fleet:recovered).
package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/fleet-agent/fleet/queue"
)

// recoveredShown is how many recovered jobs the fleet view lists.
const recoveredShown = 10

// markLeaseEnded marks dead the workers of hosts whose lease ended before now (server time).
func markLeaseEnded(workers []fleetWorker, leases []queue.Lease, now time.Time) {
	ended := map[string]bool{}
	for _, l := range leases {
		ended[l.Host] = now.After(l.Until)
	}
	for i := range workers {
		if ended[workers[i].Host] {
			workers[i].Dead = true
		}
	}
}

// fleetJSON is `agent status --fleet --json`: the text view's three parts.
type fleetJSON struct {
	// ServerTime is Redis server time, which leases are judged by.
	ServerTime time.Time         `json:"server_time"`
	Workers    []fleetWorker     `json:"workers"`
	Leases     []leaseJSON       `json:"leases"`
	Recovered  []queue.Recovered `json:"recovered"`
}

// leaseJSON is one host's lease: live with how long it still runs, or ended how long ago.
type leaseJSON struct {
	Host       string    `json:"host"`
	Until      time.Time `json:"until"`
	Live       bool      `json:"live"`
	EndsInMS   int64     `json:"ends_in_ms,omitempty"`
	EndedMSAgo int64     `json:"ended_ms_ago,omitempty"`
}

// fleetView puts the fleet view together for JSON, lists never null, leases soonest-ending first.
func fleetView(workers []fleetWorker, leases []queue.Lease, recovered []queue.Recovered, now time.Time) fleetJSON {
	v := fleetJSON{ServerTime: now.UTC(), Workers: workers, Leases: []leaseJSON{}, Recovered: recovered}
	if v.Workers == nil {
		v.Workers = []fleetWorker{}
	}
	if v.Recovered == nil {
		v.Recovered = []queue.Recovered{}
	}
	slices.SortFunc(leases, func(a, b queue.Lease) int { return a.Until.Compare(b.Until) })
	for _, l := range leases {
		lj := leaseJSON{Host: l.Host, Until: l.Until.UTC(), Live: !now.After(l.Until)}
		if lj.Live {
			lj.EndsInMS = l.Until.Sub(now).Milliseconds()
		} else {
			lj.EndedMSAgo = now.Sub(l.Until).Milliseconds()
		}
		v.Leases = append(v.Leases, lj)
	}
	return v
}

// renderDurability prints the host leases and the recently recovered jobs.
func renderDurability(w io.Writer, leases []queue.Lease, recovered []queue.Recovered, now time.Time) error {
	ew := &errWriter{w: w}
	if len(leases) > 0 {
		slices.SortFunc(leases, func(a, b queue.Lease) int { return a.Until.Compare(b.Until) })
		fmt.Fprintln(ew, "\nHost leases (Redis server time):")
		tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "HOST\tLEASE")
		for _, l := range leases {
			state := "live, ends in " + l.Until.Sub(now).Round(time.Second).String()
			if now.After(l.Until) {
				state = "ENDED " + age(now, l.Until) + " ago (its jobs are recovered by the other hosts)"
			}
			fmt.Fprintf(tw, "%s\t%s\n", l.Host, state)
		}
		tw.Flush()
	}
	if len(recovered) > 0 {
		fmt.Fprintln(ew, "\nRecently recovered jobs (newest first):")
		tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "JOB\tQUEUE\tDEAD HOST\tATTEMPT\tAT")
		for _, r := range recovered {
			at := r.At
			if t, err := time.Parse(time.RFC3339, r.At); err == nil {
				at = age(now, t) + " ago"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", r.JobID, r.Queue, r.DeadHost, r.Attempt, at)
		}
		tw.Flush()
	}
	return ew.err
}
