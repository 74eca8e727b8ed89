package "mysql-client"
