# Only recipe files are read for includes.
include_recipe "ghost::library"
