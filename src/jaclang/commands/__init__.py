"""Sub-commands of the ``jac`` command line, one module each."""
