log "sweep"
