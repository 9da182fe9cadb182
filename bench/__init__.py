"""`make bench`: the product's throughput and latency next to its stack's ceiling."""
