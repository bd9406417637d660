"""Person accounts: credentials, personal data, second factors, login sessions."""
