"""Sub-commands of the ``jac`` command line, one module each, and what they share.

:mod:`~jaclang.commands.arguments` holds the exit statuses, usage errors and
finding Jac files; :mod:`~jaclang.commands.parser` builds the argument parser.
"""
