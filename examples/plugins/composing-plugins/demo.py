"""Caching + logging wrappers + the custom provider plugin, all acting on the same calls.

Install this package and ``custom-provider-plugin``, then run ``python demo.py``.
"""

from byllm.lib import Model, by

echo = Model("custom://echo")
mock = Model("mockllm", outputs=["4"])  # one output only: the repeat must come from the cache


@by(echo)
def get_answer(question: str) -> str:
    """Answer the question."""


@by(mock)
def add(a: int, b: int) -> int:
    """Add two numbers."""


print(get_answer("What is 2+2?"))
print(get_answer("What is 2+2?"))
print(add(2, 2))
print(add(2, 2))
