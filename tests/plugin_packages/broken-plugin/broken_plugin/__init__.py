"""A jac plugin package whose plugin module fails to import (test fixture)."""
