"""The PostgreSQL -> MongoDB migration: documents shaped for Mongo's reads, the document store,
dual-write (the `mongo` consumer group), backfill and verification."""
