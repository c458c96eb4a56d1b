"""The load benchmark's parts (benchmarks/server_load.py is the command that runs them): the
server process, the load generator's players and hosts, the --workers ramp, the figures."""
