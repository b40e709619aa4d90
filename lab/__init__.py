"""The multiwan.pbr podman lab: topology data, lifecycle (`lab/lab.py`) and traffic probes."""
