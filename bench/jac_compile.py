"""Benchmark: Jac compile throughput (lines/s) on a generated 2,000-line program.

Times parsing (tokens, LALR parse and the typed syntax tree), generation of the
Python AST, and Python's ``compile`` to bytecode separately; their sum is the
whole compile ``jac run`` does for a changed file. Plain script
printing a small table: ``python bench/jac_compile.py [--lines N] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import time


def generate_program(lines: int) -> str:
    """A Jac program of about ``lines`` lines mixing objects, functions, loops and by-llm declarations."""
    chunks = ["import from byllm.lib { Model }", 'glob llm = Model(model_name="mockllm");', ""]
    index = 0
    while sum(chunk.count("\n") + 1 for chunk in chunks) < lines:
        chunks.append(
            f'''"""Record number {index}."""
obj Record{index} {{
    has name: str, size: int = {index};
    has tags: list[str] = [];

    def grow(by_amount: int) -> int {{
        self.size += by_amount;
        return self.size;
    }}

    def describe() -> str by llm(temperature=0.2);
}}

def compute{index}(values: list[int], factor: float = 1.5) -> float {{
    total = 0.0;
    for i = 0 to i < len(values) by i += 1 {{
        if values[i] % 2 == 0 {{
            total += values[i] * factor;
        }} elif values[i] > {index} {{
            total -= 1;
        }} else {{
            continue;
        }}
    }}
    squares = [v ** 2 for v in values if v > 0];
    label = f"{{len(squares)}} squares, total {{total:.2f}}";
    match len(values) {{
        case 0: return 0.0;
        case _: return total + (values |> sum) / len(values);
    }}
}}
'''
        )
        index += 1
    return "\n".join(chunks)


def timed(function, repeat: int) -> float:
    """Best CPU seconds of ``repeat`` calls of ``function``.

    CPU time, and the best run rather than the median: on a shared machine other
    jobs slow a run down (cache and core contention) but never speed it up.
    """
    samples = []
    for _ in range(repeat):
        started = time.process_time()
        function()
        samples.append(time.process_time() - started)
    return min(samples)


def main() -> None:
    """Measure each phase and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    source = generate_program(options.lines)
    line_count = source.count("\n") + 1

    started = time.perf_counter()
    from jaclang.compiler.codegen import generate
    from jaclang.compiler.parser import get_parser, parse

    get_parser()
    setup = time.perf_counter() - started

    tree = parse(source, "bench.jac")
    module = generate(tree, source, "bench.jac")
    parse_time = timed(lambda: parse(source, "bench.jac"), options.repeat)
    generate_time = timed(lambda: generate(tree, source, "bench.jac"), options.repeat)
    compile_time = timed(lambda: compile(module, "bench.jac", "exec"), options.repeat)
    total = parse_time + generate_time + compile_time

    rows = [
        ("parser setup (grammar load, once)", setup),
        ("parse", parse_time),
        ("generate Python AST", generate_time),
        ("Python compile()", compile_time),
        ("total per compile", total),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"program: {line_count} lines, {len(source)} characters")
    print(f"{'phase':<{width}}  {'ms':>9}  {'lines/s':>10}")
    print(f"{'-' * width}  {'-' * 9}  {'-' * 10}")
    for label, seconds in rows:
        rate = f"{line_count / seconds:>10,.0f}" if label != rows[0][0] else f"{'':>10}"
        print(f"{label:<{width}}  {seconds * 1000:>9.1f}  {rate}")


if __name__ == "__main__":
    main()
