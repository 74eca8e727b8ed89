# The version-controlled fleet, shared by every build host.
queue {
  redis     = "redis://queue.example.org:6379/0"
  namespace = "resque"
}

pool "ruby" {
  box    = "lucid32"
  vms    = 5
  memory = 1536
  queues = ["builds.ruby", "builds"]
  job {
    timeout     = "50m"
    log_silence = "10m"
  }
}
