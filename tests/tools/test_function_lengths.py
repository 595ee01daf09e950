"""No function in src/ or flows/ is longer than 60 lines: long ones mix decisions with I/O."""

from tools.function_lengths import function_lengths

MAX_LINES = 60


def test_no_function_is_longer_than_the_limit():
    too_long = [(lines, name) for lines, name in function_lengths() if lines > MAX_LINES]
    assert too_long == []


def test_the_count_sees_functions_and_methods(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "flows").mkdir()
    body = "".join(f"        x{i} = {i}\n" for i in range(70))
    (tmp_path / "src" / "m.py").write_text(f"class A:\n    def f(self):\n{body}")
    (tmp_path / "flows" / "g.py").write_text("def g():\n    return 1\n")
    assert function_lengths(tmp_path) == [(71, "src/m.py:f"), (2, "flows/g.py:g")]
