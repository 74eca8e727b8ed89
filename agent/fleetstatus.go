// `agent status --fleet`: every host's workers, read from Resque's own registry in the shared
// Redis (workers set, worker:<id> "working on" records, workers:heartbeat), so Ruby Resque
// workers and other agents show up alike.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/redis/go-redis/v9"
)

// deadAfter is how old a heartbeat must be for its worker to be shown dead; queue's
// HeartbeatExpiry default.
const deadAfter = 60 * time.Second

// fleetWorker is one registered Resque worker.
type fleetWorker struct {
	ID        string    `json:"id"`
	Host      string    `json:"host"`
	Queues    []string  `json:"queues"`
	Heartbeat time.Time `json:"heartbeat,omitzero"`
	Dead      bool      `json:"dead"`
	Job       string    `json:"job,omitempty"`   // job id (args[0].id) or class
	Queue     string    `json:"queue,omitempty"` // the queue of the job
	Since     time.Time `json:"since,omitzero"`
}

// readFleet reads the registry under namespace ns; now decides which heartbeats are dead.
func readFleet(ctx context.Context, rdb redis.UniversalClient, ns string, now time.Time) ([]fleetWorker, error) {
	ids, err := rdb.SMembers(ctx, ns+":workers").Result()
	if err != nil {
		return nil, fmt.Errorf("read workers: %w", err)
	}
	beats, err := rdb.HGetAll(ctx, ns+":workers:heartbeat").Result()
	if err != nil {
		return nil, fmt.Errorf("read heartbeats: %w", err)
	}
	slices.Sort(ids)
	var out []fleetWorker
	for _, id := range ids {
		w := fleetWorker{ID: id}
		parts := strings.Split(id, ":")
		w.Host = parts[0]
		if len(parts) >= 3 {
			w.Queues = strings.Split(parts[len(parts)-1], ",")
		}
		if b, ok := beats[id]; ok {
			if t, err := time.Parse(time.RFC3339, b); err == nil {
				w.Heartbeat = t
				w.Dead = now.Sub(t) > deadAfter
			}
		} else {
			w.Dead = true
		}
		raw, err := rdb.Get(ctx, ns+":worker:"+id).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("read worker %s: %w", id, err)
		}
		if raw != "" {
			var rec struct {
				Queue   string `json:"queue"`
				RunAt   string `json:"run_at"`
				Payload struct {
					Class string `json:"class"`
					Args  []struct {
						ID string `json:"id"`
					} `json:"args"`
				} `json:"payload"`
			}
			if json.Unmarshal([]byte(raw), &rec) == nil {
				w.Queue, w.Job = rec.Queue, rec.Payload.Class
				if len(rec.Payload.Args) > 0 && rec.Payload.Args[0].ID != "" {
					w.Job = rec.Payload.Args[0].ID
				}
				w.Since, _ = time.Parse(time.RFC3339, rec.RunAt)
			}
		}
		out = append(out, w)
	}
	return out, nil
}

// renderFleet prints workers grouped by host.
func renderFleet(w io.Writer, workers []fleetWorker, now time.Time) error {
	if len(workers) == 0 {
		_, err := fmt.Fprintln(w, "No workers registered.")
		return err
	}
	hosts := map[string][]fleetWorker{}
	var names []string
	for _, fw := range workers {
		if _, ok := hosts[fw.Host]; !ok {
			names = append(names, fw.Host)
		}
		hosts[fw.Host] = append(hosts[fw.Host], fw)
	}
	slices.Sort(names)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tWORKER\tQUEUES\tSTATE\tJOB")
	for _, h := range names {
		for _, fw := range hosts[h] {
			state := "idle"
			job := "-"
			switch {
			case fw.Dead:
				state = "DEAD"
				if fw.Heartbeat.IsZero() {
					state += " (no heartbeat)"
				} else {
					state += " (heartbeat " + age(now, fw.Heartbeat) + " ago)"
				}
			case fw.Job != "":
				state = "busy"
			}
			if fw.Job != "" {
				job = fmt.Sprintf("%s (%s, %s)", fw.Job, fw.Queue, age(now, fw.Since))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h, strings.TrimPrefix(fw.ID, h+":"), strings.Join(fw.Queues, ","), state, job)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	total, busy, dead := len(workers), 0, 0
	for _, fw := range workers {
		if fw.Dead {
			dead++
		} else if fw.Job != "" {
			busy++
		}
	}
	_, err := fmt.Fprintf(w, "\n%d hosts, %d workers: %d busy, %d idle, %d dead.\n", len(names), total, busy, total-busy-dead, dead)
	return err
}

// fleetStatus is `agent status --fleet`.
func (a *app) fleetStatus(ctx context.Context, qf queueFlags, asJSON bool) error {
	c, err := a.openQueue(qf)
	if err != nil {
		return err
	}
	defer c.Close()
	ns := c.Config().Namespace
	workers, err := readFleet(ctx, c.Redis(), ns, time.Now())
	if err != nil {
		return err
	}
	leases, serverNow, err := queue.ReadLeases(ctx, c.Redis(), ns)
	if err != nil {
		return err
	}
	markLeaseEnded(workers, leases, serverNow)
	recovered, err := queue.ReadRecovered(ctx, c.Redis(), ns, recoveredShown)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(fleetView(workers, leases, recovered, serverNow))
	}
	if err := renderFleet(a.stdout, workers, time.Now()); err != nil {
		return err
	}
	return renderDurability(a.stdout, leases, recovered, serverNow)
}
