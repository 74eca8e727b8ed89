# Only comments: an empty fleet is an error, never zero VMs. # ERROR: Empty configuration file
# Nothing else here.
