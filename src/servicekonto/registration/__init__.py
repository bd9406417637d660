"""The identity check: a person's data against the registry, then a PIN letter to bind them."""
