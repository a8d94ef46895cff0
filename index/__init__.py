"""Embedding, dense (FAISS) and lexical (BM25) retrieval over chunks, and the on-disk index."""
