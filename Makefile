# The C library: build, install and test libtokenstore.so with its header and pkg-config file.
#
#   make install PREFIX=/usr/local     builds the release library and installs
#                                      $(PREFIX)/include/tokenstore.h,
#                                      $(PREFIX)/lib/libtokenstore.so.X.Y.Z with the SONAME link
#                                      libtokenstore.so.X and the link-time libtokenstore.so,
#                                      $(PREFIX)/lib/pkgconfig/tokenstore.pc
#   make uninstall PREFIX=…            removes those files
#   make test-abi                      runs Tests/abi/run.sh (C, C++, symbols, Python)
#
# DESTDIR is honoured for staged installs. TOKENSTORE_LIB=path installs a prebuilt library
# instead of building one.

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
PREFIX ?= /usr/local
override PREFIX := $(abspath $(PREFIX))
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=
SWIFT ?= swift
INSTALL ?= install
TOKENSTORE_LIB ?=

HEADER := $(ROOT)/include/tokenstore.h
VERSION := $(shell sed -n 's/^.define TS_VERSION_STRING "\(.*\)".*/\1/p' $(HEADER))
MAJOR := $(shell sed -n 's/^.define TS_VERSION_MAJOR \([0-9]*\).*/\1/p' $(HEADER))

.PHONY: all lib install uninstall test-abi

all: lib

# A separate scratch path keeps these link flags away from the package's other products.
LIBBUILD := $(ROOT)/.build/lib
LIBFLAGS := -Xswiftc -static-stdlib -Xswiftc -use-ld=lld -Xlinker -soname=libtokenstore.so.$(MAJOR) \
	-Xlinker --version-script=$(ROOT)/Sources/CTokenStore/tokenstore.map

lib:
ifeq ($(TOKENSTORE_LIB),)
	cd $(ROOT) && $(SWIFT) build -c release --product CTokenStore --scratch-path $(LIBBUILD) $(LIBFLAGS)
	cp $(LIBBUILD)/release/libCTokenStore.so $(LIBBUILD)/libtokenstore.so
endif

install: lib
	@lib="$(TOKENSTORE_LIB)"; \
	if [ -z "$$lib" ]; then lib="$(LIBBUILD)/libtokenstore.so"; fi; \
	set -x; \
	$(INSTALL) -d "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(PKGCONFIGDIR)"; \
	$(INSTALL) -m 0755 "$$lib" "$(DESTDIR)$(LIBDIR)/libtokenstore.so.$(VERSION)"
	ln -sf libtokenstore.so.$(VERSION) "$(DESTDIR)$(LIBDIR)/libtokenstore.so.$(MAJOR)"
	ln -sf libtokenstore.so.$(MAJOR) "$(DESTDIR)$(LIBDIR)/libtokenstore.so"
	$(INSTALL) -m 0644 "$(HEADER)" "$(DESTDIR)$(INCLUDEDIR)/tokenstore.h"
	printf '%s\n' \
		'prefix=$(PREFIX)' \
		'libdir=$(LIBDIR)' \
		'includedir=$(INCLUDEDIR)' \
		'' \
		'Name: tokenstore' \
		'Description: Embeddable, sharded, crash-safe store of push tokens' \
		'Version: $(VERSION)' \
		'Libs: -L$${libdir} -ltokenstore' \
		'Cflags: -I$${includedir}' \
		> "$(DESTDIR)$(PKGCONFIGDIR)/tokenstore.pc"

uninstall:
	rm -f "$(DESTDIR)$(LIBDIR)/libtokenstore.so.$(VERSION)" "$(DESTDIR)$(LIBDIR)/libtokenstore.so.$(MAJOR)" \
		"$(DESTDIR)$(LIBDIR)/libtokenstore.so" "$(DESTDIR)$(INCLUDEDIR)/tokenstore.h" \
		"$(DESTDIR)$(PKGCONFIGDIR)/tokenstore.pc"

test-abi:
	$(ROOT)/Tests/abi/run.sh
