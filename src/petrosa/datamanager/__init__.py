"""The Data Manager: the only petrosa component that talks to the databases."""
