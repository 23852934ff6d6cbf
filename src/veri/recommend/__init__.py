"""Compound learning: ROI predictions and creator-campaign recommendations from what memory holds."""
