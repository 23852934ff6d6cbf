"""Accounts: sign-up, log-in, server-side sessions, roles, CSRF, rate limits and API keys."""
