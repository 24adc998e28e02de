"""The Jac compiler: Jac source to Python AST."""
