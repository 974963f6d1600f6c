"""Storage backends of the Data Manager: one schema on SQLite, MariaDB/MySQL, PostgreSQL."""
