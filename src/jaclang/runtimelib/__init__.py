"""Runtime library that compiled Jac programs and plugins use."""
