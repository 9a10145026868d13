#!/usr/bin/env python3
"""Generates Fixtures/packaging-cases.json: what the `packaging` library (the reference
implementation of PEP 440/508/425/427) answers on a few hundred generated cases. The Swift
test PackagingComparisonTests checks CasebookCatalog against every case.

    python3 -m pip install packaging==26.2   # the version the committed fixture came from
    python3 generate_cases.py
"""
import itertools, json, os, random

import packaging
from packaging import tags as ptags
from packaging import _manylinux
from packaging.markers import Marker, InvalidMarker, UndefinedComparison
from packaging.requirements import Requirement, InvalidRequirement
from packaging.specifiers import SpecifierSet, InvalidSpecifier
from packaging.utils import parse_wheel_filename, InvalidWheelFilename
from packaging.version import Version, InvalidVersion

rng = random.Random(20200305)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Fixtures", "packaging-cases.json")

# --- versions -----------------------------------------------------------------------------
VERSION_STRINGS = [
    # PEP 440 examples and normalization forms
    "1.0", "1.0.0", "1", "0.9", "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
    "1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345", "1.0rc1.dev456", "1.0rc1",
    "1.0+abc.5", "1.0+abc.7", "1.0+5", "1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1",
    "1.0.post1.dev2", "1!1.0", "1!2.0rc1.post3.dev4+local.7", "2012.10", "v1.0", "V1.0", " 1.0 ",
    "1.0-alpha.1", "1.0alpha1", "1.0.a1", "1.0_a_1", "1.0beta2", "1.0-b-2", "1.0c1", "1.0pre1",
    "1.0preview1", "1.0-rc-1", "1.0RC1", "1.0-1", "1.0-post1", "1.0.rev1", "1.0r1", "1.0.post",
    "1.0post", "1.0-dev", "1.0.dev", "1.0dev2", "1.0_dev_3", "1.0+ubuntu-1", "1.0+UBUNTU_1",
    "1.0+local.007", "1.0a", "1.0b", "1.0rc", "1.0a.", "1.0.0.0.0", "0", "0.0", "00.01", "1.01",
    "2!0.0.0", "1.0.post1.dev2+g1234", "1.2.3.4.5.6", "5.0.0rc1", "2.8.4", "0.13.2", "3.1.1",
    "0.5.0", "0.4.1", "2018.11.6", "0.1.5post0", "1.5.0.1", "3.7.4.1", "2.7.16", "3.8.0",
    # invalid
    "", "1.", ".1", "1..2", "1.0-", "1.0+", "1.0+-abc", "1.0+abc-", "a1.0", "1.0.x", "1.0 .1",
    "foo", "1.0a1b1", "1.0.dev1.post1", "1.0+abc+def", "1!", "!1.0", "1.0.*", "v", "1.0-rc-", "1.0 rc1",
    "1,0", "1.0\u0661",
]

def version_info(s):
    try:
        v = Version(s)
    except InvalidVersion:
        return {"input": s, "valid": False}
    return {"input": s, "valid": True, "normalized": str(v), "public": v.public,
            "base": v.base_version, "is_prerelease": v.is_prerelease,
            "is_postrelease": v.is_postrelease, "is_devrelease": v.is_devrelease,
            "epoch": v.epoch, "release": list(v.release)}

versions = [version_info(s) for s in VERSION_STRINGS]

POOL = [s for s in VERSION_STRINGS if version_info(s)["valid"]] + [
    "1.0.0a1", "1.0.0.post1", "2.0", "2.0.1", "2.1", "2.2", "2.2.0", "2.2.1", "2.3", "3.0", "3.0.0",
    "3.0.1", "3.0a1", "3.0.dev0", "3.1", "0.2.11", "0.3", "0.4.1+local", "0.5.0rc1", "2.8.5", "2.9",
    "2.9.0.dev1", "1.0+abc.5.2", "1.0+abc", "1.0+5.abc", "2012.10.1",
]
def cmp(a, b):
    va, vb = Version(a), Version(b)
    return -1 if va < vb else (1 if va > vb else 0)

pairs = set()
while len(pairs) < 300:
    a, b = rng.choice(POOL), rng.choice(POOL)
    pairs.add((a, b))
comparisons = [{"a": a, "b": b, "cmp": cmp(a, b)} for a, b in sorted(pairs)]
sorted_pool = sorted(set(POOL), key=lambda s: (Version(s), s))

# --- specifiers ---------------------------------------------------------------------------
SPECS = [
    "==1.0", "==1.0.0", "==1.*", "==1.0.*", "!=1.0", "!=3.0.*", "!=1.0.*", "<=1.0", ">=1.0", "<1.0", ">1.0",
    "<2.0", ">2.0", "<2.0a1", ">1.0.post1", ">1.0a1", "~=2.2", "~=2.2.0", "~=1.4.5a4", "~=2.2.post3",
    "~=1!2.0", "===1.0", "===foobar", "==1.0+abc.5", "==1.0+abc", "!=1.0+abc.5", ">=1.0,<2.0",
    ">=0.4.1,<0.5", ">=2.8,<2.9", ">=3.0,<3.1", ">=0.2.11,<0.3", "==0.13.2", ">=2.7,!=3.0.*,!=3.1.*,!=3.2.*,!=3.3.*",
    ">=2.7.9, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, !=3.5.*, <4", ">=3.5", "<3", ">=3", "", " >= 1.0 ",
    ">=1.0.dev0", "<=2.0.post1", "==2!1.0", "<1!0", ">=1.0a1,!=1.0", "~=0.9", "~=1.0.0.0", "==1.0.post1.dev2",
    "== 1.0", "==v1.0", "<1.0.post1", ">1!1.0", "!=1.0a1",
    # invalid
    "~=1", "~=1.*", ">=1.0.*", "<1.0+abc", "=>1.0", "1.0", "==1.0a1.*", "==", ">=", "= =1.0", "~=1.0+abc",
    ">= 1.0 <2", "==1.0,", ",==1.0", "<>1.0", "== 1.0.* ", "==1.0+",
]
def spec_valid(s):
    try:
        SpecifierSet(s); return True
    except InvalidSpecifier:
        return False

valid_specs = [s for s in SPECS if spec_valid(s)]
specifier_sets = []
for s in SPECS:
    try:
        ss = SpecifierSet(s)
        specifier_sets.append({"input": s, "valid": True, "normalized": str(ss),
                               "prereleases": bool(ss.prereleases)})
    except InvalidSpecifier:
        specifier_sets.append({"input": s, "valid": False})

CANDIDATES = sorted_pool + ["foobar", "FooBar", "1.0.post1", "2.2.3", "2.3.0", "3.0.0.1", "2.2a1", "1.4.5a4",
                            "1.4.5", "1.4.6", "1.5", "1!2.5", "2!1.0", "1.0.dev0", "0.4.9", "0.5", "3.4.10", "3.6.9"]
contains = []
seen = set()
for s in valid_specs:
    picks = rng.sample(CANDIDATES, 14)
    for c in picks:
        for pre in (None, True, False):
            if (s, c, pre) in seen:
                continue
            seen.add((s, c, pre))
            contains.append({"spec": s, "version": c, "prereleases": pre,
                             "result": SpecifierSet(s).contains(c, prereleases=pre)})

filters = []
for s in valid_specs:
    # Normalized texts: the Swift filter works on parsed versions (=== sees their normal form).
    cand = [str(Version(c)) for c in rng.sample([c for c in CANDIDATES if version_info(c)["valid"]], 10)]
    filters.append({"spec": s, "versions": cand,
                    "result": [str(x) for x in SpecifierSet(s).filter(cand)]})

# --- requirements -------------------------------------------------------------------------
REQS = [
    "requests", "requests[security]", "requests[security,tests] >=2.8.1, ==2.8.*",
    "requests [security , tests] >= 2.8.1, == 2.8.* ; python_version < \"2.7\"",
    "name@http://foo.com", "name @ https://github.com/foosel/OctoPrint/archive/1.4.0.zip",
    "name [fred,bar] @ http://foo.com ; python_version=='2.7'", "pip @ file:///localbuilds/pip-1.3.1.zip",
    "aiohttp (==3.7.2)", "Flask-Login (<0.5,>=0.4.1)", "setuptools (>=36)", "futures (<3.4,>=3.3) ; python_version < \"3\"",
    "futures>=3.3,<3.4; python_version < '3'", "appdirs (>=1.4.3) ; sys_platform == \"darwin\"",
    "coverage ; extra == 'testing'", "PyYAML (>=3.10) ; extra == 'Testing_Extra'",
    "typing (>=3.7.4.1,<4) ; python_version < \"3\"", "sarge==0.1.5post0", "pkginfo>=1.5.0.1,<1.6",
    "name; os_name=='a' or os_name=='b'", "name; os_name=='a' and os_name=='b' or os_name=='c'",
    "name; os_name=='a' and (os_name=='b' or os_name=='c')", "name; (os_name=='a' or os_name=='b') and os_name=='c'",
    "name; ((os_name=='a'))", "name ; python_version < \"3\" and sys_platform != \"win32\"",
    "zope.interface", "Zope_Interface>=4.0", "a.b-c_d", "name[]", "name[ ]", "name (==1.0) ; python_version>='3'",
    "name===arbitrary", "name (===arbitrary)", "name ~= 1.0", "name>=1.0.dev0", "name!=1.0.*", "name==1.0+local",
    "name; os.name == 'posix'", "name; platform.machine == 'armv7l'", "name; python_implementation == 'CPython'",
    "name; 'linux' in sys_platform", "name; sys_platform not in 'win32 cygwin'", "name; extra == 'Foo.Bar'",
    # invalid
    "", "name[bar", "name[bar baz]", "name (>=1.0", "name >= 1.0.*", "name >=1.0+local", "name @",
    "name @ http://foo.com extra", "name; os_name", "name; os_name=", "name; foo == 'bar'", "-name",
    "name>=1.0 ; ", "name; (os_name == 'a'", "name ; os_name == 'a' and", "name,", "name ~=1", "name; not in 'x'",
]
requirements = []
for r in REQS:
    try:
        q = Requirement(r)
    except (InvalidRequirement, InvalidSpecifier) as e:
        requirements.append({"input": r, "valid": False})
        continue
    requirements.append({"input": r, "valid": True, "name": q.name, "extras": sorted(q.extras),
                         "specifier": str(q.specifier), "url": q.url,
                         "marker": str(q.marker) if q.marker else None, "str": str(q)})

# --- markers ------------------------------------------------------------------------------
MARKERS = [
    'python_version < "3"', 'python_version < "3" and sys_platform != "win32"',
    'python_version >= "3.5"', 'python_version == "2.7"', 'python_version == "2.7.*"', 'python_full_version >= "2.7.9"',
    'python_full_version < "3.5.3"', 'python_version ~= "3.6"', 'python_version != "3.4"', 'python_version in "2.6 2.7"',
    'python_version not in "3.0 3.1"', 'python_version > "2.7"', 'python_version <= "2.7"', 'python_version === "2.7"',
    'sys_platform == "linux2"', 'sys_platform == "linux"', 'sys_platform != "win32"', 'sys_platform == "darwin"',
    '"linux" in sys_platform', 'sys_platform in "linux linux2"', 'os_name == "posix"', 'os_name == "nt"',
    'platform_machine == "armv7l"', 'platform_machine in "x86_64 AMD64"', 'platform_machine != "x86_64"',
    'platform_system == "Linux"', 'platform_python_implementation == "CPython"', 'implementation_name == "pypy"',
    'platform_python_implementation != "PyPy"', 'extra == "testing"', 'extra == "Testing"', 'extra != "testing"',
    'os_name == "posix" or python_version < "3"', 'os_name == "nt" or python_version < "3" and sys_platform == "linux2"',
    '(os_name == "nt" or python_version < "3") and sys_platform == "linux2"', '"3" > python_version',
    '"2.7" == python_version', 'python_version < "3" or (platform_machine == "armv7l" and os_name == "posix")',
    'sys_platform < "win32"', 'sys_platform <= "linux"', 'implementation_version >= "7.3"',
    'platform_release >= "4.19"', 'python_full_version == "2.7.16"', 'python_version == "2.7" and extra == "tests"',
    'python_version > "3.10"', 'python_version >= "3.10"', "python_version<'3.8'",
    # invalid
    'python_version', 'python_version <> "3"', 'python_version < 3', 'foo == "bar"', 'python_version < "3" and',
    '(python_version < "3"', 'python_version not "3"', 'python_version < "3" xor os_name == "nt"',
]
def env(py, impl, implv, machine, system, sysplat, osname, release="4.19.97-v7+"):
    return {"implementation_name": impl.lower(), "implementation_version": implv, "os_name": osname,
            "platform_machine": machine, "platform_release": release, "platform_system": system,
            "platform_version": "#1 SMP", "python_full_version": py,
            "platform_python_implementation": impl, "python_version": ".".join(py.split(".")[:2]),
            "sys_platform": sysplat}
ENVS = [
    env("2.7.16", "CPython", "2.7.16", "armv7l", "Linux", "linux2", "posix"),
    env("3.7.3", "CPython", "3.7.3", "armv7l", "Linux", "linux", "posix"),
    env("3.8.2", "CPython", "3.8.2", "x86_64", "Linux", "linux", "posix", "5.4.0"),
    env("3.10.1", "CPython", "3.10.1", "AMD64", "Windows", "win32", "nt", "10"),
    env("2.7.13", "PyPy", "7.3.0", "x86_64", "Darwin", "darwin", "posix", "19.3.0"),
]
markers = []
for m in MARKERS:
    try:
        mk = Marker(m)
    except InvalidMarker:
        markers.append({"input": m, "valid": False})
        continue
    results = []
    for ei, e in enumerate(ENVS):
        for extra in (None, "testing", "Tests"):
            ee = dict(e)
            if extra is not None:
                ee["extra"] = extra
            try:
                results.append({"env": ei, "extra": extra, "result": mk.evaluate(ee)})
            except UndefinedComparison:
                results.append({"env": ei, "extra": extra, "result": None})
    markers.append({"input": m, "valid": True, "str": str(mk), "results": results})

# --- wheel filenames ----------------------------------------------------------------------
WHEELS = [
    "Flask_Login-0.5.0-py2.py3-none-any.whl", "Markdown-3.2-py3-none-any.whl", "sentry_sdk-0.13.2-py2.py3-none-any.whl",
    "netifaces-0.10.9-cp27-cp27mu-linux_armv7l.whl", "numpy-1.18.1-cp37-cp37m-manylinux1_x86_64.whl",
    "numpy-1.18.1-cp38-cp38-macosx_10_9_x86_64.macosx_10_9_intel.whl", "foo-1.0-1-py3-none-any.whl",
    "foo-1.0-12abc-py3-none-any.whl", "cryptography-2.8-cp34-abi3-manylinux2010_x86_64.whl",
    "psutil-5.7.0-cp27-cp27m-win_amd64.whl", "zope.interface-5.0-cp38-cp38-win32.whl",
    "semantic_version-2.8.4-py2.py3-none-any.whl", "pkg-1.0-py2.py3-none-any.whl", "PKG-1.0-PY3-NONE-ANY.whl",
    "foo-1.0-py2.py3-none.abi3-any.linux_x86_64.whl",
    # invalid
    "foo-1.0-py3-none-any.tar.gz", "foo-1.0-py3-none.whl", "foo-bar-1.0-1-2-py3-none-any.whl",
    "foo-1.0-abc-py3-none-any.whl", "foo__bar-1.0-py3-none-any.whl", "foo-notaversion-py3-none-any.whl",
]
wheels = []
for w in WHEELS:
    try:
        name, ver, build, tg = parse_wheel_filename(w)
    except (InvalidWheelFilename, Exception):
        wheels.append({"input": w, "valid": False})
        continue
    wheels.append({"input": w, "valid": True, "name": name, "version": str(ver),
                   "build": list(build) if build else None, "tags": sorted(str(t) for t in tg)})

# --- supported tags -----------------------------------------------------------------------
supported = []
for (pyv, abis, plats) in [
    ((2, 7), ["cp27mu"], ["linux_armv7l"]),
    ((3, 7), ["cp37m"], ["linux_armv7l"]),
    ((3, 8), ["cp38"], ["manylinux2014_x86_64", "linux_x86_64"]),
    ((3, 5), ["cp35m"], ["win_amd64"]),
]:
    tags = list(ptags.cpython_tags(pyv, abis, plats)) + list(ptags.compatible_tags(pyv, "cp%d%d" % pyv, plats))
    supported.append({"implementation": "cpython", "python": list(pyv), "abis": abis, "platforms": plats,
                      "tags": [str(t) for t in tags]})

# manylinux platform tags for a client glibc, as packaging computes them on such a machine
manylinux = []
for archs, glibc in [(["armv7l"], (2, 28)), (["x86_64"], (2, 17)), (["armv8l", "armv7l"], (2, 24)), (["aarch64"], (2, 31))]:
    _manylinux._get_glibc_version = lambda g=glibc: g
    _manylinux._have_compatible_abi = lambda *a: True
    manylinux.append({"archs": archs, "glibc": list(glibc), "tags": list(_manylinux.platform_tags(archs))})

macs = []
for ver, arch in [((10, 15), "x86_64"), ((11, 0), "arm64"), ((12, 0), "x86_64"), ((10, 9), "x86_64")]:
    macs.append({"version": list(ver), "arch": arch, "tags": list(ptags.mac_platforms(ver, arch))})

doc = {"generator": "Tests/CasebookCatalogTests/packaging/generate_cases.py",
       "packaging_version": packaging.__version__, "seed": 20200305,
       "versions": versions, "comparisons": comparisons, "sorted": sorted_pool,
       "specifier_sets": specifier_sets, "contains": contains, "filters": filters,
       "requirements": requirements, "markers": markers, "environments": ENVS, "wheels": wheels,
       "supported_tags": supported, "manylinux": manylinux, "mac_platforms": macs}
with open(OUT, "w") as f:
    json.dump(doc, f, indent=None, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    f.write("\n")
n = (len(versions) + len(comparisons) + 1 + len(specifier_sets) + len(contains) + len(filters) + len(requirements)
     + sum(len(m.get("results", [])) + 1 for m in markers) + len(wheels) + len(supported) + len(manylinux) + len(macs))
print(f"wrote {OUT}: {n} cases (packaging {packaging.__version__})")
