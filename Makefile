# The C library and the CLI: build, install and test libtokenstore.so with its header and
# pkg-config file, and the tokenstore command with its man pages.
#
#   make                               builds the release library, the CLI and the man pages
#                                      (needs swift and help2man)
#   make install PREFIX=/usr/local     installs what `make` built, building only what is missing
#                                      or out of date:
#                                      $(PREFIX)/include/tokenstore.h,
#                                      $(PREFIX)/lib/libtokenstore.so.X.Y.Z (stripped) with the
#                                      SONAME link libtokenstore.so.X and the link-time
#                                      libtokenstore.so, $(PREFIX)/lib/pkgconfig/tokenstore.pc,
#                                      $(PREFIX)/bin/tokenstore (stripped, no Swift runtime
#                                      needed) and $(PREFIX)/share/man/man1/tokenstore*.1;
#                                      then prints what the loader needs to find the library
#   make uninstall PREFIX=…            removes those files
#   make test-abi                      runs Tests/abi/run.sh (C, C++, symbols, Python)
#
# DESTDIR is honoured for staged installs. TOKENSTORE_LIB=path installs a prebuilt library
# instead of building one, and TOKENSTORE_CLI=path a prebuilt CLI. Because the built files are
# real targets, `make && sudo make install` runs no swift as root.

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
PREFIX ?= /usr/local
override PREFIX := $(abspath $(PREFIX))
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=
SWIFT ?= swift
HELP2MAN ?= help2man
INSTALL ?= install
STRIP ?= strip
TOKENSTORE_LIB ?=
TOKENSTORE_CLI ?=

HEADER := $(ROOT)/include/tokenstore.h
VERSION := $(shell sed -n 's/^.define TS_VERSION_STRING "\(.*\)".*/\1/p' $(HEADER))
MAJOR := $(shell sed -n 's/^.define TS_VERSION_MAJOR \([0-9]*\).*/\1/p' $(HEADER))

.PHONY: all lib cli man install uninstall test-abi

all: lib cli man

# A separate scratch path keeps these flags away from the package's other products. The CLI
# is built there too, with the same compile flags, so that it reuses the library's compiled
# modules and only links anew; the -Xlinker flags are the library's own (its SONAME and
# exports) and change no compile command.
LIBBUILD := $(ROOT)/.build/lib
STATIC := -Xswiftc -static-stdlib -Xswiftc -use-ld=lld
LIBFLAGS := $(STATIC) -Xlinker -soname=libtokenstore.so.$(MAJOR) \
	-Xlinker --version-script=$(ROOT)/Sources/CTokenStore/tokenstore.map
BUILT_LIB := $(LIBBUILD)/libtokenstore.so
BUILT_CLI := $(LIBBUILD)/tokenstore
LIB_FILE := $(if $(TOKENSTORE_LIB),$(abspath $(TOKENSTORE_LIB)),$(BUILT_LIB))
CLI_FILE := $(if $(TOKENSTORE_CLI),$(abspath $(TOKENSTORE_CLI)),$(BUILT_CLI))
# include/module.modulemap makes the header the Swift module CTokenStoreHeader, which the shims
# implement; it serves builds in this tree only and is not installed, so that an installed
# include directory holds the C header alone.
MODULEMAP := $(ROOT)/include/module.modulemap
LIB_SOURCES := $(ROOT)/Package.swift $(HEADER) $(MODULEMAP) $(shell find $(ROOT)/Sources/TokenStore $(ROOT)/Sources/CTokenStore -type f)
CLI_SOURCES := $(ROOT)/Package.swift $(shell find $(ROOT)/Sources/TokenStore $(ROOT)/Sources/TokenStoreCLI $(ROOT)/Sources/tokenstore -type f)

lib: $(LIB_FILE)
cli: $(CLI_FILE)

$(BUILT_LIB): $(LIB_SOURCES)
	cd $(ROOT) && $(SWIFT) build -c release --product CTokenStore --scratch-path $(LIBBUILD) $(LIBFLAGS)
	cp $(LIBBUILD)/release/libCTokenStore.so $@

# -static-stdlib links the Swift runtime into the executable, so the CLI runs on a host with
# no Swift toolchain, like the library.
$(BUILT_CLI): $(CLI_SOURCES)
	cd $(ROOT) && $(SWIFT) build -c release --product tokenstore --scratch-path $(LIBBUILD) $(STATIC)
	cp $(LIBBUILD)/release/tokenstore $@

# Man pages: tokenstore.1 from `tokenstore --help`, and one tokenstore-COMMAND.1 per command
# from `tokenstore COMMAND --help`, through a wrapper that help2man can run as a program; a
# page's one-line name is the command's line in `tokenstore --help`.
COMMANDS := stat get user changelog segment campaign load dump verify recover sweep
MANBUILD := $(LIBBUILD)/man
MANPAGES := $(MANBUILD)/tokenstore.1 $(foreach c,$(COMMANDS),$(MANBUILD)/tokenstore-$(c).1)
MANFLAGS = --no-info --version-string=$(VERSION) --source="TokenStore $(VERSION)" --section=1

man: $(MANPAGES)

$(MANBUILD)/tokenstore.1: $(CLI_FILE)
	@mkdir -p $(MANBUILD)
	$(HELP2MAN) $(MANFLAGS) --name="inspect and maintain a TokenStore directory" --output=$@ $(CLI_FILE)

$(MANBUILD)/tokenstore-%.1: $(CLI_FILE)
	@mkdir -p $(MANBUILD)/bin
	printf '#!/bin/sh\nexec "%s" %s "$$@"\n' "$(CLI_FILE)" "$*" > $(MANBUILD)/bin/tokenstore-$*
	chmod +x $(MANBUILD)/bin/tokenstore-$*
	name=$$("$(CLI_FILE)" --help | sed -n 's/^  $*  *//p' | head -n 1); \
	$(HELP2MAN) $(MANFLAGS) --name="$$name" --output=$@ $(MANBUILD)/bin/tokenstore-$*

# Whether the loader searches LIBDIR by itself: the default directories and those listed in
# ld.so.conf. For those, it needs only ldconfig to refresh its cache; for any other prefix,
# programs need LD_LIBRARY_PATH or an rpath.
LOADER_DIRS := /lib /usr/lib /lib64 /usr/lib64 $(shell cat /etc/ld.so.conf /etc/ld.so.conf.d/*.conf 2>/dev/null | grep '^/')
ON_LOADER_PATH := $(filter $(patsubst %/,%,$(LIBDIR)),$(LOADER_DIRS))

install: $(LIB_FILE) $(CLI_FILE) $(MANPAGES)
	$(INSTALL) -d "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(PKGCONFIGDIR)" \
		"$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man1"
	$(INSTALL) -m 0755 "$(LIB_FILE)" "$(DESTDIR)$(LIBDIR)/libtokenstore.so.$(VERSION)"
	$(STRIP) --strip-unneeded "$(DESTDIR)$(LIBDIR)/libtokenstore.so.$(VERSION)"
	ln -sf libtokenstore.so.$(VERSION) "$(DESTDIR)$(LIBDIR)/libtokenstore.so.$(MAJOR)"
	ln -sf libtokenstore.so.$(MAJOR) "$(DESTDIR)$(LIBDIR)/libtokenstore.so"
	$(INSTALL) -m 0644 "$(HEADER)" "$(DESTDIR)$(INCLUDEDIR)/tokenstore.h"
	$(INSTALL) -m 0755 "$(CLI_FILE)" "$(DESTDIR)$(BINDIR)/tokenstore"
	$(STRIP) "$(DESTDIR)$(BINDIR)/tokenstore"
	$(INSTALL) -m 0644 $(MANPAGES) "$(DESTDIR)$(MANDIR)/man1/"
	printf '%s\n' \
		'prefix=$(PREFIX)' \
		'libdir=$(LIBDIR)' \
		'includedir=$(INCLUDEDIR)' \
		'' \
		'Name: tokenstore' \
		'Description: Embeddable, sharded, crash-safe store of push tokens' \
		'Version: $(VERSION)' \
		'License: MIT' \
		'Libs: -L$${libdir} -ltokenstore' \
		'Cflags: -I$${includedir}' \
		> "$(DESTDIR)$(PKGCONFIGDIR)/tokenstore.pc"
	@echo
	@echo "Installed libtokenstore $(VERSION) into $(DESTDIR)$(PREFIX)."
ifneq ($(ON_LOADER_PATH),)
	@echo "$(LIBDIR) is on the loader's path: run 'ldconfig' (as root) so that programs find libtokenstore.so.$(MAJOR)."
else
	@echo "$(LIBDIR) is not on the loader's path. Programs find libtokenstore.so.$(MAJOR) there when linked with"
	@echo "    -Wl,-rpath,$(LIBDIR)"
	@echo "or run with"
	@echo "    export LD_LIBRARY_PATH=$(LIBDIR)"
endif

uninstall:
	rm -f "$(DESTDIR)$(LIBDIR)/libtokenstore.so.$(VERSION)" "$(DESTDIR)$(LIBDIR)/libtokenstore.so.$(MAJOR)" \
		"$(DESTDIR)$(LIBDIR)/libtokenstore.so" "$(DESTDIR)$(INCLUDEDIR)/tokenstore.h" \
		"$(DESTDIR)$(PKGCONFIGDIR)/tokenstore.pc" "$(DESTDIR)$(BINDIR)/tokenstore" \
		$(foreach p,$(notdir $(MANPAGES)),"$(DESTDIR)$(MANDIR)/man1/$(p)")

test-abi:
	$(ROOT)/Tests/abi/run.sh
