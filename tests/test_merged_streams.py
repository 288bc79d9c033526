"""The feedback run's outputs do not depend on when the kernel flushed a cell's printing: adjacent stream outputs of
one name are one output (a class graded twice, or locally and on Dask, gets the same pages)."""

from __future__ import annotations

from nbformat.v4 import new_output

from autograder.grading.preprocessors.sandboxed_execute import merged_streams


def test_adjacent_pieces_of_one_stream_are_one_output():
    pieces = [new_output("stream", name="stdout", text="17 different lines\n"),
              new_output("stream", name="stdout", text="RESULT ch01.xor_fewest_wrong=1\n")]
    assert merged_streams(pieces) == [new_output("stream", name="stdout",
                                                 text="17 different lines\nRESULT ch01.xor_fewest_wrong=1\n")]


def test_order_across_other_outputs_and_streams_is_kept():
    a, b = new_output("stream", name="stdout", text="a\n"), new_output("stream", name="stderr", text="warn\n")
    picture = new_output("display_data", data={"text/plain": "<Figure>"})
    c = new_output("stream", name="stdout", text="c\n")
    assert merged_streams([a, b, picture, c]) == [a, b, picture, c]
    assert merged_streams([]) == []
