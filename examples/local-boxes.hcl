# A small build host that imports its box from a local file and serves three queues.
#
# Everything not written here takes its default (see docs/FLEET-HCL.md): the host name is the
# machine's, Redis is on this machine, and VBoxManage is found on PATH.

queue {
  redis     = env("FLEET_REDIS", "redis://127.0.0.1:6379/1")
  namespace = "ci"
}

# A box built locally (e.g. with Packer) and copied next to this file.
box "precise64" {
  version  = "2024.06.1"
  url      = "file:boxes/precise64.box" # relative to this file's folder
  checksum = "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709"

  ssh {
    user        = "builder"
    private_key = "keys/builder" # relative to this file's folder
    port        = 2222
  }
}

# Linting and docs: cheap, many of them, no provisioning beyond the box.
pool "lint" {
  box    = "precise64"
  vms    = 4
  memory = 512
  queues = ["lint", "docs"]

  job {
    timeout     = "10m"
    log_silence = "2m"
    max_log     = "512KiB"
  }
}

# Integration tests: big VMs, snapshot before each job because jobs reboot the guest.
pool "integration" {
  box      = "precise64"
  vms      = 1
  memory   = 8192
  cpus     = 4
  rollback = "per-job-snapshot"

  provision "chef_solo" {
    cookbooks = ["cookbooks", "site-cookbooks"]
    recipes   = ["postgresql::server", "redis"]
    json = {
      postgresql = { version = "9.1", listen = ["127.0.0.1"], ssl = false }
    }
    sudo_path      = "/usr/bin/sudo"
    chef_solo_path = "/opt/chef/bin/chef-solo"
  }

  rollout {
    max_unavailable = 1
  }
}

# Declared but switched off: vms = 0 keeps the pool (and its queue) without running VMs.
pool "windows-later" {
  box = "precise64"
  vms = 0
}
