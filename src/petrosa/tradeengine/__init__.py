"""The trade engine: signals → risk → orders → positions and P&L, exactly once across replicas."""
