"""The German eID (online ID function): the port and an HTTP adapter for an eID-Server."""
