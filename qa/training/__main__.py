"""``python -m qa.training``: train or continue a reader (see ``qa.training.train``)."""

from qa.training.train import main

main()
