# Nompd. Needs only Node.js and npm: Bun itself comes from the npm package `bun` (a devDependency).
SHELL := /bin/bash
.DEFAULT_GOAL := help

BUN := node_modules/.bin/bun
TSC := node_modules/.bin/tsc
SOURCES := $(shell find src data/sample -type f 2>/dev/null) package.json tsconfig.json bunfig.toml
VERSION := $(shell node -p "require('./package.json').version")
# The commit a build names in `nompd --version`: "-dirty" when tracked files differ from it, "unknown"
# outside a git checkout.
COMMIT := $(shell c=$$(git rev-parse --short=7 HEAD 2>/dev/null) && { git diff --quiet HEAD -- 2>/dev/null || c="$$c-dirty"; echo "$$c"; } || echo unknown)
# Release targets: `bun build --compile --target=bun-<os>-<arch>` fetches each runtime from the npm registry.
TARGETS := linux-x64 linux-arm64 windows-x64 darwin-arm64 darwin-x64
RELEASES := $(foreach t,$(TARGETS),dist/nompd-$(VERSION)-$(t)$(if $(findstring windows,$(t)),.exe))

.PHONY: help install run test test-deps typecheck build dist bench clean screenshots FORCE

help:
	@echo "make run     install what is missing, then serve the embedded sample data (invented, marked as such) on http://127.0.0.1:8080"
	@echo "make test    install, typecheck, build dist/nompd, run the whole test suite"
	@echo "make build   the single executable dist/nompd"
	@echo "make dist    release executables for Linux, Windows and macOS (x64, arm64) and dist/SHA256SUMS"
	@echo "make bench   the benchmarks in bench/ (see docs/PERFORMANCE.md)"
	@echo "make screenshots  retake the README's pictures of the status page (docs/images/)"
	@echo "make clean   remove dist/ and node_modules/ (never data/: it holds the database)"

# npm ci installs exactly the lockfile, Bun included; re-run only when the manifest or lockfile change.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@$(BUN) --version >/dev/null || { echo "Bun did not install: run 'npm ci' and read its errors." >&2; exit 1; }
	@touch $@

install: node_modules/.installed

run: install
	$(BUN) src/main.ts serve --sample $(ARGS)

typecheck: install
	$(TSC) --noEmit -p .
	$(TSC) --noEmit -p src/ui/web

# The Debian programs that tests drive for real (test/support/debian.ts lists them), installed when missing.
test-deps: install
	$(BUN) test/support/debian.ts

# End-to-end tests start the compiled binary, fake upstreams, Wine and qemu: each test may take a minute.
test: install test-deps typecheck build
	$(BUN) test --timeout 60000 $(TESTS)

# The one build command line: $(call compile,OUTFILE,ENTRY POINTS[,TARGET]). Nompd's entry points are
# main.ts and the worker threads of the sync and of follow mode (see src/workers.ts); the commit goes in
# as a constant (see src/build.ts). The source map is embedded; the .map files written beside OUTFILE are
# not needed to run it. The code goes in compiled to bytecode, so that the executable starts without
# parsing it (--version in a third of the time).
NOMPD_ENTRIES := src/main.ts src/sync/worker.ts src/follow/worker.ts
compile = $(BUN) build --compile --bytecode --format=esm --minify --sourcemap $(if $(3),--target=bun-$(3)) \
	--define 'NOMPD_COMMIT="$(COMMIT)"' $(2) --outfile $(1)

# Rewritten only when the commit changes, so that a new commit rebuilds what names it.
dist/.commit: FORCE
	@mkdir -p dist
	@echo '$(COMMIT)' | cmp -s - $@ || echo '$(COMMIT)' > $@

dist/nompd: node_modules/.installed $(SOURCES) dist/.commit
	$(call compile,dist/nompd,$(NOMPD_ENTRIES))

build: dist/nompd

# One release executable per target; each is built in its own folder under dist/.build (where its .map
# files stay) and moved out, so that targets never overwrite each other's files.
define release
	@mkdir -p dist/.build/$(1)
	$(call compile,dist/.build/$(1)/$(notdir $@),$(NOMPD_ENTRIES),$(1))
	mv -f dist/.build/$(1)/$(notdir $@) $@
endef
dist/nompd-$(VERSION)-%.exe: node_modules/.installed $(SOURCES) dist/.commit
	$(call release,$*)
dist/nompd-$(VERSION)-%: node_modules/.installed $(SOURCES) dist/.commit
	$(call release,$*)

dist/SHA256SUMS: $(RELEASES)
	cd dist && sha256sum $(notdir $(RELEASES)) > SHA256SUMS

dist: dist/SHA256SUMS
	@cat dist/SHA256SUMS

bench: install build
	$(BUN) bench/run.ts

# The start-up benchmark's floor (bench/parts/startup.ts runs this): a hello-world server compiled by the
# same command line as Nompd.
dist/.bench/hello: node_modules/.installed bench/hello.ts
	@mkdir -p dist/.bench
	$(call compile,$@,bench/hello.ts)

# The README's pictures of the status page, taken by its browser tests (test/ui) from the sample dataset.
screenshots: install test-deps build
	$(BUN) test test/ui/page.test.ts
	cp test-output/ui/status.png test-output/ui/treatment-group.png docs/images/

clean:
	rm -rf dist node_modules
