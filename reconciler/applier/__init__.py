"""Execute a plan against the API: the per-target state machine, the apply lock, the run flow."""
