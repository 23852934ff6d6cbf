"""Creators: profiles, niches, audience, and the social accounts they connect."""
