#!/usr/bin/env python3
"""Writes tests/fixtures/geoip-test.mmdb: a tiny MaxMind-format (GeoIP2 City layout) database
for the tests, so the "approximate place" of a sign-in can be checked without shipping a real
location database. Needs `pip install mmdb-writer netaddr`. Run from the repository root."""
from mmdb_writer import MMDBWriter
from netaddr import IPSet

writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City", languages=["en", "nl"],
                    description={"en": "tweestap test data", "nl": "tweestap testgegevens"})
writer.insert_network(IPSet(["127.0.0.0/8"]), {
    "city": {"names": {"en": "Leiden", "nl": "Leiden"}},
    "country": {"iso_code": "NL", "names": {"en": "Netherlands", "nl": "Nederland"}},
})
writer.insert_network(IPSet(["::1/128"]), {
    "country": {"iso_code": "NL", "names": {"en": "Netherlands", "nl": "Nederland"}},
})
writer.to_db_file("tests/fixtures/geoip-test.mmdb")
