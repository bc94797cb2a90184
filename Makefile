# husk: make deps | make | make check | make demo | make install
PREFIX ?= /usr/local
BUILD ?= build
CC ?= cc
PKGS := jansson libcap libseccomp libmnl
# loaded on first use (src/lib/lazylib.c), not linked: only their headers are needed
LAZY_PKGS := libarchive libcurl libnftables libcrypto
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Wno-format-truncation $(shell pkg-config --cflags $(PKGS) $(LAZY_PKGS) 2>/dev/null)
CFLAGS += -DHUSK_LIBEXECDIR='"$(PREFIX)/libexec/husk"'
LDLIBS += $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# Debian packages needed to build and test (make deps installs the missing ones)
DEB_PACKAGES := gcc make pkg-config libjansson-dev libcap-dev libseccomp-dev libssl-dev libcmocka-dev libarchive-dev libcurl4-openssl-dev libmnl-dev libnftables-dev bats busybox-static jq \
	iproute2 util-linux procps libcap2-bin libclang-rt-14-dev clang podman tmux containerd skopeo umoci docker-registry runc crun man-db musl-tools libldns-dev

LIB_SRC := $(wildcard src/lib/*.c src/lib/image/*.c src/lib/net/*.c src/lib/engine/*.c)
CMD_SRC := $(wildcard src/cmd/*.c) src/husk.c
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/dmz-blob.o
CMD_OBJ := $(CMD_SRC:%.c=$(BUILD)/%.o)

.PHONY: all deps check check-cgroup2 check-cgroup2-inner demo install clean bench

all: $(BUILD)/husk $(BUILD)/husk-oci $(BUILD)/husk-monitor $(BUILD)/husk-dns

$(BUILD)/%.o: %.c $(wildcard src/lib/*.h src/lib/image/*.h src/lib/net/*.h src/lib/engine/*.h src/cmd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# husk-dmz: a libc-free static exec stub, embedded in husk (see src/dmz/dmz.c)
$(BUILD)/husk-dmz: src/dmz/dmz.c
	@mkdir -p $(dir $@)
	$(CC) -Os -static -nostdlib -ffreestanding -fno-tree-loop-distribute-patterns -fno-stack-protector \
		-fno-asynchronous-unwind-tables -fno-pie -no-pie -Wl,--build-id=none -Wl,-n -s -o $@ $<
$(BUILD)/dmz-blob.o: src/dmz/blob.S $(BUILD)/husk-dmz
	$(CC) -c -DHUSK_DMZ_PATH='"$(BUILD)/husk-dmz"' -o $@ $<

# husk-monitor: the relay a detached container's monitor exec's (src/monitor/monitor.c): static,
# libc only, small, so that an idle one costs little memory
# libc only, small, so that an idle one costs little memory: musl's (musl-tools) when it is
# there, a tenth of static glibc's resident code; the kernel's headers from the system's
MONITOR_CC := $(shell command -v musl-gcc 2>/dev/null || echo $(CC))
MONITOR_INC := $(if $(findstring musl,$(MONITOR_CC)),-idirafter /usr/include -idirafter /usr/include/$(shell $(CC) -dumpmachine))
$(BUILD)/husk-monitor: src/monitor/monitor.c
	@mkdir -p $(dir $@)
	$(MONITOR_CC) -std=gnu11 -Os -Wall -Wextra $(MONITOR_INC) -static -Wl,--gc-sections -ffunction-sections -fdata-sections -s -o $@ $<

# husk-dns: a user network's name responder (src/dns/dns.c), its own small program: libldns
# (the DNS wire format) and libjansson only, so that husk itself never loads libldns
$(BUILD)/husk-dns: src/dns/dns.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags ldns 2>/dev/null) -o $@ $< $(shell pkg-config --libs ldns jansson 2>/dev/null || echo -lldns -ljansson)

$(BUILD)/libhusk.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/husk: $(CMD_OBJ) $(BUILD)/libhusk.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CMD_OBJ) $(BUILD)/libhusk.a $(LDLIBS)

# the runc-compatible face: same binary, chosen by its name
$(BUILD)/husk-oci: $(BUILD)/husk
	ln -sf husk $@

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# unit tests: cmocka, the parser ones also under AddressSanitizer and UBSan
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
# linked against the library archive: each object is compiled once (and once more with the
# sanitizers), not once per test binary
TEST_LIBS = $(LDLIBS) $(shell pkg-config --libs libarchive 2>/dev/null) -lcmocka
ASAN_FLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer
$(BUILD)/asan/%.o: %.c $(wildcard src/lib/*.h src/lib/image/*.h src/lib/net/*.h src/lib/engine/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) -c $< -o $@
$(BUILD)/asan/libhusk.a: $(LIB_SRC:%.c=$(BUILD)/asan/%.o) $(BUILD)/dmz-blob.o
	ar rcs $@ $^
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libhusk.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(BUILD)/libhusk.a $(TEST_LIBS)
$(BUILD)/tests-asan/%: tests/unit/%.c $(BUILD)/asan/libhusk.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) -Isrc -o $@ $< $(BUILD)/asan/libhusk.a $(TEST_LIBS)

unit-build: $(UNIT_TESTS:%=$(BUILD)/tests/%) $(UNIT_TESTS:%=$(BUILD)/tests-asan/%) $(BUILD)/husk-probe

# run inside containers by the integration tests: static, as the test rootfs has no libc
$(BUILD)/husk-probe: tests/probe/probe.c
	$(CC) -O2 -Wall -static -o $@ $<

check: deps
	$(MAKE) all unit-build
	BUILD=$(BUILD) tests/run-all.sh

# the cgroup v2 path, in a qemu guest whose /sys/fs/cgroup is pure cgroup v2 (../shared/vm);
# only the tests that differ between v1 and v2, as the guest runs under software emulation
VM := $(wildcard ../shared/vm/run-in-vm.sh)
check-cgroup2: all unit-build
	@if [ -z "$(VM)" ]; then echo "check-cgroup2: skipped: ../shared/vm/run-in-vm.sh is not here"; \
	else VM_TIMEOUT=900 $(VM) $(CURDIR) $(MAKE) --no-print-directory check-cgroup2-inner; fi
check-cgroup2-inner:
	@[ "$$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || { echo "not a cgroup v2 host"; exit 1; }
	BUILD=$(BUILD) BATS_FILES="tests/integration/cgroup.bats tests/integration/resources.bats tests/integration/lifecycle.bats" SKIP_UNIT=1 SKIP_VM=1 tests/run-all.sh

demo: deps all
	tests/make-rootfs.sh $(BUILD)/demo/rootfs
	tests/demo.sh $(BUILD)

bench: all
	bench/start.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/husk $(DESTDIR)$(PREFIX)/bin/husk
	ln -sf husk $(DESTDIR)$(PREFIX)/bin/husk-oci
	install -d $(DESTDIR)$(PREFIX)/libexec/husk
	install -m 0755 $(BUILD)/husk-monitor $(DESTDIR)$(PREFIX)/libexec/husk/husk-monitor
	install -m 0755 $(BUILD)/husk-dns $(DESTDIR)$(PREFIX)/libexec/husk/husk-dns
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 $(wildcard docs/man/*.1) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0644 contrib/bash-completion/husk $(DESTDIR)$(PREFIX)/share/bash-completion/completions/husk

clean:
	rm -rf $(BUILD)
