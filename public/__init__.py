"""Miz's public pages, for people who are not yet in the bot: the static site of the catalog (``miz site build``),
printable posters for the service desks, and the web tracking page (``/track``, mounted by ``miz serve`` or served
alone by ``miz web``).

Everything here is generated from the catalog and read by anyone, so nothing here shows a citizen's data except
the tracking page, which shows a request's public history behind the bot's own guessing limits. The package never
imports aiogram (``tests/test_layers.py``); its texts are ``locales/<lang>/LC_MESSAGES/site.po``.
"""
