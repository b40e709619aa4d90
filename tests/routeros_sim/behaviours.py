"""Run a test under every plausible answer to what RouterOS does where no source says.

Three ways, from least to most code:

- The environment: ``ROUTEROS_SIM_BEHAVIOUR="execution_order=reversed"`` makes every
  ``Simulator()`` (and ``RouterState()``, and ``python -m routeros_sim``) built without an explicit
  ``behaviour=`` use that switch, so a whole suite runs under it unchanged::

      for setting in $(PYTHONPATH=tests python -m routeros_sim.behaviours); do
          ROUTEROS_SIM_BEHAVIOUR="$setting" pytest tests/integration/test_ros_*.py || echo "FAILED: $setting"
      done

- A parameter: ``@every_value("table_removal")`` runs a test taking a ``behaviour`` argument
  once per value (``Simulator(behaviour=behaviour)`` inside it).

- A fixture: ``sim = simulator_fixture(seed, "execution_order", "table_removal")`` in a test
  module gives every test that takes ``sim`` one run per value of each named switch (all
  configuration switches if none are named), on a started simulator that ``seed(sim)`` prepared.
"""

import sys

from .state import Behaviour, switch_values, value_text


def variants(*names, include_defaults=True):
    """``[Behaviour]``: one per value of each switch in ``names`` (every configuration switch if
    none), the others at their defaults. Each default appears once, first, if asked for."""
    names = names or tuple(switch_values(include_session=False))
    known = switch_values()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError("no such Behaviour switch: " + ", ".join(unknown))
    found = [Behaviour()] if include_defaults else []
    default = Behaviour()
    for name in names:
        found += [Behaviour(**{name: value}) for value in known[name] if value != getattr(default, name)]
    return found


def variant_id(behaviour):
    """A test id: the switches that differ from the defaults, or ``defaults``."""
    return behaviour.describe().replace("; ", "+") or "defaults"


def every_value(*names):
    """``pytest.mark.parametrize("behaviour", …)`` over ``variants(*names)``."""
    import pytest
    return pytest.mark.parametrize("behaviour", variants(*names), ids=variant_id)


def simulator_fixture(seed=None, *names, **simulator_options):
    """A pytest fixture yielding a started ``Simulator`` once per ``variants(*names)``; ``seed``
    (a function of the simulator) prepares it, after which the counters are reset."""
    import pytest

    from .server import Simulator

    @pytest.fixture(params=variants(*names), ids=variant_id)
    def simulator(request):
        with Simulator(behaviour=request.param, **simulator_options) as started:
            if seed is not None:
                seed(started)
            started.reset_counters()
            yield started
    return simulator


def settings(*names):
    """Each non-default variant as a ``ROUTEROS_SIM_BEHAVIOUR`` value."""
    return [variant.describe() for variant in variants(*names, include_defaults=False)]


def main(argv=None):
    """``python -m routeros_sim.behaviours [switch …]``: one ``ROUTEROS_SIM_BEHAVIOUR`` value a
    line (no spaces inside), for shell loops; ``--list`` prints every switch with its values."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--list"]:
        default = Behaviour()
        for name, values in switch_values().items():
            print(f"{name}: default {value_text(getattr(default, name))}; values "
                  + " ".join(value_text(value) for value in values))
        return 0
    for setting in settings(*argv):
        print(setting.replace(" ", ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
