"""HTTP routes of the Data Manager, one module per concern."""
