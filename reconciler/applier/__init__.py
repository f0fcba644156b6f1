"""Execute a plan against the API: the per-target state machine, the apply lock, reading a
saved plan back. Nothing here prints: the ``apply`` command (``cli.apply``) does."""
