# SPDX-License-Identifier: MIT
# make install / uninstall for mjpegd: the binary, its man page, the systemd unit and the docs.
#
#   make install                         into /usr/local
#   make install PREFIX=/usr DESTDIR=/tmp/pkg   staged, for a package
#
# The unit's ExecStart names $(BINDIR)/mjpegd, so it is written at install time. The man page
# is generated from the binary's own option table (scripts/gen-manpage), so it always lists
# exactly what --help lists.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/mjpegd
SYSTEMD_UNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL ?= install

MJD_DOCS := README.md docs/mjpegd.md docs/integrations.md docs/RECORDING.md

$(B)/mjpegd.1: $(B)/mjpegd scripts/gen-manpage
	$(PYTHON) scripts/gen-manpage $(B)/mjpegd $(SYSTEMD_UNITDIR) > $@.tmp && mv $@.tmp $@

.PHONY: man
man: $(B)/mjpegd.1

.PHONY: install
install: $(B)/mjpegd
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(SYSTEMD_UNITDIR) \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(DOCDIR)/examples
	$(INSTALL) -m 0755 $(B)/mjpegd $(DESTDIR)$(BINDIR)/mjpegd
	$(PYTHON) scripts/gen-manpage $(B)/mjpegd $(SYSTEMD_UNITDIR) > $(DESTDIR)$(MANDIR)/man1/mjpegd.1.tmp
	chmod 0644 $(DESTDIR)$(MANDIR)/man1/mjpegd.1.tmp
	mv $(DESTDIR)$(MANDIR)/man1/mjpegd.1.tmp $(DESTDIR)$(MANDIR)/man1/mjpegd.1
	sed -e 's|@BINDIR@|$(BINDIR)|g' contrib/mjpegd.service.in > $(DESTDIR)$(SYSTEMD_UNITDIR)/mjpegd.service.tmp
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNITDIR)/mjpegd.service.tmp
	mv $(DESTDIR)$(SYSTEMD_UNITDIR)/mjpegd.service.tmp $(DESTDIR)$(SYSTEMD_UNITDIR)/mjpegd.service
	$(INSTALL) -m 0644 $(MJD_DOCS) $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 0644 contrib/mjpegd.default $(DESTDIR)$(DOCDIR)/examples/mjpegd.default

.PHONY: uninstall
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/mjpegd $(DESTDIR)$(MANDIR)/man1/mjpegd.1 \
		$(DESTDIR)$(SYSTEMD_UNITDIR)/mjpegd.service
	rm -rf $(DESTDIR)$(DOCDIR)
