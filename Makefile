# SPDX-License-Identifier: GPL-2.0
#
# gcmem: one Makefile drives everything.
#
#   make              gcmem.ko for $(KDIR), libgcuser, selftests and demo
#   make deps         install what the project needs (Debian; idempotent)
#   make check        every test on the three target kernels, in QEMU, and
#                     the host unit tests under ASan+UBSan and TSan
#   make host-tests   only build the host unit tests (selftests/host/)
#   make run          boot the 6.12 image in QEMU and run the demo
#   make bench        allocation, GCBench and mark benchmarks in the 6.12 guest
#                     -> bench/RESULTS.md
#   make bench-host   the module's mark loop natively, beside bdwgc's
#                     -> bench/RESULTS.md (bench/host/)
#   make style        checkpatch --strict on kmod/ and uapi/
#   make sparse       sparse (C=2) and W=1 build for $(KDIR)
#   make install      install the module for $(KDIR) (and run depmod), the
#                     library, its headers and the man pages
#   make dkms-install the module's sources to /usr/src/gcmem-$(VERSION), built
#                     and installed by DKMS for $(DKMS_KERNELS)
#   make dkms-remove  take them out of DKMS and /usr/src again
#   make clean
#
# KDIR defaults to the running kernel's build directory, or to the installed
# Debian 6.1 headers when the running kernel has none.

SHELL := /bin/bash
TOP := $(CURDIR)
BUILD ?= $(TOP)/build
HOST := $(BUILD)/host
PREFIX ?= /usr/local

KDIR ?= $(shell d=/lib/modules/$$(uname -r)/build; \
	if [ -d $$d ]; then echo $$d; \
	elif r=$$($(TOP)/scripts/kernels.sh 6.1 2>/dev/null); then \
		echo /lib/modules/$$r/build; fi)

# The release KDIR's modules are for, as in their vermagic (depmod's
# argument). Not `make kernelrelease`: Debian's 6.1 headers print 6.1.N
# there, not 6.1.0-N-amd64 (their modules_install gets it right).
KRELEASE ?= $(shell sed -n 's/.*UTS_RELEASE "\(.*\)".*/\1/p' \
	$(KDIR)/include/generated/utsrelease.h 2>/dev/null)
VERSION := $(shell sed -n 's/^Version: *//p' $(TOP)/libgcuser/gcuser.pc.in)
MANDIR ?= $(PREFIX)/share/man

# kselftest_harness.h and checkpatch.pl come from linux-source-6.12,
# extracted by scripts/deps.sh into a cache outside the tree.
LSRC = $(shell $(TOP)/scripts/deps.sh --print-cache)
KSFT = $(LSRC)/tools/testing/selftests

CC ?= gcc
USER_CFLAGS := -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
	-I$(TOP)/uapi -I$(TOP)/libgcuser
TEST_CFLAGS := $(USER_CFLAGS) -Wno-unused-parameter -Wno-sign-compare -Wno-clobbered

# libgcuser/*.c go into both libraries; static/ only into libgcuser.a,
# shared/ (the pthread_create interposer) only into libgcuser.so.
LIB_SRCS := $(wildcard libgcuser/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(HOST)/%.o)
LIB_A_OBJS := $(LIB_OBJS) $(patsubst %.c,$(HOST)/%.o,$(wildcard libgcuser/static/*.c))
LIB_SO_OBJS := $(LIB_OBJS) $(patsubst %.c,$(HOST)/%.o,$(wildcard libgcuser/shared/*.c))
LIB_HDRS := libgcuser/gcuser.h uapi/linux/gcmem.h
# libgc.so.1: bdwgc's interface (libgcuser/gc/) on libgcuser, with the
# pthread_create interposer; it stands in for Debian's libgc.so.1 under an
# unmodified program (gcmem-run). Its headers go to $(HOST)/include.
GC_SRCS := $(wildcard libgcuser/gc/*.c)
GC_HDRS := libgcuser/gc/gc.h libgcuser/gc/gc_typed.h
GC_SO_OBJS := $(LIB_SO_OBJS) $(GC_SRCS:%.c=$(HOST)/%.o)
GC_INC := $(HOST)/include
LIBS := $(HOST)/libgcuser.a $(HOST)/libgcuser.so $(HOST)/gcuser.pc \
	$(HOST)/lib/libgc.so.1 $(HOST)/gcmem-run \
	$(patsubst libgcuser/gc/%,$(GC_INC)/%,$(GC_HDRS)) \
	$(patsubst libgcuser/gc/%,$(GC_INC)/gc/%,$(GC_HDRS))
TESTS := $(patsubst selftests/%.c,$(HOST)/bin/%,$(filter-out \
	selftests/libgc_test.c,$(wildcard selftests/*_test.c)))
# Tests that also run linked with libgcuser.so (GCU_TEST_SHARED): the
# image carries the shared libraries they need (mkinitramfs.sh), and the
# library is found at $ORIGIN/../lib.
SHARED_TESTS := $(HOST)/bin/cprog_shared_test $(HOST)/bin/libgc_test
# The demo `make run` shows is GCBench on gcmem; the API example of
# docs/ is built too, outside the boot images.
DEMO := $(HOST)/bin/demo
EXAMPLE := $(HOST)/examples/demo-example
# Benchmarks live in their own directory so that they stay out of the
# check and demo images (mkinitramfs.sh takes every executable of a dir).
BENCHES := $(patsubst %,$(HOST)/bench/bench-%,gcmem bdwgc glibc \
	gcb-gcmem gcb-bdwgc gcb-glibc mark-gcmem mark-bdwgc fork-gcmem \
	lat-gcmem lat-bdwgc)
LIBGC_A = $(shell $(CC) -print-file-name=libgc.a)

.PHONY: all module host lib selftests demo deps check run style sparse \
	install dkms-install dkms-remove clean benches bench host-tests \
	bench-host

all: module host

module:
	@test -n "$(KDIR)" || { echo "no kernel headers: run 'make deps' or set KDIR" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(TOP) modules

host: lib selftests demo
lib: $(LIBS)
selftests: $(TESTS) $(SHARED_TESTS)
demo: $(DEMO) $(EXAMPLE)

$(HOST)/libgcuser/%.o: libgcuser/%.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -fPIC -c -o $@ $<

$(HOST)/libgcuser.a: $(LIB_A_OBJS)
	rm -f $@
	ar rcs $@ $^

$(HOST)/libgcuser.so: $(LIB_SO_OBJS)
	$(CC) -shared -Wl,-soname,libgcuser.so.0 -o $@ $^ -lpthread
	@mkdir -p $(HOST)/lib
	cp $@ $(HOST)/lib/libgcuser.so.0

$(HOST)/libgcuser/gc/%.o: libgcuser/gc/%.c libgcuser/gc/compat.h $(GC_HDRS) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -fPIC -c -o $@ $<

$(HOST)/lib/libgc.so.1: $(GC_SO_OBJS)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libgc.so.1 -o $@ $^ -lpthread -ldl

# bdwgc programs include <gc.h> or <gc/gc.h>; both spellings are here.
$(GC_INC)/%.h $(GC_INC)/gc/%.h: libgcuser/gc/%.h
	@mkdir -p $(GC_INC)/gc
	cp $< $(GC_INC)/$*.h
	cp $< $(GC_INC)/gc/$*.h

$(HOST)/gcmem-run: libgcuser/gc/gcmem-run.in
	sed 's|@LIBDIR@|$(HOST)/lib|g' $< > $@
	chmod +x $@

$(HOST)/gcuser.pc: libgcuser/gcuser.pc.in
	sed 's|@PREFIX@|$(PREFIX)|g' $< > $@

$(HOST)/bin/%_test: selftests/%_test.c selftests/gcmem_util.h $(LIB_HDRS) $(HOST)/libgcuser.a
	@mkdir -p $(@D)
	@test -f $(KSFT)/kselftest_harness.h || { echo "kselftest_harness.h missing: run 'make deps'" >&2; exit 1; }
	$(CC) $(TEST_CFLAGS) -I$(KSFT) -static -o $@ $< $(HOST)/libgcuser.a -lpthread

$(HOST)/bin/%_shared_test: selftests/%_test.c selftests/gcmem_util.h $(LIB_HDRS) $(HOST)/libgcuser.so $(HOST)/lib/libdltest.so
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -I$(KSFT) -DGCU_TEST_SHARED -o $@ $< \
		-L$(HOST) -l:libgcuser.so -Wl,-rpath,'$$ORIGIN/../lib' -lpthread

# A bdwgc program: gcmem's gc.h, gcmem's libgc.so.1, no gcu_init().
$(HOST)/bin/libgc_test: selftests/libgc_test.c selftests/gcu_util.h $(LIB_HDRS) $(HOST)/lib/libgc.so.1 $(patsubst libgcuser/gc/%,$(GC_INC)/%,$(GC_HDRS))
	@mkdir -p $(@D)
	$(CC) -I$(GC_INC) $(TEST_CFLAGS) -I$(KSFT) -o $@ $< \
		-L$(HOST)/lib -l:libgc.so.1 -Wl,-rpath,'$$ORIGIN/../lib' -lpthread

# A library the shared tests dlopen: its globals must become roots.
$(HOST)/lib/libdltest.so: selftests/dltest.c
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -fPIC -shared -o $@ $<

$(DEMO): bench/gcbench.c bench/mark_workers.h $(LIB_HDRS) $(HOST)/libgcuser.a
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -DGCB_GCMEM -static -o $@ $< $(HOST)/libgcuser.a -lpthread

$(EXAMPLE): docs/examples/demo.c $(LIB_HDRS) $(HOST)/libgcuser.a
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -static -o $@ $< $(HOST)/libgcuser.a -lpthread

# One source, one static binary per allocator.
$(HOST)/bench/bench-gcmem: bench/alloc_bench.c $(LIB_HDRS) $(HOST)/libgcuser.a
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -DBENCH_GCMEM -static -o $@ $< $(HOST)/libgcuser.a -lpthread

$(HOST)/bench/bench-bdwgc: bench/alloc_bench.c bench/bdwgc_fair.h
	@mkdir -p $(@D)
	@test -f "$(LIBGC_A)" || { echo "libgc.a missing: run 'make deps'" >&2; exit 1; }
	$(CC) $(USER_CFLAGS) -DBENCH_BDWGC -static -o $@ $< $(LIBGC_A) -lpthread

$(HOST)/bench/bench-glibc: bench/alloc_bench.c
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -DBENCH_GLIBC -static -o $@ $< -lpthread

# GCBench (bench/gcbench.c), one static binary per allocator; -DGCB_SWEEP
# makes the gcmem and bdwgc ones run themselves with 1 and 2 mark workers.
$(HOST)/bench/bench-gcb-gcmem: bench/gcbench.c bench/mark_workers.h $(LIB_HDRS) $(HOST)/libgcuser.a
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -DGCB_GCMEM -DGCB_SWEEP -static -o $@ $< $(HOST)/libgcuser.a -lpthread

$(HOST)/bench/bench-gcb-bdwgc: bench/gcbench.c bench/bdwgc_fair.h
	@mkdir -p $(@D)
	@test -f "$(LIBGC_A)" || { echo "libgc.a missing: run 'make deps'" >&2; exit 1; }
	$(CC) $(USER_CFLAGS) -DGCB_BDWGC -DGCB_SWEEP -static -o $@ $< $(LIBGC_A) -lpthread

$(HOST)/bench/bench-gcb-glibc: bench/gcbench.c
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -DGCB_GLIBC -DGCB_SWEEP -static -o $@ $< -lpthread

# Latency under a large live heap (bench/latency.c): the two collectors.
$(HOST)/bench/bench-lat-gcmem: bench/latency.c $(LIB_HDRS) $(HOST)/libgcuser.a
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -DLAT_GCMEM -static -o $@ $< $(HOST)/libgcuser.a -lpthread

$(HOST)/bench/bench-lat-bdwgc: bench/latency.c bench/bdwgc_fair.h
	@mkdir -p $(@D)
	@test -f "$(LIBGC_A)" || { echo "libgc.a missing: run 'make deps'" >&2; exit 1; }
	$(CC) $(USER_CFLAGS) -DLAT_BDWGC -static -o $@ $< $(LIBGC_A) -lpthread

# Mark throughput (bench/markbench.c): the two collectors only.
$(HOST)/bench/bench-fork-gcmem: bench/forkbench.c $(LIB_HDRS) $(HOST)/libgcuser.a
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -static -o $@ $< $(HOST)/libgcuser.a -lpthread

$(HOST)/bench/bench-mark-gcmem: bench/markbench.c bench/mark_workers.h $(LIB_HDRS) $(HOST)/libgcuser.a
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -DBENCH_GCMEM -static -o $@ $< $(HOST)/libgcuser.a -lpthread

$(HOST)/bench/bench-mark-bdwgc: bench/markbench.c bench/bdwgc_fair.h
	@mkdir -p $(@D)
	@test -f "$(LIBGC_A)" || { echo "libgc.a missing: run 'make deps'" >&2; exit 1; }
	$(CC) $(USER_CFLAGS) -DBENCH_BDWGC -static -o $@ $< $(LIBGC_A) -lpthread

benches: $(BENCHES)

# Host unit tests: the module's pure-logic files, unchanged, built in user
# space against selftests/host/shim.h, once with ASan+UBSan and once with
# TSan. Outside $(HOST)/bin, which goes into the boot images.
HOSTTEST := $(BUILD)/hosttest
HOST_KSRCS := $(addprefix kmod/,sizeclass.c bitmap.c work.c mark.c sweep.c)
HOST_TEST_DEPS := selftests/host/host_test.c selftests/host/shim.h \
	selftests/host/host_module.c selftests/host/host_module.h \
	$(HOST_KSRCS) $(wildcard kmod/*.h) uapi/linux/gcmem.h
HOST_TEST_CFLAGS := -std=gnu11 -O1 -g -D_GNU_SOURCE -Wall -Wextra -Werror \
	-Wno-unused-parameter -Wno-sign-compare -Wno-clobbered \
	-fno-omit-frame-pointer -I$(TOP)/selftests/host/include
HOST_TESTS := $(HOSTTEST)/host_test-asan $(HOSTTEST)/host_test-tsan

$(HOSTTEST)/host_test-asan: $(HOST_TEST_DEPS)
	@mkdir -p $(@D)
	$(CC) $(HOST_TEST_CFLAGS) -I$(KSFT) -fsanitize=address,undefined \
		-fno-sanitize-recover=all -o $@ selftests/host/host_test.c \
		selftests/host/host_module.c $(HOST_KSRCS) -lpthread

$(HOSTTEST)/host_test-tsan: $(HOST_TEST_DEPS)
	@mkdir -p $(@D)
	$(CC) $(HOST_TEST_CFLAGS) -I$(KSFT) -fsanitize=thread -o $@ \
		selftests/host/host_test.c selftests/host/host_module.c \
		$(HOST_KSRCS) -lpthread

host-tests: $(HOST_TESTS)

# Native benchmarks of the same files (bench/host/): optimised as the
# module is (-O2), no sanitizer.
HOSTBENCH := $(BUILD)/hostbench
HOST_BENCH_CFLAGS := -std=gnu11 -O2 -g -D_GNU_SOURCE -Wall -Wextra -Werror \
	-Wno-unused-parameter -Wno-sign-compare -I$(TOP)/selftests/host/include

$(HOSTBENCH)/markhost: bench/host/markhost.c $(HOST_TEST_DEPS)
	@mkdir -p $(@D)
	$(CC) $(HOST_BENCH_CFLAGS) -o $@ bench/host/markhost.c \
		selftests/host/host_module.c $(HOST_KSRCS) -lpthread

# gcmem's allocation natively (bench/host/allochost.c): libgcuser, with
# the device's calls served by a stand-in whose refill is kmod/alloc.c.
HOST_ALLOC_KSRCS := $(HOST_KSRCS) kmod/alloc.c
$(HOSTBENCH)/%.o: bench/host/%.c $(HOST_TEST_DEPS) bench/host/standin.h
	@mkdir -p $(@D)
	$(CC) $(HOST_BENCH_CFLAGS) -c -o $@ $<

$(HOSTBENCH)/allochost: bench/host/allochost.c bench/host/standin.h \
		$(HOSTBENCH)/standin.o $(HOST_ALLOC_KSRCS) $(HOST)/libgcuser.a
	$(CC) $(USER_CFLAGS) -c -o $(HOSTBENCH)/allochost.o $<
	$(CC) $(HOST_BENCH_CFLAGS) -o $@ $(HOSTBENCH)/allochost.o \
		$(HOSTBENCH)/standin.o selftests/host/host_module.c \
		$(HOST_ALLOC_KSRCS) $(HOST)/libgcuser.a -lpthread -ldl \
		-Wl,--wrap=open,--wrap=ioctl,--wrap=mmap,--wrap=munmap,--wrap=close

# Other mallocs, natively, beside bdwgc's and glibc's (bench-host): the
# glibc build of alloc_bench.c linked against them, dynamically.
$(HOSTBENCH)/bench-%malloc: bench/alloc_bench.c
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -DBENCH_GLIBC -DBENCH_MALLOC_NAME='"$*malloc"' \
		-o $@ $< -l$*malloc -lpthread

deps:
	$(TOP)/scripts/deps.sh

# check also links bench-host's two programs of the kernel's own code (not
# run: they are benchmarks), which otherwise break unseen when kmod/ calls
# something new that their stand-ins do not provide.
check: deps
	$(MAKE) host host-tests $(HOSTBENCH)/markhost $(HOSTBENCH)/allochost
	BUILD=$(BUILD) $(TOP)/scripts/check.sh

run: deps
	$(MAKE) host
	BUILD=$(BUILD) $(TOP)/scripts/run.sh

bench: deps
	$(MAKE) benches
	BUILD=$(BUILD) $(TOP)/bench/run.sh

bench-host: deps
	$(MAKE) $(HOSTBENCH)/markhost $(HOST)/bench/bench-mark-bdwgc \
		$(HOST)/bench/bench-bdwgc $(HOST)/bench/bench-glibc \
		$(HOSTBENCH)/bench-jemalloc $(HOSTBENCH)/bench-mimalloc \
		$(HOSTBENCH)/allochost
	$(TOP)/bench/host/run.sh $(HOSTBENCH)/markhost \
		$(HOST)/bench/bench-mark-bdwgc $(HOSTBENCH)/allochost \
		$(HOST)/bench/bench-bdwgc $(HOST)/bench/bench-glibc \
		$(HOSTBENCH)/bench-jemalloc $(HOSTBENCH)/bench-mimalloc

# compat.h is the one place where kernel versions are compared, so only
# there is checkpatch told to accept LINUX_VERSION_CODE; trace.h follows
# the TRACE_EVENT() layout of include/trace/events/, which --strict's
# alignment checks do not know.
CHECKPATCH = perl $(LSRC)/scripts/checkpatch.pl --strict --no-tree --quiet \
	--ignore FILE_PATH_CHANGES
style:
	$(CHECKPATCH) -f $(filter-out kmod/compat.h kmod/trace.h,\
		$(wildcard kmod/*.[ch])) uapi/linux/gcmem.h
	$(CHECKPATCH) --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON \
		-f kmod/compat.h
	$(CHECKPATCH) --ignore OPEN_ENDED_LINE,PARENTHESIS_ALIGNMENT \
		-f kmod/trace.h

sparse:
	@test -n "$(KDIR)" || { echo "no kernel headers: run 'make deps' or set KDIR" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(TOP) W=1 C=2 modules

# The module goes to /lib/modules/$(KRELEASE)/extra/ (not 6.12's default,
# updates/, where DKMS puts its own) and depmod runs for that kernel; with
# DESTDIR, everything goes below it and depmod is left to whoever installs
# the staged tree.
install: all
	@test -n "$(KRELEASE)" || { echo "no kernel release in $(KDIR)" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(TOP) INSTALL_MOD_PATH=$(DESTDIR) \
		INSTALL_MOD_DIR=extra modules_install
	$(if $(DESTDIR),,depmod -a $(KRELEASE))
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/linux
	install -m 644 $(HOST)/libgcuser.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(HOST)/libgcuser.so $(DESTDIR)$(PREFIX)/lib/libgcuser.so.0
	ln -sf libgcuser.so.0 $(DESTDIR)$(PREFIX)/lib/libgcuser.so
	install -m 644 $(HOST)/gcuser.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 644 libgcuser/gcuser.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 uapi/linux/gcmem.h $(DESTDIR)$(PREFIX)/include/linux/
	install -d $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man4
	install -m 644 docs/man/*.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 644 docs/man/*.4 $(DESTDIR)$(MANDIR)/man4/
	# bdwgc's interface: libgc.so.1 in a directory of its own, so that
	# only programs run through gcmem-run (or linked with gcmem-gc.pc)
	# take it instead of Debian's; gc.h likewise under include/gcmem/.
	install -d $(DESTDIR)$(PREFIX)/lib/gcmem $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/include/gcmem/gc
	install -m 755 $(HOST)/lib/libgc.so.1 $(DESTDIR)$(PREFIX)/lib/gcmem/
	ln -sf libgc.so.1 $(DESTDIR)$(PREFIX)/lib/gcmem/libgc.so
	install -m 644 $(GC_HDRS) $(DESTDIR)$(PREFIX)/include/gcmem/
	install -m 644 $(GC_HDRS) $(DESTDIR)$(PREFIX)/include/gcmem/gc/
	sed 's|@LIBDIR@|$(PREFIX)/lib/gcmem|g' libgcuser/gc/gcmem-run.in \
		> $(DESTDIR)$(PREFIX)/bin/gcmem-run
	chmod 755 $(DESTDIR)$(PREFIX)/bin/gcmem-run
	sed 's|@PREFIX@|$(PREFIX)|g' libgcuser/gc/gcmem-gc.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/gcmem-gc.pc

# DKMS: the module's sources (Kbuild, kmod/, uapi/, dkms.conf) in
# /usr/src/gcmem-$(VERSION), built and installed for DKMS_KERNELS (the
# kernel of KDIR unless told otherwise), and rebuilt by DKMS for each
# kernel installed later with its headers. A second dkms-install replaces
# the first. The module goes to /lib/modules/<release>/updates/dkms/; one
# that `make install` put in extra/ is removed first, since DKMS refuses
# to install over a module of the same name and version.
DKMS_SRC := /usr/src/gcmem-$(VERSION)
DKMS_KERNELS ?= $(KRELEASE)

dkms-install: dkms-remove
	@command -v dkms >/dev/null || { echo "dkms is not installed (apt-get install dkms)" >&2; exit 1; }
	@test -n "$(DKMS_KERNELS)" || { echo "no kernel release: set KDIR or DKMS_KERNELS" >&2; exit 1; }
	install -d $(DKMS_SRC)/kmod $(DKMS_SRC)/uapi/linux
	install -m 644 Kbuild $(DKMS_SRC)/
	install -m 644 kmod/*.c kmod/*.h $(DKMS_SRC)/kmod/
	install -m 644 uapi/linux/gcmem.h $(DKMS_SRC)/uapi/linux/
	sed 's/^PACKAGE_VERSION=.*/PACKAGE_VERSION="$(VERSION)"/' dkms.conf \
		> $(DKMS_SRC)/dkms.conf
	dkms add -m gcmem -v $(VERSION)
	for k in $(DKMS_KERNELS); do \
		rm -f /lib/modules/$$k/extra/gcmem.ko*; \
		rmdir /lib/modules/$$k/extra 2>/dev/null; \
		dkms build -m gcmem -v $(VERSION) -k $$k && \
		dkms install -m gcmem -v $(VERSION) -k $$k || exit 1; \
	done

dkms-remove:
	if dkms status -m gcmem -v $(VERSION) 2>/dev/null | grep -q .; then \
		dkms remove -m gcmem -v $(VERSION) --all; fi
	rm -rf $(DKMS_SRC)

clean:
	rm -rf $(BUILD)
	rm -f gcmem.ko gcmem.mod gcmem.mod.c gcmem.o modules.order Module.symvers \
		kmod/*.o kmod/.*.cmd .*.cmd
