# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one module shell: what every resource module does once its argument spec is written.

A module file holds its documentation, its ``ARGUMENT_SPEC`` and a ``main()`` that calls
``run_module`` with its engine and how to build its runner. The shell checks the Python
libraries the run needs, builds the runner only for states that touch a device, runs the
core, turns the collection's errors into one ``fail_json``, and closes the runner.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.multiwan.pbr.plugins.module_utils.core.errors import ApplyFailed, DeviceError, InvalidInput
from ansible_collections.multiwan.pbr.plugins.module_utils.core.resource import OFFLINE_STATES, STATES, run_resource

# Shared by every resource module's argument_spec. ``config`` is a plain list of dicts: the core
# checks its entries against the engine's ``config_spec`` (``core.config_entries``).
STATE_OPTIONS = dict(
    config=dict(type="list", elements="dict"),
    running_config=dict(type="str"),
    state=dict(type="str", default="merged", choices=list(STATES)),
)
STATE_REQUIRED_IF = [
    ("state", "merged", ("config",)),
    ("state", "replaced", ("config",)),
    ("state", "overridden", ("config",)),
    ("state", "rendered", ("config",)),
    ("state", "parsed", ("running_config",)),
]


class Library(object):
    """A Python library a module needs: its name, whether it imported, the import error,
    and whether runs that touch no device (``rendered``, ``parsed``) need it too."""

    def __init__(self, name, present, import_error, offline=True):
        self.name, self.present, self.import_error, self.offline = name, present, import_error, offline


def run_module(argument_spec, engine, make_runner, libraries=(), required_if=None, prepare_params=None):
    """Everything a resource module does: build ``AnsibleModule``, run the core, exit.

    ``make_runner(module, params)`` builds the runner for states that read the device;
    ``prepare_params(params)`` maps the module's options onto the core's (nft_connmark).
    """
    module = AnsibleModule(argument_spec, required_if=STATE_REQUIRED_IF if required_if is None else required_if,
                           supports_check_mode=True)
    offline = module.params["state"] in OFFLINE_STATES or module.params["state"] == "rendered"
    for library in libraries:
        if not library.present and (library.offline or not offline):
            module.fail_json(msg=missing_required_lib(library.name), exception=str(library.import_error))
    with reported_as_failure(module):
        params = prepare_params(module.params) if prepare_params else module.params
        runner = None if offline else make_runner(module, params)
        try:
            result = run_resource(engine, runner, params, module.check_mode, module._diff)
        finally:
            if runner is not None:
                runner.close()
    exit_with_result(module, result)


def exit_with_result(module, result):
    """``exit_json`` with the core's warnings raised through ``module.warn``
    (ansible-core 2.19 deprecates a ``warnings`` key in results)."""
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)
    module.exit_json(**result)


@contextlib.contextmanager
def reported_as_failure(module):
    """Turn the collection's error types into one ``fail_json`` naming what failed.

    ``rolled_back`` is true only when the core re-read the device after the undo and found
    the owned state exactly as before the run.
    """
    try:
        yield
    except InvalidInput as error:
        module.fail_json(msg=str(error), field=error.field, value=error.value)
    except ApplyFailed as error:
        msg = "%s failed: %s" % (error.command, error.device_message)
        if not error.rolled_back:
            msg += "; the device was NOT verified to be as before the run: %s" % error.rollback_error
        module.fail_json(msg=msg, command=error.command, device_message=error.device_message,
                         rolled_back=error.rolled_back)
    except DeviceError as error:
        module.fail_json(msg=str(error))
