"""Property-based fuzzing of `kstylegan train`'s options: one `Error:` line and exit 2, or a run.

Each case gives tiny valid options and then one fuzzed option (bad numbers, non-finite and
overflowing values, wrong types, unknown choices, resume overrides). A case whose options all
pass validation stops where the networks would be built (nothing trains), so the suite stays
fast; the real runs are covered by tests/cli/test_train_cli.py.
"""
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from keras_stylegan.cli.main import cli  # noqa: E402
from keras_stylegan.cli.train import OPTIONS  # noqa: E402

BASE = ["--resolution", "8", "--cmax", "8", "--cbase", "32", "--zdim", "8", "--wdim", "8", "--map", "1",
        "--batch", "4", "--kimg", "0.004", "--tick", "0.004", "--aug", "none"]
NUMBERS = ["nan", "inf", "-inf", "-1", "0", "1", "3", "0.5", "1e400", "1e-400", "-0", "99999999999999999999",
           "4097", "abc", "", "1e9", "2.5", "0x10", "16384", "8x4", "64x64x3"]
VALUE_FLAGS = [flag for flag, _, kind, _ in OPTIONS if kind != "flag"]
SWITCHES = [flag for flag, _, kind, _ in OPTIONS if kind == "flag"]


class Built(Exception):
    """Raised instead of building networks: every option passed validation."""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz") / "data"
    folder.mkdir()
    rng = np.random.RandomState(0)
    for i in range(4):
        Image.fromarray(rng.randint(0, 256, [8, 8, 3]).astype("uint8")).save(folder / f"{i}.png")
    return folder


def _build_stop(*args, **kwargs):
    raise Built()


cases = st.one_of(
    st.tuples(st.sampled_from(VALUE_FLAGS), st.sampled_from(NUMBERS)).map(list),
    st.tuples(st.sampled_from(VALUE_FLAGS), st.text(max_size=6)).map(list),
    st.tuples(st.just("--override"), st.sampled_from(["lr=nan", "lr=0.001", "nope=1", "lr", "gamma=inf", "=",
                                                       "mirror=maybe", "mirror=true", "kimg=1e400"])).map(list),
    st.sampled_from(SWITCHES).map(lambda flag: [flag]),
)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(extra=st.lists(cases, min_size=1, max_size=2))
def test_train_options_fail_in_one_line_or_run(data, tmp_path_factory, monkeypatch_module, extra):
    outdir = tmp_path_factory.mktemp("run")
    args = ["train", "--data", str(data), "--outdir", str(outdir)] + BASE + [a for pair in extra for a in pair]
    result = CliRunner().invoke(cli, args)
    output = result.output
    assert "Traceback" not in output, (args, output)
    if isinstance(result.exception, Built):
        return  # valid options: the run would start here
    assert result.exit_code == 2, (args, result.exit_code, output, result.exception)
    errors = [line for line in output.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("Error: "), (args, output)
    assert not any(outdir.iterdir()), (args, list(outdir.iterdir()))  # a refused run leaves nothing behind


@pytest.fixture(scope="module")
def monkeypatch_module():
    patch = pytest.MonkeyPatch()
    patch.setattr("keras_stylegan.training.run.build_gan", _build_stop)
    yield patch
    patch.undo()
