include_recipe "base"
log "app applied"
