log "about to fail"
execute "echo compiling assets; echo 'rake aborted!' >&2; exit 3"
