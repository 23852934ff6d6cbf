"""Signal extraction: small pure functions from one event to the typed signals it carries, each
with the event's id as provenance. Memory formation (veri.memory) turns signals into memories."""
