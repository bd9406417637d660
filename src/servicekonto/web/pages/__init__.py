"""Page routes, one module per part of the citizen's journey."""
