"""Documents: loading files, removing page furniture, and chunking with exact character offsets."""
