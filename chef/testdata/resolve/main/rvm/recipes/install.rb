log "install"
