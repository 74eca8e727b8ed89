# Not in any run list: its include must not be followed or warned about.
include_recipe "ghost"
