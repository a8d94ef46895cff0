"""Everything only training needs: base recipes, training data, negatives, the loop, the model card.

Serving code (``qa.reader``, ``qa.pipeline``) never imports this package."""
