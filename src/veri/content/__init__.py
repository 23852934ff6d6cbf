"""Content: what creators publish, and its metrics over time."""
