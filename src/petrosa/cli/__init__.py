"""The ``petrosa`` command."""
