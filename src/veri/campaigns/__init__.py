"""Campaigns: a brand's brief, budget and deliverables, with an enforced lifecycle."""
