"""The collection as users install it: ``ansible-galaxy collection build``, installed into an empty path, and run from there.

Each run builds its own tarball of the checkout (tools/install_collection.py, the same build ``make collection``
makes) and installs it into an empty directory; every Ansible command below sees only that directory
(``ANSIBLE_COLLECTIONS_PATH``, an empty ansible.cfg, a working directory outside the checkout). The playbook runs
the collection's own ``site.yml`` by its FQCN, whose RouterOS play applies the role ``routeros_dst_routing`` to
the RouterOS API simulator on loopback, then two modules in ``rendered`` state, which need no device.
The execution-environment files are checked offline with ansible-builder: the schema of the definitions, its
introspection of the installed collection, and ``ansible-builder create`` of the example in docs/awx.md.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

from routeros_sim import Simulator

pytestmark = pytest.mark.routeros

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules")) if name.endswith(".py"))
ROLES = sorted(os.listdir(os.path.join(ROOT, "roles")))
SHIPPED_TOP_LEVEL = {"MANIFEST.json", "FILES.json", "README.md", "requirements.txt", "bindep.txt",
                     "changelogs", "docs", "meta", "playbooks", "plugins", "roles"}
NEVER_SHIPPED = ("tests/", "bench/", "lab/", "tools/", ".ci/", ".venv/", ".collections/", ".build/", "Makefile",
                 "conftest.py", "ansible.cfg", "pytest.ini", "constraints.txt", "requirements-test.txt")
ROUTEROS_VARS = {
    "routeros_pbr_wans": [{"name": "fiber", "gateway": "192.0.2.1"},
                          {"name": "cell", "gateway": "10.254.15.129", "distance": 2}],
    "routeros_pbr_destinations": [{"name": "cell-host", "dst_address": "47.109.74.243", "wan": "cell"}],
}
RENDERED_PLAY = {
    "name": "Modules in rendered state, no device",
    "hosts": "localhost", "connection": "local", "gather_facts": False,
    "tasks": [
        {"name": "Rules", "register": "rules",
         "multiwan.pbr.pbr_rule": {"state": "rendered",
                                   "config": [{"priority": 1000, "fwmark": "0x100", "fwmask": "0xff00", "table": "101"}]}},
        {"name": "Conntrack marks", "register": "marks",
         "multiwan.pbr.nft_connmark": {"state": "rendered", "mask": "0xff00",
                                       "wans": [{"name": "isp_a", "device": "wan0"}, {"name": "isp_b", "device": "wan1"}]}},
    ],
}


def _installer():
    spec = importlib.util.spec_from_file_location("install_collection", os.path.join(ROOT, "tools", "install_collection.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """``(tarball, collections path, env)``: a fresh build, installed into a directory that was empty."""
    installer = _installer()
    tarball = installer.build(str(tmp_path_factory.mktemp("dist")))
    collections = tmp_path_factory.mktemp("collections")
    assert os.listdir(collections) == []
    installer.install(tarball, str(collections))
    workdir = tmp_path_factory.mktemp("work")
    (workdir / "ansible.cfg").write_text("[defaults]\n")
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_COLLECTIONS_PATH=str(collections),
               ANSIBLE_CONFIG=str(workdir / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_HOST_KEY_CHECKING="0", LC_ALL="C.UTF-8")
    env.pop("ANSIBLE_INVENTORY", None)
    return tarball, collections, env, workdir


def run(argv, built, **env):
    completed = subprocess.run(argv, cwd=built[3], env=dict(built[2], **env), capture_output=True, text=True,
                               timeout=300, check=False)
    assert completed.returncode == 0, "%s failed (%d)\n%s\n%s" % (
        " ".join(argv[:4]), completed.returncode, completed.stdout[-6000:], completed.stderr[-3000:])
    return completed.stdout


def test_tarball_holds_the_collection_and_nothing_that_only_builds_or_tests_it(built):
    with tarfile.open(built[0]) as tarball:
        names = tarball.getnames()
    assert {name.split("/")[0] for name in names} == SHIPPED_TOP_LEVEL
    assert not [name for name in names if name.startswith(NEVER_SHIPPED) or "/molecule" in name
                or "__pycache__" in name or name.endswith(".pyc")]
    for module in MODULES:
        assert "plugins/modules/%s.py" % module in names
    for role in ROLES:
        assert "roles/%s/tasks/main.yml" % role in names and "roles/%s/meta/argument_specs.yml" % role in names
    for path in ("meta/runtime.yml", "meta/execution-environment.yml", "playbooks/site.yml", "docs/awx.md",
                 "docs/execution-environment.yml"):
        assert path in names


def test_it_installs_into_an_empty_path_and_verifies_against_its_own_manifest(built):
    installed = built[1] / "ansible_collections" / "multiwan" / "pbr"
    assert json.loads((installed / "MANIFEST.json").read_text())["collection_info"]["name"] == "pbr"
    out = run([os.path.join(BIN, "ansible-galaxy"), "collection", "verify", "--offline", "multiwan.pbr"], built)
    assert "Successfully verified that checksums for 'multiwan.pbr:" in out


def test_ansible_doc_documents_every_module_and_role_from_the_installed_copy(built):
    installed = str(built[1] / "ansible_collections" / "multiwan" / "pbr")
    docs = json.loads(run([os.path.join(BIN, "ansible-doc"), "-t", "module", "--json"]
                          + ["multiwan.pbr." + module for module in MODULES], built))
    assert sorted(docs) == ["multiwan.pbr." + module for module in MODULES]
    for name, doc in docs.items():
        assert doc["doc"]["short_description"] and doc["examples"] and doc["return"], name
        assert doc["doc"]["filename"].startswith(installed), doc["doc"]["filename"]
    roles = json.loads(run([os.path.join(BIN, "ansible-doc"), "-t", "role", "--json"]
                           + ["multiwan.pbr." + role for role in ROLES], built))
    assert sorted(roles) == ["multiwan.pbr." + role for role in ROLES]


def test_a_playbook_runs_the_role_and_rendered_modules_from_the_installed_copy(built):
    workdir = built[3]
    with Simulator() as sim:
        host = dict(ROUTEROS_VARS, ansible_host="127.0.0.1", routeros_api_port=sim.port)
        (workdir / "inventory.yml").write_text(yaml.safe_dump({"routeros_routers": {"hosts": {"router1": host}}}))
        (workdir / "play.yml").write_text(yaml.safe_dump(
            [{"name": "The collection's own site.yml", "ansible.builtin.import_playbook": "multiwan.pbr.site"},
             RENDERED_PLAY], sort_keys=False))
        out = run([os.path.join(BIN, "ansible-playbook"), "-i", "inventory.yml", "play.yml"], built,
                  ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
        rules = [row for row in sim.state.menu("/routing/rule").rows() if row.get("comment", "").startswith("multiwan.pbr")]
    results = _task_results(json.loads(out[out.index("{"):]))
    assert "multiwan.pbr.routeros_dst_routing : Routing tables, one per WAN, with fib" in results     # the role ran
    assert [(row["dst-address"], row["table"]) for row in rules] == [("47.109.74.243/32", "cell")]
    assert results["Rules"]["localhost"]["rendered"] == [
        "ip -4 rule add priority 1000 fwmark 0x100/0xff00 lookup 101 protocol 211"]
    assert any("vmap @wan_devices" in line for line in results["Conntrack marks"]["localhost"]["rendered"])


def _task_results(report):
    """``{task name: {host: result}}`` from the ansible.posix.json callback's report."""
    return {task["task"]["name"]: task["hosts"] for play in report["plays"] for task in play["tasks"]}


def test_execution_environment_files_pass_ansible_builders_own_checks():
    from ansible_builder.ee_schema import validate_schema
    from bindep.depends import Depends
    from packaging.requirements import Requirement

    for path in ("meta/execution-environment.yml", "docs/execution-environment.yml"):
        with open(os.path.join(ROOT, path)) as handle:
            definition = yaml.safe_load(handle)
        assert definition["version"] == 3, path
        validate_schema(definition)         # raises DefinitionError naming the field
    with open(os.path.join(ROOT, "meta", "execution-environment.yml")) as handle:
        dependencies = yaml.safe_load(handle)["dependencies"]
    assert dependencies == {"python": "requirements.txt", "system": "bindep.txt"}
    with open(os.path.join(ROOT, "bindep.txt")) as handle:
        rules = Depends(handle.read())._rules       # the parser bindep itself runs; raises on bad syntax
    assert {rule[0] for rule in rules} == {"openssh-client", "openssh-clients"}
    with open(os.path.join(ROOT, "requirements.txt")) as handle:
        lines = [line.split("#")[0].strip() for line in handle]
    assert sorted(Requirement(line).name for line in lines if line) == ["librouteros", "netaddr"]


def test_ansible_builder_reads_the_requirements_from_the_installed_collection(built):
    out = run([os.path.join(BIN, "ansible-builder"), "introspect", "--sanitize", str(built[1])], built)
    found = yaml.safe_load(out[out.index("---"):])
    assert [line.split()[0] for line in found["python"]] == ["netaddr>=0.8.0", "librouteros>=4.2.2"]
    assert [" ".join(line.split()[:2]) for line in found["system"]] == [
        "openssh-client [platform:dpkg]", "openssh-clients [platform:rpm]"]


def test_ansible_builder_creates_the_build_context_of_the_documented_definition(built, tmp_path):
    """docs/awx.md's EE, with the tarball beside it as the page says: the context a build would use (no image is built)."""
    with open(os.path.join(ROOT, "docs", "execution-environment.yml")) as handle:
        definition = yaml.safe_load(handle)
    tarball = os.path.basename(built[0])
    assert definition["additional_build_files"] == [{"src": tarball, "dest": "collections"}], \
        "docs/execution-environment.yml names another version than galaxy.yml's"
    shutil.copy(os.path.join(ROOT, "docs", "execution-environment.yml"), tmp_path)
    shutil.copy(built[0], tmp_path)
    run([os.path.join(BIN, "ansible-builder"), "create", "-f", str(tmp_path / "execution-environment.yml"),
         "--context", str(tmp_path / "context")], built)
    context = tmp_path / "context"
    assert (context / "_build" / "collections" / tarball).is_file()
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert requirements == {"collections": [{"name": "/build/collections/" + tarball, "type": "file"}]}
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile and "introspect.py introspect" in containerfile
