"""Averaging reader checkpoints (eval/soup_reader.py): a weighted mean per tensor, refusing mismatched inputs."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def soup_reader(load_eval_script):
    return load_eval_script("soup_reader")


def test_soup_is_the_weighted_mean_and_keeps_integer_buffers(soup_reader) -> None:
    a = {"w": torch.tensor([1.0, 2.0]), "ids": torch.tensor([0, 5])}
    b = {"w": torch.tensor([3.0, 6.0]), "ids": torch.tensor([0, 5])}
    soup = soup_reader.average_state_dicts([a, b], [1.0, 3.0])
    assert torch.allclose(soup["w"], torch.tensor([2.5, 5.0]))
    assert soup["w"].dtype == torch.float32
    assert soup["ids"].dtype == torch.int64 and torch.equal(soup["ids"], a["ids"])  # not averaged into floats
    same = soup_reader.average_state_dicts([a], [2.0])
    assert torch.equal(same["w"], a["w"])


@pytest.mark.parametrize(
    ("states", "weights", "message"),
    [
        ([{"w": torch.zeros(2)}, {"v": torch.zeros(2)}], [1.0, 1.0], "different parameters"),
        ([{"w": torch.zeros(2)}, {"w": torch.zeros(3)}], [1.0, 1.0], "shape"),
        ([{"w": torch.zeros(2)}, {"w": torch.zeros(2, dtype=torch.float64)}], [1.0, 1.0], "dtype"),
        ([{"i": torch.tensor([0, 1])}, {"i": torch.tensor([0, 2])}], [1.0, 1.0], "integer tensor"),
        ([{"w": torch.zeros(2)}], [1.0, 1.0], "one weight per checkpoint"),
        ([{"w": torch.zeros(2)}, {"w": torch.zeros(2)}], [1.0, -1.0], "weights must be"),
        ([], [], "one weight per checkpoint"),
    ],
)
def test_mismatched_checkpoints_are_refused(soup_reader, states, weights, message) -> None:
    with pytest.raises(ValueError, match=message):
        soup_reader.average_state_dicts(states, weights)


def test_bad_commands_exit_with_one_line(soup_reader, tmp_path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(SystemExit, match="not found"):
        soup_reader._checked_inputs([run], [1.0], tmp_path / "out")
    (run / "checkpoint.safetensors").write_bytes(b"x")
    (run / "tokenizer.json").write_text("{}")
    with pytest.raises(SystemExit, match="one number per run"):
        soup_reader._checked_inputs([run], [1.0, 2.0], tmp_path / "out")
    with pytest.raises(SystemExit, match="must not be one of the input runs"):
        soup_reader._checked_inputs([run], [1.0], run)
    assert soup_reader._checked_inputs([run], [1.0], tmp_path / "out") == [run / "checkpoint.safetensors"]
