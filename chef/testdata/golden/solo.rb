# solo.rb written by fleet agent. Paths are relative to this file's folder, so the
# bundle can be unpacked anywhere.
root = File.expand_path(File.dirname(__FILE__))
file_cache_path File.join(root, "cache")
cookbook_path [File.join(root, "cookbooks")]
log_level :info
log_location STDOUT
