"""Question answering: the extractive reader, its training, and the retrieve -> read -> cite pipeline."""
