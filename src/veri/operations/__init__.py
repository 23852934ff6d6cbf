"""Running Veri in production: what a month of it costs in resources (`measure`) and in dollars,
with the capacity each size of platform needs (`pricing`). `veri bench cost` drives both."""
