// Package report pushes the life of every job to a CI application over HTTP:
// a webhook. It is optional: the agent's Redis records stay the source of
// truth, and a reporter only saves an application from needing Redis access.
//
// A Reporter has one bounded in-memory queue. The daemon calls the event
// methods (Received, Started, Log, Finished, Requeued, Canceled); they only
// enqueue and never wait for the network, so a slow or dead receiver never
// slows a build. Run delivers the queue with a few senders, one request at a
// time per job run, retrying failures with exponential backoff and jitter, so
// every receiver sees a job's events in order. Log output is batched per job:
// one request per BatchInterval (1s) or per BatchBytes (64 KiB), whichever
// comes first. The queue never exceeds its bound: when it is full the oldest
// log batches go first, then received/started/canceled events (first those of
// runs whose end is queued), and finished/requeued only when nothing else is
// left; each drop is counted (Stats, Config.OnDrop), logged and carried in the
// "dropped" field of the run's next event. Close flushes what it can within
// the caller's deadline. Live is the set of reporters a live fleet.hcl edit
// changes.
//
// Every body is JSON, signed with HMAC-SHA256 (see SignatureHeader and
// Verify) and sent with an Authorization header. The body formats are
// documented in docs/JOBS.md, "Reporting over HTTP".
//
// Secrets never leave the Config: the token, the signing secret and any
// password or query in the URL are redacted from logs, errors, String and
// LogValue.
package report
