"""Events: versioned schemas, the transactional outbox, the bus (Kafka or the embedded log),
the consumer runtime with retries, dead letters and replay."""
