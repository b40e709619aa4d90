"""The module floor of ``make bench``: the least an Ansible module does for a job on N entries.

It imports ``AnsibleModule``, takes the arguments the measured module takes for the job (``config`` and
``state``: AnsibleModule reads them, checks their top-level types and keeps them, and ``exit_json`` echoes them
in ``invocation``, as for every module), runs one device dump (``dump``, an argv), parses its JSON and exits
unchanged. A no-change run of ``pbr_rule`` or ``pbr_table`` does this plus its own work (checking and
normalising the entries, parsing the dump into records, planning); an apply adds the ``ip -batch`` write. The
bench runs it as it runs those modules (a bare process, and as a task through ``ANSIBLE_LIBRARY``); without
``config`` it is the floor of a module that takes no entries at all.
"""

import json

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(dict(config=dict(type="list", elements="dict"), state=dict(type="str"),
                                dump=dict(type="list", elements="str", required=True)),
                           supports_check_mode=True)
    rc, out, err = module.run_command(module.params["dump"], environ_update={"LC_ALL": "C"})
    if rc != 0:
        module.fail_json(msg="%s failed: %s" % (" ".join(module.params["dump"]), err))
    module.exit_json(changed=False, entries=len(json.loads(out)))


if __name__ == "__main__":
    main()
