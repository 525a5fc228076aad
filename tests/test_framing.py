"""The default framing is chosen by measurement: overlap-add does not click at frame joins.

The paper concatenates decoded 1024-sample segments; each segment is decoded on its own, so
the joins jump. benchmarks/framing.py prints the full table; this pins the conclusion.
"""

import numpy as np
import pytest

from latentcode.audio.analysis import boundary_discontinuity
from latentcode.session import DEFAULT_FRAMING, Session


@pytest.fixture(scope="module")
def parts():
    from latentcode.model.bank import Bank
    from latentcode.model.vae import load_model

    model = load_model()
    return model, Bank(model)


def discontinuity(parts, framing: str, sound: str, stretch: float) -> float:
    session = Session(*parts, tracks=1, framing=framing)
    session.eval(f'now t1 $ "{sound}/64" # stretch {stretch} # noise 0 # pan 0')
    audio = session.render_dry(2)[0]
    assert np.abs(audio).max() > 0.01, f"{sound} is silent"
    return boundary_discontinuity(audio, 0, session.framing.hop)


@pytest.mark.parametrize("sound", ["drone", "bell", "voice"])
def test_overlap_add_joins_are_smooth_and_concatenation_clicks(parts, sound):
    ola = discontinuity(parts, "ola", sound, 8)
    concat = discontinuity(parts, "concat", sound, 8)
    assert ola < 2.0, f"overlap-add jumps {ola:.1f}x at its joins"
    assert concat > 5 * ola, (concat, ola)


def test_a_session_uses_overlap_add_unless_told(parts):
    assert Session(*parts).framing.name == DEFAULT_FRAMING == "ola"
    assert Session(*parts, framing="concat").framing.hop == parts[0].segment
