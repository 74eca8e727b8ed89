%w{apt git}.each { |cb| depends cb }
