"""Operators' views: users, feature flags, system health."""
