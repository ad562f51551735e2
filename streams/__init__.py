"""A reliable, sharded job queue on Redis Streams consumer groups. Knows nothing of CRMs."""
