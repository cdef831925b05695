"""The package's promises: lazy layers, no torch and no pickle at run time."""

import re
import subprocess
import sys
from pathlib import Path

import chainrule
from chainrule import diagnostics


def test_explain_and_gradcheck_are_the_diagnostics_functions():
    assert chainrule.explain is diagnostics.explain
    assert chainrule.gradcheck is diagnostics.gradcheck
    assert chainrule.nn.Linear.__name__ == "Linear"


def test_unknown_attribute_is_an_attribute_error():
    try:
        chainrule.no_such_thing  # noqa: B018
    except AttributeError as error:
        assert "no_such_thing" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def test_using_every_layer_imports_neither_torch_nor_pickle():
    code = (
        "import sys, chainrule\n"
        "for name in ('nn', 'optim', 'data', 'training', 'io', 'diagnostics', 'plots'):\n"
        "    getattr(chainrule, name)\n"
        "import chainrule.cli; chainrule.cli.build_parser()\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_no_module_of_the_package_imports_pickle():
    sources = Path(chainrule.__file__).parent.rglob("*.py")
    offenders = [
        p.name for p in sources if re.search(r"^\s*(import|from) (pickle|dill|cloudpickle)\b", p.read_text(), re.M)
    ]
    assert offenders == []
