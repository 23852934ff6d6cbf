"""Identity: principals, sessions, CSRF, rate limits and credentials; the base of every domain."""
