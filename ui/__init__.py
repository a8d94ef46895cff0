"""The Gradio chat: ``python -m ui`` (see ui/app.py). Importing this package imports no gradio."""
