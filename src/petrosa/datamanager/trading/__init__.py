"""Trading state kept by the Data Manager: positions, daily P&L, configuration with audit."""
