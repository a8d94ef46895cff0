"""Evaluation of the chatbot: answer accuracy, retrieval, abstention and latency on SQuAD-format data.

``metrics`` (pure scores), ``datasets`` (SQuAD JSON in), ``questions`` (plain CSV/JSONL question
sets, asked against an index), ``indexes`` (every index eval opens), ``run`` (open-domain and
reader-only runners), ``report`` (Markdown, JSON, plots), ``calibrate`` (the
reader's score calibration); ``python -m eval --help`` for the command line.
Importing this package loads no model.
"""
