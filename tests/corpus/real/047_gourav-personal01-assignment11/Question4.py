# A process pool is the programatic method which is used manage the pool of workers.

# A pool is usefull to provide the fixed number of processes.
# It controls when they are created, such as when they are needed.
# It also controls what they should do when they are not being used, such as making them wait without consuming computational resources