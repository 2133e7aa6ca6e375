# buildfarm.images: the two commands of the quick start are `make release` and `make test`.
# Each installs what it needs (Debian packages, .venv, community.docker from the PyPI ansible wheel).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
export ANSIBLE_ROLES_PATH := $(CURDIR)/roles
export PYTHONDONTWRITEBYTECODE := 1
INVENTORY ?= inventories/local
PYTEST_ARGS ?=

.PHONY: help bootstrap system venv services source-mirror release release-check test test-chain unit functional integration \
        sanity lint molecule bench build clean

help:
	@echo "make release   run playbooks/release.yml on the local default ($(INVENTORY))"
	@echo "make test      every test: unit, functional, lint, sanity, molecule, integration"
	@echo "make bench     benchmarks under benchmarks/ (print their numbers)"

bootstrap: system venv

# The test goals also need chromium (the report page is checked in a real browser); `make release` stays lean.
system:
	@scripts/bootstrap-system.sh $(if $(filter test test-chain unit functional integration molecule,$(MAKECMDGOALS)),--test)

venv:
	@scripts/bootstrap-python.sh

services: system
	@scripts/dockerd.sh

release: bootstrap services source-mirror
	ansible-playbook -i $(INVENTORY) playbooks/release.yml $(ARGS)

# python's release tarball, signature and release manager's key from Debian's source packages, for the local
# default's builds (inventories/local: buildfarm_build_args, buildfarm_source_mirror_port)
source-mirror: services
	@if [ "$(INVENTORY)" = inventories/local ]; then scripts/source-mirror.sh start .cache/source-mirror 8791 \
		inventories/local-files/python-versions.json; fi

release-check: bootstrap services
	ansible-playbook -i $(INVENTORY) playbooks/release.yml --check --diff $(ARGS)

test: bootstrap services
	$(MAKE) --no-print-directory unit lint sanity molecule integration

unit:
	pytest -q -p no:cacheprovider tests/unit tests/functional $(PYTEST_ARGS)

# Two streams: the debian -> python chain beside every other integration test (see the script).
integration: services
	scripts/integration.sh $(PYTEST_ARGS)

# The debian -> python chain as production builds it (CPython with PGO and LTO, the image of `make release`):
# ~45 minutes here. `make test` runs the same tests with PYTHON_OPTIMIZE=0 (a plain CPython build, minutes).
test-chain: bootstrap services
	BUILDFARM_TEST_CHAIN=full pytest -q -p no:cacheprovider tests/integration/chain $(PYTEST_ARGS)

lint:
	ansible-lint --profile production --offline
	ruff check plugins tests benchmarks
	@# the core is typed: mypy over module_utils, imported as the collection it is
	cd .collections && mypy --config-file $(CURDIR)/pyproject.toml -p ansible_collections.buildfarm.images.plugins.module_utils

sanity:
	scripts/sanity.sh

molecule: services
	scripts/molecule.sh

bench: bootstrap services
	for b in benchmarks/bench_*.py; do echo "== $$b"; python "$$b"; done

build: venv
	ansible-galaxy collection build --force --output-path .cache/dist .

clean:
	@# The local default's registry keeps its storage under .cache: stop it and its supervisor first, so it
	@# never serves from a wiped folder.
	pkill -TERM -f '$(CURDIR)/[.]cache/registry-config/supervise[.]sh' && sleep 1 || true
	rm -rf .cache tests/output artifacts
