"""Deals: a creator on a campaign, from application or invitation through negotiation to
delivery and completion."""
