#!/usr/bin/env python3
"""Converts linehaul's user-agent fixtures (the *.yml files beside this script) to
fixtures.json, which Casebook's Swift tests read (the test target does not link Yams).

Each expected result is built the way linehaul's own test builds it
(`cattr.structure(result, UserAgent)`): a text field becomes `str(value)`, so the YAML float
`version: 22.04` is expected as "22.04", and `ci` becomes `bool(value)`. A `result: null`
means linehaul ignores the agent (its parse() returns None).

Usage: python3 convert.py   (needs PyYAML; rewrites fixtures.json)
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# linehaul's nested UserAgent record, flattened to Casebook's UserAgentInfo field names.
FIELDS = {
    ("installer", "name"): "installerName",
    ("installer", "version"): "installerVersion",
    ("python",): "python",
    ("implementation", "name"): "implementationName",
    ("implementation", "version"): "implementationVersion",
    ("distro", "name"): "distroName",
    ("distro", "version"): "distroVersion",
    ("distro", "id"): "distroID",
    ("distro", "libc", "lib"): "libcLib",
    ("distro", "libc", "version"): "libcVersion",
    ("system", "name"): "systemName",
    ("system", "release"): "systemRelease",
    ("cpu",): "cpu",
    ("openssl_version",): "opensslVersion",
    ("setuptools_version",): "setuptoolsVersion",
    ("rustc_version",): "rustcVersion",
    ("ci",): "ci",
}
RECORDS = {(), ("installer",), ("implementation",), ("distro",), ("distro", "libc"), ("system",)}


def flatten(result, path=()):
    out = {}
    for key, value in result.items():
        here = path + (key,)
        if value is None:
            continue
        if here in RECORDS:
            out.update(flatten(value, here))
        elif here in FIELDS:
            name = FIELDS[here]
            out[name] = bool(value) if name == "ci" else str(value)
        else:
            raise SystemExit(f"unexpected field {'.'.join(here)}")
    return out


def main():
    import yaml

    cases = []
    for filename in sorted(os.listdir(HERE)):
        if not filename.endswith(".yml"):
            continue
        with open(os.path.join(HERE, filename), encoding="utf-8") as fp:
            fixtures = yaml.safe_load(fp.read())
        for index, fixture in enumerate(fixtures):
            ua, result = fixture.pop("ua"), fixture.pop("result")
            assert fixture == {}, f"{filename}[{index}]: extra keys {sorted(fixture)}"
            if result is None:
                expected = {"kind": "ignored"}
            else:
                expected = {"kind": "known", "info": flatten(result)}
            cases.append({"file": filename, "index": index, "ua": ua, "expected": expected})
    with open(os.path.join(HERE, "fixtures.json"), "w", encoding="utf-8") as fp:
        json.dump({"generatedBy": "convert.py", "cases": cases}, fp, indent=1, ensure_ascii=False, sort_keys=True)
        fp.write("\n")
    print(f"{len(cases)} cases")


if __name__ == "__main__":
    main()
