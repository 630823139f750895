"""``think batch``: a file of prompts, each a normal run, many at once under one budget.

``pool`` runs many queries concurrently under one shared ``--max-cost`` (``think eval``
runs its questions through it too); ``inputs`` reads the prompts file; ``results`` keeps each
finished prompt's result as it lands, so an interrupted batch resumes; ``now`` is the
``--mode now`` runner: every prompt through the normal strategy at once, each recorded in the
ledger as its own run with the batch's id.
"""
