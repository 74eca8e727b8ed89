// This file names every Redis key the queue reads or writes. Keys that Resque
// tools read are spelled exactly as Resque spells them (see RESQUE.md §2);
// keys only the agent reads live under "<ns>:fleet:".

package queue

import "strings"

// keys builds namespaced key names.
type keys struct{ ns string }

func (k keys) key(parts ...string) string {
	return k.ns + ":" + strings.Join(parts, ":")
}

// Resque's own keys.
func (k keys) queues() string               { return k.key("queues") }
func (k keys) queue(name string) string     { return k.key("queue", name) }
func (k keys) workers() string              { return k.key("workers") }
func (k keys) worker(id string) string      { return k.key("worker", id) }
func (k keys) started(id string) string     { return k.key("worker", id, "started") }
func (k keys) heartbeat() string            { return k.key("workers:heartbeat") }
func (k keys) stat(name string) string      { return k.key("stat", name) }
func (k keys) failed() string               { return k.key("failed") }
func (k keys) pauseAll() string             { return k.key("pause-all-workers") }
func (k keys) processedBy(id string) string { return k.key("stat", "processed", id) }
func (k keys) failedBy(id string) string    { return k.key("stat", "failed", id) }

// The agent's keys.

// processing is the reliable-fetch list of one worker slot for one queue.
// A slot holds at most one job, but the list is per queue so that recovery
// knows where a job came from without any side record.
func (k keys) processing(id, queue string) string {
	return k.key("fleet", "processing", id, queue)
}

// slots is the set of worker ids that may own processing lists; recovery
// reads it instead of scanning.
func (k keys) slots() string { return k.key("fleet", "slots") }

// attempts is the hash of recovery counts, field = sha1 of the payload
// bytes, kept beside the payload rather than inside it.
func (k keys) attempts() string { return k.key("fleet", "attempts") }

// job is the hash with a job's state and result.
func (k keys) job(id string) string { return k.key("fleet", "job", id) }

// log is the capped list of a job's log chunks.
func (k keys) log(id string) string { return k.key("fleet", "job", id, "log") }

// logSeq counts a job's log chunks ever appended.
func (k keys) logSeq(id string) string { return k.key("fleet", "job", id, "logseq") }

// logChannel is where new chunks and the end marker are published.
func (k keys) logChannel(id string) string { return k.key("fleet", "job", id, "events") }

// cancel is set (with a TTL) when someone asks to cancel a job.
func (k keys) cancel(id string) string { return k.key("fleet", "job", id, "cancel") }

// cancelChannel carries job ids to cancel, for immediate delivery.
func (k keys) cancelChannel() string { return k.key("fleet", "cancel") }

// notify is where Submit announces a new job on queue, so that idle host
// fetchers look at once instead of at their next poll.
func (k keys) notify(queue string) string { return k.key("fleet", "notify", queue) }

// pauseHost stops fetching on every slot of one host.
func (k keys) pauseHost(host string) string { return k.key("fleet", "pause", host) }
