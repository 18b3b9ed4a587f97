# Nompd. Needs only Node.js and npm: Bun itself comes from the npm package `bun` (a devDependency).
SHELL := /bin/bash
.DEFAULT_GOAL := help

BUN := node_modules/.bin/bun
TSC := node_modules/.bin/tsc
SOURCES := $(shell find src data/sample -type f 2>/dev/null) package.json tsconfig.json bunfig.toml

.PHONY: help install run test test-deps typecheck build bench clean

help:
	@echo "make run     install what is missing, then serve the embedded sample data (invented, marked as such) on http://127.0.0.1:8080"
	@echo "make test    install, typecheck, build dist/nompd, run the whole test suite"
	@echo "make build   the single executable dist/nompd"
	@echo "make bench   the benchmarks in bench/ (see docs/PERFORMANCE.md)"
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

# The Debian programs that tests drive for real (test/support/debian.ts lists them), installed when missing.
test-deps: install
	$(BUN) test/support/debian.ts

test: install test-deps typecheck build
	$(BUN) test $(TESTS)

dist/nompd: node_modules/.installed $(SOURCES)
	$(BUN) build --compile --minify --sourcemap src/main.ts src/sync/worker.ts src/follow/worker.ts --outfile dist/nompd

build: dist/nompd

bench: install build
	$(BUN) bench/run.ts

clean:
	rm -rf dist node_modules
