# multiwan.pbr — the two commands a fresh machine needs are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST := $(BIN)/python -m pytest
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help system lab-images venv collection test unit integration sanity lint molecule demo lab-up lab-down bench

help:
	@echo "make demo    build the podman lab and run playbooks/site.yml against it"
	@echo "make test    every test suite: unit, integration (real kernel, RouterOS simulator,"
	@echo "             podman lab, both Molecule scenarios), ansible-test sanity, ansible-lint"
	@echo "             (both install what they need first: system packages, the lab's images, the venv)"
	@echo "make molecule  only the Molecule scenarios (linux_multiwan on the lab, routeros_dst_routing on the simulator)"
	@echo "make bench   benchmarks (not part of make test)"
	@echo "make lab-down  remove the lab"

# What make itself installs, each step a no-op when done (root; Debian's apt, a clear message elsewhere):
# the system packages and podman's settings (lab/setup-host.sh), the lab's two images and the router's
# offline apt repository (lab/build-image.sh), the venv.
system:
	lab/setup-host.sh

lab-images: system
	lab/build-image.sh

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-test.txt constraints.txt | system
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-test.txt -c constraints.txt
	touch $@

# The collection as users install it: `ansible-galaxy collection build` into .build/dist, installed into
# .collections, where every playbook, Molecule and bench run finds it (tools/install_collection.py, conftest.py).
collection: venv
	$(BIN)/python tools/install_collection.py

test: unit integration sanity lint
	@echo "make test: all suites passed"

unit: collection
	$(PYTEST) tests/unit -q

integration: lab-images collection
	$(PYTEST) tests/integration -q

sanity: collection
	tools/sanity.sh

lint: collection
	$(BIN)/ansible-lint --profile production

molecule: lab-images collection
	$(PYTEST) tests/integration/test_molecule_linux.py tests/integration/test_molecule_routeros.py -q

demo: lab-images collection
	tools/demo.sh

lab-up: collection
	lab/up.sh

lab-down:
	lab/down.sh

bench: collection
	bench/setup.sh && $(BIN)/python bench/run.py $(BENCH_ARGS)
