"""Analytics: enrichment of metrics and daily rollups per creator, brand and campaign."""
