"""The runtime: what turns a running simulation into CRM objects at their moments.

Segment expansion, job handlers with batching, secondary planning, lifecycle checks, live metrics
and their flushing to the store, and the daemon that runs it all (``python -m engine``).
"""
