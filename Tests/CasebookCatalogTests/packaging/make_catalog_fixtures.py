#!/usr/bin/env python3
"""Writes Fixtures/catalog: PyPI JSON API documents (real shape) for the catalog tests.

Data follows the public record for March 2020 (see shared/facts): Flask-Login 0.4.1 is an
sdist only, 0.5.0 has a py2.py3 wheel; Markdown 3.2 dropped Python 2; OctoPrint's
requirements at 1.3.12 and 1.4.0. Sizes and digests are illustrative. Run from this folder:
    python3 make_catalog_fixtures.py
"""
import hashlib, json, os, shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Fixtures", "catalog", "pypi")
HOST = "https://files.example.invalid/packages"


def file_entry(filename, packagetype, python_version, when, requires_python=None, yanked=False,
               yanked_reason=None, iso=True):
    digest = hashlib.sha256(filename.encode()).hexdigest()
    e = {
        "comment_text": "",
        "digests": {"blake2b_256": hashlib.blake2b(filename.encode(), digest_size=32).hexdigest(),
                    "md5": hashlib.md5(filename.encode()).hexdigest(), "sha256": digest},
        "downloads": -1,
        "filename": filename,
        "has_sig": False,
        "md5_digest": hashlib.md5(filename.encode()).hexdigest(),
        "packagetype": packagetype,
        "python_version": python_version,
        "requires_python": requires_python,
        "size": 10000 + len(filename) * 37,
        "upload_time": when,
        "url": f"{HOST}/{digest[:2]}/{digest[2:4]}/{filename}",
        "yanked": yanked,
        "yanked_reason": yanked_reason,
    }
    if iso:
        e["upload_time_iso_8601"] = when + ".000000Z"
    return e


def info(name, version, requires_dist, requires_python=None, summary=""):
    return {
        "author": "", "author_email": "", "bugtrack_url": None, "classifiers": [], "description": "",
        "description_content_type": None, "docs_url": None, "download_url": "", "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
        "dynamic": None, "home_page": "", "keywords": "", "license": "", "maintainer": "", "maintainer_email": "",
        "name": name, "package_url": f"https://index.example.invalid/project/{name}/",
        "platform": None, "project_url": f"https://index.example.invalid/project/{name}/", "project_urls": None,
        "provides_extra": None, "release_url": f"https://index.example.invalid/project/{name}/{version}/",
        "requires_dist": requires_dist, "requires_python": requires_python, "summary": summary,
        "version": version, "yanked": False, "yanked_reason": None,
    }


def write(path, doc):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")


def project(dirname, name, releases, latest, requires, requires_python=None, release_docs=(), serial=1000):
    """releases: {version: [files]}; requires: {version: requires_dist or None}."""
    doc = {"info": info(name, latest, requires.get(latest), requires_python.get(latest) if isinstance(requires_python, dict) else requires_python),
           "last_serial": serial, "releases": releases, "urls": releases[latest], "vulnerabilities": []}
    write(os.path.join(OUT, dirname, "json"), doc)
    for v in release_docs:
        rp = requires_python.get(v) if isinstance(requires_python, dict) else requires_python
        rdoc = {"info": info(name, v, requires.get(v), rp), "last_serial": serial, "urls": releases[v], "vulnerabilities": []}
        write(os.path.join(OUT, dirname, v, "json"), rdoc)


shutil.rmtree(OUT, ignore_errors=True)

# Flask-Login: 0.4.1 sdist only (requires_dist null, as for sdist-only uploads); 0.5.0 py2.py3 wheel.
project("flask-login", "Flask-Login", {
    "0.2.11": [file_entry("Flask-Login-0.2.11.tar.gz", "sdist", "source", "2014-05-02T23:24:14", iso=False)],
    "0.3.0": [file_entry("Flask-Login-0.3.0.tar.gz", "sdist", "source", "2015-09-10T15:02:43")],
    "0.4.1": [file_entry("Flask-Login-0.4.1.tar.gz", "sdist", "source", "2017-12-02T19:33:52")],
    "0.5.0": [file_entry("Flask_Login-0.5.0-py2.py3-none-any.whl", "bdist_wheel", "py2.py3", "2020-02-09T15:13:38"),
              file_entry("Flask-Login-0.5.0.tar.gz", "sdist", "source", "2020-02-09T15:13:40")],
}, "0.5.0", {"0.5.0": ["Flask"], "0.4.1": None}, release_docs=["0.4.1", "0.5.0"], serial=6620532)

# Markdown: 3.1.1 py2.py3 wheel; 3.2 py3-only wheel with requires_python >=3.5.
project("markdown", "Markdown", {
    "3.0.1": [file_entry("Markdown-3.0.1-py2.py3-none-any.whl", "bdist_wheel", "py2.py3", "2018-09-28T13:10:39")],
    "3.1.1": [file_entry("Markdown-3.1.1-py2.py3-none-any.whl", "bdist_wheel", "py2.py3", "2019-05-20T17:35:50", requires_python=">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*"),
              file_entry("Markdown-3.1.1.tar.gz", "sdist", "source", "2019-05-20T17:35:52", requires_python=">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*")],
    "3.2": [file_entry("Markdown-3.2-py3-none-any.whl", "bdist_wheel", "py3", "2020-02-06T22:46:03", requires_python=">=3.5"),
            file_entry("Markdown-3.2.tar.gz", "sdist", "source", "2020-02-06T22:46:05", requires_python=">=3.5")],
}, "3.2", {
    "3.1.1": ["setuptools (>=36)", "PyYAML (>=3.10) ; extra == 'testing'", "coverage ; extra == 'testing'"],
    "3.2": ["setuptools (>=36)", "coverage ; extra == 'testing'", "pyyaml ; extra == 'testing'"],
}, requires_python={"3.1.1": ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", "3.2": ">=3.5"},
    release_docs=["3.1.1", "3.2"], serial=6570000)

# sentry-sdk: only the project document (no release documents): only 0.14.2's requirements are known.
project("sentry-sdk", "sentry-sdk", {
    "0.7.7": [file_entry("sentry_sdk-0.7.7-py2.py3-none-any.whl", "bdist_wheel", "py2.py3", "2019-03-11T09:50:12")],
    "0.13.2": [file_entry("sentry_sdk-0.13.2-py2.py3-none-any.whl", "bdist_wheel", "py2.py3", "2019-11-07T12:40:08"),
               file_entry("sentry-sdk-0.13.2.tar.gz", "sdist", "source", "2019-11-07T12:40:11")],
    "0.14.2": [file_entry("sentry_sdk-0.14.2-py2.py3-none-any.whl", "bdist_wheel", "py2.py3", "2020-02-26T13:21:03"),
               file_entry("sentry-sdk-0.14.2.tar.gz", "sdist", "source", "2020-02-26T13:21:06")],
}, "0.14.2", {"0.14.2": ["urllib3 (>=1.10.0)", "certifi", "flask (>=0.11) ; extra == 'flask'", "blinker (>=1.1) ; extra == 'flask'", "aiohttp (>=3.5) ; extra == 'aiohttp'"]},
    serial=6700000)

# semantic_version: directory in the API's spelling (underscore), requires_dist null in the
# project document, one yanked file, one old file without upload_time_iso_8601.
project("semantic_version", "semantic_version", {
    "2.6.0": [file_entry("semantic_version-2.6.0-py2.py3-none-any.whl", "bdist_wheel", "py2.py3", "2016-09-25T19:46:20", iso=False),
              file_entry("semantic_version-2.6.0.tar.gz", "sdist", "source", "2016-09-25T19:46:22", iso=False)],
    "2.8.3": [file_entry("semantic_version-2.8.3-py2.py3-none-any.whl", "bdist_wheel", "py2.py3", "2019-11-21T11:12:13", yanked=True, yanked_reason="Broken upload")],
    "2.8.4": [file_entry("semantic_version-2.8.4-py2.py3-none-any.whl", "bdist_wheel", "py2.py3", "2019-12-21T12:30:05"),
              file_entry("semantic_version-2.8.4.tar.gz", "sdist", "source", "2019-12-21T12:30:08")],
    "2.8.5": [],
}, "2.8.4", {"2.8.4": None}, serial=6400000)

# A platform-wheel project: cp27mu armv7l and manylinux wheels.
project("netifaces", "netifaces", {
    "0.10.9": [file_entry("netifaces-0.10.9-cp27-cp27mu-linux_armv7l.whl", "bdist_wheel", "cp27", "2019-01-10T10:00:00"),
               file_entry("netifaces-0.10.9-cp37-cp37m-manylinux1_x86_64.whl", "bdist_wheel", "cp37", "2019-01-10T10:00:01"),
               file_entry("netifaces-0.10.9-cp37-cp37m-win_amd64.whl", "bdist_wheel", "cp37", "2019-01-10T10:00:02"),
               file_entry("netifaces-0.10.9.tar.gz", "sdist", "source", "2019-01-10T10:00:03")],
}, "0.10.9", {"0.10.9": []}, release_docs=["0.10.9"], serial=4600000)


def pep508(req):
    # setuptools writes "name (specs)" in requires_dist, as PyPI shows.
    for i, ch in enumerate(req):
        if ch in "<>=!~":
            name, spec = req[:i], req[i:]
            specs = ",".join(sorted(s.strip() for s in spec.split(","))[::-1])
            return f"{name} ({specs})"
    return req


octo = json.load(open(os.path.join(HERE, "octoprint-requirements.json")))
req_1312 = [pep508(r) for r in octo["1.3.12"]["install_requires"]]
req_140 = [pep508(r) for r in octo["1.4.0"]["install_requires"]]
for marker, reqs in octo["1.4.0"]["extras_require_markers"].items():
    m = marker[1:].strip().replace("'", '"')
    req_140 += [f"{pep508(r)} ; {m}" for r in reqs]
req_140.append("aiohttp (==3.7.2) ; extra == \"plugins\"")
project("octoprint", "OctoPrint", {
    "1.3.12": [file_entry("OctoPrint-1.3.12.tar.gz", "sdist", "source", "2019-10-22T09:12:00", requires_python=">=2.7.9,<3")],
    "1.4.0": [file_entry("OctoPrint-1.4.0.tar.gz", "sdist", "source", "2020-03-04T10:53:00",
                         requires_python=">=2.7.9, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, !=3.5.*, <4")],
}, "1.4.0", {"1.3.12": req_1312, "1.4.0": req_140},
    requires_python={"1.3.12": ">=2.7.9,<3", "1.4.0": ">=2.7.9, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, !=3.5.*, <4"},
    release_docs=["1.3.12", "1.4.0"], serial=6800000)
print("wrote", OUT)
