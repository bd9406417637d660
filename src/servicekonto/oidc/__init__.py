"""The OpenID Connect / OAuth 2.0 front end: authlib's server core behind small adapters."""
