log "phpbuild"
