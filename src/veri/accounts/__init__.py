"""Accounts: sign-up and the log-in, password and API-key pages and API, over the identity core."""
