"""Regenerates the .out files of these cases with knack, the library az formats with.

    python3 -m venv /tmp/knack && /tmp/knack/bin/pip install knack==0.14.0
    /tmp/knack/bin/python generate.py            # rewrites every <case>.out
    /tmp/knack/bin/python generate.py --write-inputs   # also rewrites inputs from CASES

Inputs are loaded as OrderedDicts, as the golden cases in ../golden were (their tsv rows
keep the input's key order), and --query runs with Options(OrderedDict) like az.
Made with knack 0.14.0, PyYAML 6.0.4, tabulate 0.10.0, jmespath 1.1.0. fuzz.py makes
random batches the same way.
"""
import collections
import json
import os
import sys

import jmespath
from knack.output import format_json, format_table, format_tsv, format_yaml
from knack.util import CommandResultItem

HERE = os.path.dirname(os.path.abspath(__file__))
FORMATS = {
    'json': format_json, 'jsonc': format_json, 'yaml': format_yaml, 'yamlc': format_yaml,
    'table': format_table, 'tsv': format_tsv, 'none': lambda _: '',
}

CACHES = [
    {"name": "MyHpcCache", "resourceGroup": "rg-hpc", "location": "eastus",
     "id": "/subscriptions/x/resourceGroups/rg-hpc/providers/Microsoft.StorageCache/caches/MyHpcCache",
     "type": "Microsoft.StorageCache/caches", "cacheSizeGB": 3072, "ratio": 1.0,
     "provisioningState": "Succeeded", "health": {"state": "Healthy"},
     "mountAddresses": ["10.0.0.4", "10.0.0.5", "10.0.0.6"], "tags": {"env": "prod"},
     "enabled": True},
    {"name": "scratch", "resourceGroup": "rg-hpc", "location": "westus2",
     "id": "/s", "type": "Microsoft.StorageCache/caches", "cacheSizeGB": 12288, "ratio": 0.25,
     "provisioningState": "Creating", "health": {"state": "Transitioning"},
     "mountAddresses": [], "tags": None, "enabled": False},
]

TRICKY = {
    "plain": "plain", "empty": "", "boolish": "yes", "nullish": "null", "tilde": "~",
    "int": "123", "octal": "0777", "float": "1.5", "sexagesimal": "1:30",
    "date": "2024-01-31", "ip": "10.0.0.4", "colon space": "a: b", "colon": "a:b",
    "hash": "a #b", "dash": "- x", "star": "*x", "at": "@x", "brace": "{x}",
    "question": "? x", "dashes": "---", "lead": " lead", "trail": "trail ",
    "apostrophe": "it's", "quoted": "'q'", "tab": "a\tb", "lines": "line1\nline2",
    "unicode": "caché ünïcode ✓", "emoji": "🙂", "merge": "<<",
    "long": " ".join(["word"] * 30),
    "longQuoted": "*" + " ".join(["star"] * 30),
    "longDouble": "tab\t" + " ".join(["dq"] * 40),
    "nested": {"list": [1, 2.5, True, None, "x"], "empty": [], "obj": {}},
    "nulls": None, "number": 3072, "ratio": 1.0, "big": 1e16, "small": 1e-05,
    "k" * 123: "complex key",
}

CASES = {
    "yaml-tricky-strings": (TRICKY, ["-o", "yaml"]),
    "yaml-root-string": ("abc", ["-o", "yaml"]),
    "yaml-root-quoted": ("true", ["-o", "yaml"]),
    "yaml-list": (CACHES, ["-o", "yaml"]),
    "yaml-query-multiselect": (CACHES, ["-o", "yaml", "--query", "[].{Zone:location, Name:name}"]),
    "yamlc-no-colour": (CACHES[0], ["-o", "yamlc"]),
    "json-tricky": (TRICKY, ["-o", "json"]),
    "json-query-multiselect-sorted": (CACHES, ["-o", "json", "--query", "[].{Zone:location, Name:name}"]),
    "json-query-null": (CACHES[0], ["-o", "json", "--query", "nothing"]),
    "json-query-length": (CACHES, ["-o", "json", "--query", "length(@)"]),
    "json-query-floats": (CACHES, ["-o", "json", "--query", "[].ratio"]),
    "jsonc-upper-case": (CACHES[0], ["-o", "JSONC"]),
    "table-sorted": (CACHES, ["-o", "table"]),
    "table-single": (CACHES[0], ["--output", "Table"]),
    "table-long-header": ([{"provisioningState": "Ok", "n": 1}], ["-o", "table"]),
    "table-missing-cells": ([{"b": 1}, {"a": True, "b": 2.5, "c": "x"}], ["-o", "table"]),
    "table-scalars": (CACHES, ["-o", "table", "--query", "[].name"]),
    "table-lists": (CACHES, ["-o", "table", "--query", "[].[name, cacheSizeGB, mountAddresses]"]),
    "table-query-order": (CACHES, ["-o", "table", "--query", "[].{Zone:location, Name:name, On:enabled}"]),
    "table-query-passthrough": (CACHES, ["-o", "table", "--query", "[?enabled]"]),
    "table-multiline": ([{"a": " x ", "b": "two\nlines", "c": True}, {"a": "y", "b": "", "c": False}], ["-o", "table"]),
    "table-unicode": ([{"name": "caché", "note": "ünïcode ✓"}], ["-o", "table"]),
    "table-empty": ([], ["-o", "table"]),
    "table-nothing-to-show": ([{"id": "x", "tags": {}}], ["-o", "table"]),
    "tsv-nested": (CACHES, ["-o", "tsv"]),
    "tsv-lists": (CACHES, ["-o", "tsv", "--query", "[].[name, mountAddresses, health, tags, enabled]"]),
    "tsv-bools": (CACHES, ["-o", "tsv", "--query", "[].enabled"]),
    "tsv-filter": (CACHES, ["-o", "tsv", "--query", "[?cacheSizeGB > `4000`].name"]),
    "tsv-floats": (CACHES, ["-o", "tsv", "--query", "[].[ratio, cacheSizeGB]"]),
    "tsv-empty": ([], ["-o", "tsv"]),
    "tsv-object": (CACHES[0], ["-o", "tsv", "--query", "health"]),
    "query-join": (CACHES, ["-o", "tsv", "--query", "join(', ', [].name)"]),
    "query-sort-by": (CACHES, ["-o", "table", "--query", "sort_by(@, &cacheSizeGB)[].{Name:name, Size:cacheSizeGB}"]),
    "query-max-by": (CACHES, ["-o", "tsv", "--query", "max_by(@, &cacheSizeGB).name"]),
    "query-legacy-literal": (CACHES, ["-o", "tsv", "--query", "[?location==`westus2`].name"]),
    "query-to-string": (CACHES, ["-o", "json", "--query", "[].to_string(cacheSizeGB)"]),
    "query-not-null": (CACHES, ["-o", "json", "--query", "[].not_null(tags.env, 'none')"]),
    "none-with-query": (CACHES, ["-o", "none", "--query", "[].name"]),
}


def render(data, args):
    fmt, query, i = 'json', None, 0
    while i < len(args):
        if args[i] in ('-o', '--output'):
            fmt = args[i + 1].lower()
        elif args[i] == '--query':
            query = args[i + 1]
        else:
            raise SystemExit('unknown argument ' + args[i])
        i += 2
    if query is not None:
        data = jmespath.compile(query).search(data, jmespath.Options(collections.OrderedDict))
    if data is None:
        return ''
    return FORMATS[fmt](CommandResultItem(data, is_query_active=query is not None))


def main():
    if '--write-inputs' in sys.argv:
        for name, (data, args) in CASES.items():
            with open(os.path.join(HERE, name + '.input.json'), 'w', encoding='utf-8') as f:
                json.dump(data, f, indent=2, ensure_ascii=False)
            with open(os.path.join(HERE, name + '.args'), 'w', encoding='utf-8') as f:
                json.dump(args, f)
                f.write('\n')
    for entry in sorted(os.listdir(HERE)):
        if not entry.endswith('.args'):
            continue
        name = entry[:-len('.args')]
        with open(os.path.join(HERE, name + '.input.json'), encoding='utf-8') as f:
            data = json.load(f, object_pairs_hook=collections.OrderedDict)
        with open(os.path.join(HERE, entry), encoding='utf-8') as f:
            args = json.load(f)
        with open(os.path.join(HERE, name + '.out'), 'w', encoding='utf-8', newline='') as f:
            f.write(render(data, args))


if __name__ == '__main__':
    main()
