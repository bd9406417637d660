"""OAuth access tokens: issued as signed JWTs (RFC 9068), recorded so they can be revoked."""
