"""The population registry (Melderegister): the port, a mock adapter, an HTTP adapter."""
