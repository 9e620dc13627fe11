"""The checked-in table of what botocore's Lambda model says only in its documentation (servicemodel_rules.py)
still says what the installed botocore's documentation says."""

from __future__ import annotations

import botocore

from esmctl import servicemodel_docs, servicemodel_rules


def test_the_table_says_what_the_installed_botocore_documents():
    documented, table = servicemodel_docs.read(), servicemodel_docs.checked_in()
    changed = {name: {key: (table[name].get(key), documented[name].get(key))
                      for key in table[name].keys() | documented[name].keys()
                      if table[name].get(key) != documented[name].get(key)}
               for name in documented}
    assert documented == table, (
        f"esmctl/servicemodel_rules.py no longer says what botocore {botocore.__version__}'s Lambda documentation "
        f"says (table, documentation): {({name: d for name, d in changed.items() if d})}. Regenerate it with "
        "`python -m esmctl.servicemodel_docs` and review the change")


def test_the_table_is_written_as_the_generator_writes_it():
    # so that regenerating it changes nothing but what botocore changed
    text = open(servicemodel_rules.__file__, encoding="utf-8").read()
    body = text.split('"""', 2)[2]
    assert body == servicemodel_docs.source(servicemodel_docs.checked_in()).split('"""', 2)[2]
