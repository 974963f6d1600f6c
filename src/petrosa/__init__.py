"""petrosa: a crypto-trading platform whose Data Manager alone talks to the databases."""

__version__ = "0.1.0"
