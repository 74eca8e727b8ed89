package "git-core"
